"""boardChanges, through the graphql-ws client from Node: each change on a board with what it changed
as it is after it; a reconnecting client resumes after the last sequence it saw, missing nothing."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract.conftest import node_clients  # noqa: F401 (a fixture)
from tests.graphql.conftest import Server, create_board, create_story, mutate, serve

pytestmark = pytest.mark.browser

MAX_REPLAY = 5
BOARD_CHANGES = """subscription($key: String!, $after: Int, $types: [String!]) {
  boardChanges(boardKey: $key, afterSequence: $after, eventTypes: $types) {
    sequence
    entry { sequence eventType entityKey actor }
    story { key status { key } assignee blocked points }
    sprint { id name }
    epic { key title }
    board { key }
  }
}"""
BOARD_LOG = """query($key: String!) {
  board(key: $key) { history(first: 100) { edges { node { sequence eventType } } } }
}"""


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(request, tmp_path_factory, {"STORYLINE_MAX_REPLAY_EVENTS": str(MAX_REPLAY)})


class Subscriber:
    """changes.mjs subscribed to one board: reads the changes it prints, one per line."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    def next(self) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # the script gives up after 30 s, closing stdout
        assert line, self.process.stderr and self.process.stderr.read()
        result = json.loads(line)
        assert "errors" not in result, result
        return result["data"]["boardChanges"]

    def refusal(self) -> str:
        """Everything the script printed until it ended: the server's refusal."""
        assert self.process.stdout is not None
        out = self.process.stdout.read()
        assert self.process.wait() == 0, self.process.stderr and self.process.stderr.read()
        return out


def subscribe(
    server: Server, clients: Path, variables: dict[str, Any], count: int = 1, user: str = "alice"
) -> Subscriber:
    command = ["node", "changes.mjs", server.ws_url, server.token(user), str(count)]
    pipe = subprocess.PIPE
    process = subprocess.Popen(command, cwd=clients, text=True, stdin=pipe, stdout=pipe, stderr=pipe)
    assert process.stdin and process.stdout
    process.stdin.write(json.dumps({"query": BOARD_CHANGES, "variables": variables}))
    process.stdin.close()
    connected = process.stdout.readline()
    assert connected.strip() == "connected", process.stderr and process.stderr.read()
    return Subscriber(process)


@pytest.fixture
def subscribers() -> Iterator[list[Subscriber]]:
    """Every script a test starts ends with it."""
    started: list[Subscriber] = []
    yield started
    for subscriber in started:
        subscriber.process.kill()
        subscriber.process.wait()
        for stream in (subscriber.process.stdout, subscriber.process.stderr):
            if stream:
                stream.close()


def wait_until_listening() -> None:
    """Without afterSequence the subscription notes the end of the log when it starts."""
    time.sleep(0.5)


def change(server: Server, name: str, story: str, **input: Any) -> None:
    """Runs a story mutation, which must succeed."""
    assert mutate(server, name, {"storyKey": story, **input}, "story { key }")["errors"] == []


def move(server: Server, story: str, column: str) -> None:
    change(server, "moveStory", story, toColumn=column)


def board_log(server: Server, board: str) -> list[tuple[int, str]]:
    edges = server.post(BOARD_LOG, {"key": board})["board"]["history"]["edges"]
    return [(edge["node"]["sequence"], edge["node"]["eventType"]) for edge in edges]


def test_a_change_arrives_with_the_story_as_it_is_after_it(
    server: Server,
    node_clients: Path,  # noqa: F811
    subscribers: list[Subscriber],
) -> None:
    board = create_board(server)
    story = create_story(server, board, "Live")
    subscribers.append(live := subscribe(server, node_clients, {"key": board}))
    wait_until_listening()
    move(server, story, "DONE")

    change = live.next()
    assert change["entry"]["eventType"] == "StoryMoved" and change["entry"]["entityKey"] == story
    assert change["sequence"] == change["entry"]["sequence"]
    assert change["story"]["key"] == story and change["story"]["status"]["key"] == "DONE"
    assert change["sprint"] is None and change["epic"] is None
    assert change["board"] == {"key": board}


def test_an_epic_change_carries_the_epic_and_no_story(
    server: Server,
    node_clients: Path,  # noqa: F811
    subscribers: list[Subscriber],
) -> None:
    board = create_board(server)
    after = board_log(server, board)[-1][0]
    subscribers.append(live := subscribe(server, node_clients, {"key": board, "after": after}))
    epic = mutate(server, "createEpic", {"boardKey": board, "title": "Checkout"}, "epic { key }")["epic"]

    change = live.next()
    assert change["entry"]["eventType"] == "EpicCreated"
    assert change["epic"] == {"key": epic["key"], "title": "Checkout"}
    assert change["story"] is None and change["sprint"] is None


def test_a_reconnecting_client_receives_exactly_the_missed_changes_then_live_ones(
    server: Server,
    node_clients: Path,  # noqa: F811
    subscribers: list[Subscriber],
) -> None:
    board = create_board(server)
    other = create_board(server)
    story = create_story(server, board, "Resumed")
    subscribers.append(first := subscribe(server, node_clients, {"key": board}))
    wait_until_listening()
    move(server, story, "IN_PROGRESS")
    last_seen = first.next()["sequence"]
    first.process.wait()  # the script disconnects after its one change

    # While no one is subscribed:
    change(server, "assignStory", story, assignee="alice")
    create_story(server, other, "Elsewhere")
    change(server, "estimateStory", story, points=3)
    move(server, story, "DONE")
    missed = [(seq, kind) for seq, kind in board_log(server, board) if seq > last_seen]
    assert [kind for _, kind in missed] == ["StoryAssigned", "StoryEstimated", "StoryMoved"]

    subscribers.append(resumed := subscribe(server, node_clients, {"key": board, "after": last_seen}, 4))
    replayed = [resumed.next() for _ in missed]
    assert [(c["sequence"], c["entry"]["eventType"]) for c in replayed] == missed
    # Each replayed change carries the story as it is now, after all of them.
    assert {
        (c["story"]["assignee"], c["story"]["points"], c["story"]["status"]["key"]) for c in replayed
    } == {("alice", 3, "DONE")}
    change(server, "blockStory", story, reason="waiting on legal")
    live = resumed.next()
    assert live["entry"]["eventType"] == "StoryBlocked" and live["story"]["blocked"] is True
    assert [seq for seq, _ in board_log(server, board) if seq > last_seen] == [
        *(seq for seq, _ in missed),
        live["sequence"],
    ]


def test_event_types_filter_the_replay_and_the_live_changes(
    server: Server,
    node_clients: Path,  # noqa: F811
    subscribers: list[Subscriber],
) -> None:
    board = create_board(server)
    story = create_story(server, board, "Filtered")
    move(server, story, "IN_PROGRESS")
    variables = {"key": board, "after": 0, "types": ["StoryMoved"]}
    subscribers.append(moves := subscribe(server, node_clients, variables, 2))
    replayed = moves.next()
    assert replayed["entry"]["eventType"] == "StoryMoved"
    assert replayed["story"]["status"]["key"] == "IN_PROGRESS"
    change(server, "assignStory", story, assignee="alice")
    move(server, story, "DONE")
    live = moves.next()
    assert live["entry"]["eventType"] == "StoryMoved" and live["story"]["status"]["key"] == "DONE"
    assert live["story"]["assignee"] == "alice"  # the assignment happened, but was not sent


def test_an_unknown_event_type_is_refused(
    server: Server,
    node_clients: Path,  # noqa: F811
) -> None:
    board = create_board(server)
    variables = {"key": board, "types": ["StoryMoved", "StoryTeleported"]}
    answer = subscribe(server, node_clients, variables).refusal()
    assert "unknown event type StoryTeleported" in answer and "VALIDATION" in answer


def test_a_replay_longer_than_the_bound_is_refused(
    server: Server,
    node_clients: Path,  # noqa: F811
    subscribers: list[Subscriber],
) -> None:
    board = create_board(server)
    for number in range(MAX_REPLAY):
        create_story(server, board, f"Story {number}")
    log = board_log(server, board)
    assert len(log) == MAX_REPLAY + 1
    answer = subscribe(server, node_clients, {"key": board, "after": 0}).refusal()
    assert "REPLAY_TOO_LONG" in answer and "refetch" in answer
    # As many as the bound are replayed.
    variables = {"key": board, "after": log[0][0]}
    subscribers.append(at_bound := subscribe(server, node_clients, variables, MAX_REPLAY))
    assert [at_bound.next()["sequence"] for _ in range(MAX_REPLAY)] == [seq for seq, _ in log[1:]]


def test_a_board_without_a_role_is_refused_as_unknown(
    server: Server,
    node_clients: Path,  # noqa: F811
) -> None:
    board = create_board(server)
    hidden = subscribe(server, node_clients, {"key": board}, user="mallory").refusal()
    unknown = subscribe(server, node_clients, {"key": "NOSUCH"}).refusal()
    assert f"board {board} not found" in hidden and "board NOSUCH not found" in unknown


def test_a_revoked_role_ends_the_changes(
    server: Server,
    node_clients: Path,  # noqa: F811
) -> None:
    board = create_board(server)
    grant = {"boardKey": board, "user": "carol", "role": "VIEWER"}
    assert mutate(server, "grantRole", grant, "board { key }")["errors"] == []
    story = create_story(server, board, "Seen by carol")
    after = board_log(server, board)[-1][0]
    carol = subscribe(server, node_clients, {"key": board, "after": after}, 2, user="carol")
    move(server, story, "IN_PROGRESS")
    assert carol.next()["story"]["key"] == story
    assert mutate(server, "revokeRole", {"boardKey": board, "user": "carol"}, "board { key }")["errors"] == []
    create_story(server, board, "Not for carol")
    answer = carol.refusal()
    assert f"board {board} not found" in answer and "StoryCreated" not in answer
