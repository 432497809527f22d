"""Many clients move one story with expectedVersion, through two API processes at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from storyline_domain.story import Story
from tests.graphql.conftest import create_board, create_story, mutate
from tests.scale.conftest import Cluster

# Several processes on a shared machine: slow to start, never timed.
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(1500)]

CLIENTS = 16
ROUNDS = 5
COLUMNS = ("IN_PROGRESS", "DONE", "TODO")


def test_exactly_one_client_wins_each_version_of_a_story(cluster: Cluster) -> None:
    a, b = cluster.two_apis_and_a_projector()
    board = create_board(a)
    story = create_story(a, board, "Contended")
    servers = (a, b)
    version = 1
    barrier = threading.Barrier(CLIENTS)

    def move(n: int, column: str, expected: int) -> Any:
        barrier.wait()  # all at once
        return mutate(
            servers[n % 2],
            "moveStory",
            {"storyKey": story, "toColumn": column, "expectedVersion": expected},
            "story { key version }",
        )

    with ThreadPoolExecutor(CLIENTS) as pool:
        for round in range(ROUNDS):
            column = COLUMNS[round % len(COLUMNS)]  # never the column the story is in
            answers = list(pool.map(move, range(CLIENTS), [column] * CLIENTS, [version] * CLIENTS))
            winners = [answer for answer in answers if not answer["errors"]]
            losers = [answer for answer in answers if answer["errors"]]
            assert len(winners) == 1, answers
            assert {e["code"] for answer in losers for e in answer["errors"]} == {"CONFLICT"}
            assert winners[0]["story"]["version"] == version + 1
            version += 1

    # Nothing lost, nothing extra: the log has one move per round, and the read models agree.
    moves = [
        event
        for _, event in cluster.runtime.projector.read(0, 10_000)
        if isinstance(event, Story.Moved) and event.originator_version > 1
    ]
    assert [event.originator_version for event in moves] == list(range(2, ROUNDS + 2))
    read = b.post("query($k: String!) { story(key: $k) { version } }", {"k": story})
    assert read["story"]["version"] == ROUNDS + 1
