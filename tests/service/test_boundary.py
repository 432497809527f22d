"""The board's placement under concurrent writers, on both backends: WIP limits hold, ranks stay
distinct, no story is stranded in a missing column, and nothing acknowledged is lost."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import date
from itertools import chain
from typing import Any

import pytest
from eventsourcing.application import project_aggregate
from sqlalchemy import select

from storyline_domain.base import StorylineAggregate
from storyline_domain.board import Board, KeySequence, board_id, key_sequence_id
from storyline_domain.errors import DomainError, InvalidTransitionError, ValidationError, WipLimitError
from storyline_domain.placement import Placement, placement_id
from storyline_domain.ranking import rank_between
from storyline_domain.story import Story, story_id
from storyline_service.application import Caller, Storyline
from storyline_service.bootstrap import Runtime
from storyline_service.projections.rebuild import verify
from storyline_service.readmodels import StoryRow, table_of
from storyline_service.settings import Settings
from tests.helpers import ALICE
from tests.service.test_application import RacingStoryline

WRITERS = 16
stories_table = table_of(StoryRow)


def columns(review_limit: int | None = 3) -> list[dict[str, Any]]:
    return [
        {"key": "TODO", "name": "To Do", "category": "TODO"},
        {"key": "REVIEW", "name": "Review", "category": "IN_PROGRESS", "wip_limit": review_limit},
        {"key": "DONE", "name": "Done", "category": "DONE"},
    ]


def concurrently(calls: list[Callable[[], object]]) -> list[object]:
    """Runs the calls in threads released together; returns each one's result or exception."""
    start = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = calls[index]()
        except Exception as error:
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def open_stories(runtime: Runtime, board_key: str) -> list[Story]:
    sequence = runtime.app.repository.get(key_sequence_id(board_key))
    found = [
        runtime.app.repository.get(story_id(f"{board_key}-{n}"))
        for n in range(1, sequence.last_story_number + 1)
    ]
    return [story for story in found if not story.archived]


def assert_invariants(runtime: Runtime, board_key: str) -> None:
    """On the event-sourced stories and on the read models, the rules hold."""
    board = runtime.app.repository.get(board_id(board_key))
    limits = {column["key"]: column["wip_limit"] for column in board.columns}
    stories = open_stories(runtime, board_key)
    for key, limit in limits.items():
        assert limit is None or sum(story.column == key for story in stories) <= limit, key
    assert all(story.column in limits for story in stories)
    ranks = [story.rank for story in stories]
    assert len(set(ranks)) == len(ranks)
    placement = runtime.app.repository.get(placement_id(board_key))
    assert placement.spots == {story.key: [story.column, story.rank] for story in stories}
    assert placement.limits == limits
    current = next(p for p in runtime.projector.projections if p.name == "current")
    assert verify(runtime.projector, current) == []


def test_sixteen_concurrent_moves_never_exceed_a_wip_limit(runtime: Runtime) -> None:
    app = runtime.app
    app.create_board(ALICE, "PAY", "Payments", columns(review_limit=3))
    keys = [app.create_story(ALICE, "PAY", f"story {n}") for n in range(WRITERS)]
    outcomes = concurrently([lambda key=key: app.move_story(ALICE, key, "REVIEW") for key in keys])
    moved = [key for key, outcome in zip(keys, outcomes, strict=True) if outcome == key]
    refused = [outcome for outcome in outcomes if isinstance(outcome, WipLimitError)]
    assert len(moved) == 3 and len(refused) == WRITERS - 3, outcomes
    with runtime.engine.connect() as conn:
        in_review = conn.execute(select(stories_table.c.key).where(stories_table.c.column == "REVIEW"))
        assert sorted(in_review.scalars()) == sorted(moved)
    assert_invariants(runtime, "PAY")


def test_sixteen_concurrent_ranks_give_distinct_ranks_that_can_be_placed_between(runtime: Runtime) -> None:
    app = runtime.app
    app.create_board(ALICE, "PAY", "Payments")
    anchor, *keys = [app.create_story(ALICE, "PAY", f"story {n}") for n in range(WRITERS + 1)]
    outcomes = concurrently([lambda key=key: app.rank_story(ALICE, key, before=anchor) for key in keys])
    assert outcomes == keys
    assert_invariants(runtime, "PAY")
    order = sorted(open_stories(runtime, "PAY"), key=lambda story: story.rank)
    assert order[-1].key == anchor and len(order) == WRITERS + 1
    # Every gap takes a story: placing one between each adjacent pair succeeds.
    probe = app.create_story(ALICE, "PAY", "probe")
    for upper, lower in zip(order[1:], order[:-1], strict=True):
        app.rank_story(ALICE, probe, before=upper.key, after=lower.key)
        assert lower.rank < app.repository.get(story_id(probe)).rank < upper.rank
    assert_invariants(runtime, "PAY")


def test_a_move_into_a_column_removed_meanwhile_is_refused_on_retry(
    runtime: Runtime, settings: Settings
) -> None:
    app = runtime.app
    app.create_board(ALICE, "OPS", "Operations", columns(review_limit=None))
    key = app.create_story(ALICE, "OPS", "Rotate keys")
    without_review = [columns()[0], columns()[2]]
    racing = RacingStoryline(settings, lambda: app.configure_columns(ALICE, "OPS", without_review))
    try:
        with pytest.raises(ValidationError, match="no column REVIEW"):
            racing.move_story(ALICE, key, "REVIEW")  # decided before the removal, written after it
    finally:
        racing.close()
    assert app.repository.get(story_id(key)).column == "TODO"
    assert_invariants(runtime, "OPS")


def test_a_column_receiving_a_story_meanwhile_is_not_removed(runtime: Runtime, settings: Settings) -> None:
    app = runtime.app
    app.create_board(ALICE, "OPS", "Operations", columns(review_limit=None))
    key = app.create_story(ALICE, "OPS", "Rotate keys")
    racing = RacingStoryline(settings, lambda: app.move_story(ALICE, key, "REVIEW"))
    try:
        with pytest.raises(ValidationError, match="REVIEW still hold stories"):
            racing.configure_columns(ALICE, "OPS", [columns()[0], columns()[2]])
    finally:
        racing.close()
    board = app.repository.get(board_id("OPS"))
    assert [column["key"] for column in board.columns] == ["TODO", "REVIEW", "DONE"]
    assert_invariants(runtime, "OPS")


def test_sixteen_writers_moving_ranking_creating_archiving_and_reconfiguring(runtime: Runtime) -> None:
    """Each writer owns some stories, so what it was last told about them must be what is recorded."""
    app = runtime.app
    app.create_board(ALICE, "MIX", "Mixed", columns(review_limit=2))
    owned = {w: [app.create_story(ALICE, "MIX", f"{w}.{n}") for n in range(2)] for w in range(WRITERS)}
    acknowledged_columns: dict[str, str] = {}
    created: list[str] = []
    archived: list[str] = []
    unexpected: list[BaseException] = []

    def writer(w: int) -> None:
        rng = random.Random(w)
        mine = owned[w]
        for step in range(4):
            key = rng.choice(mine)
            kinds = ["move", "move", "rank", "create", "archive"] if w else ["configure"]
            choice = rng.choice(kinds)
            try:
                if choice == "move":
                    target = rng.choice(["TODO", "REVIEW", "DONE", "QA"])
                    before = rng.choice([None, rng.choice(list(chain(*owned.values())))])
                    if before == key:
                        before = None
                    app.move_story(ALICE, key, target, before=before)
                    acknowledged_columns[key] = target
                elif choice == "rank":
                    other = rng.choice(list(chain(*owned.values())))
                    if other != key:
                        app.rank_story(ALICE, key, after=other)
                elif choice == "create":
                    new = app.create_story(ALICE, "MIX", f"{w} new {step}")
                    created.append(new)
                    mine.append(new)
                elif choice == "archive" and len(mine) > 1:
                    app.archive_story(ALICE, key)
                    archived.append(key)
                    mine.remove(key)
                elif choice == "configure":
                    with_qa = rng.random() < 0.5
                    extra = [{"key": "QA", "name": "QA", "category": "IN_PROGRESS", "wip_limit": 1}]
                    app.configure_columns(ALICE, "MIX", columns(review_limit=2) + (extra if with_qa else []))
            except (WipLimitError, InvalidTransitionError, ValidationError) as refusal:
                if isinstance(refusal, ValidationError) and "must rank" in refusal.message:
                    unexpected.append(refusal)
            except DomainError as error:  # a CONFLICT would mean a lost race was not retried
                unexpected.append(error)

    concurrently([lambda w=w: writer(w) for w in range(WRITERS)])
    assert unexpected == []
    for key, column in acknowledged_columns.items():
        story = app.repository.get(story_id(key))
        assert story.archived or story.column == column, key
    for key in created:
        assert app.repository.get(story_id(key)).title
    for key in archived:
        assert app.repository.get(story_id(key)).archived
    assert_invariants(runtime, "MIX")


def test_a_move_to_the_storys_own_column_is_refused_and_a_retry_replays_the_first_result(
    runtime: Runtime,
) -> None:
    app = runtime.app
    app.create_board(ALICE, "PAY", "Payments")
    key = app.create_story(ALICE, "PAY", "Story")
    retry = Caller("alice", idempotency_key="move-1")
    assert app.move_story(retry, key, "DONE") == key
    recorded = runtime.projector.head()
    assert app.move_story(retry, key, "DONE") == key  # the same clientMutationId: the first result
    with pytest.raises(InvalidTransitionError) as error:
        app.move_story(ALICE, key, "DONE")
    assert error.value.field == "toColumn"
    assert runtime.projector.head() == recorded


def test_move_and_rank_are_one_change_and_a_bad_rank_records_nothing(runtime: Runtime) -> None:
    app = runtime.app
    app.create_board(ALICE, "PAY", "Payments")
    one, two, three = (app.create_story(ALICE, "PAY", title) for title in ("One", "Two", "Three"))
    app.move_story(ALICE, three, "IN_PROGRESS", before=one)
    moved = app.repository.get(story_id(three))
    assert moved.column == "IN_PROGRESS" and moved.rank < app.repository.get(story_id(one)).rank
    recorded = runtime.projector.head()
    with pytest.raises(ValidationError, match="'after' must rank above 'before'"):
        app.move_story(ALICE, two, "DONE", before=three, after=one)
    assert runtime.projector.head() == recorded
    assert app.repository.get(story_id(two)).column == "TODO"
    assert_invariants(runtime, "PAY")


def write_board_as_before_placements(app: Storyline) -> None:
    """A board as the service recorded it before placements: each story saved alone, ranks from
    the key sequence (which gave PAY-3 the rank PAY-1 was moved to), one story archived."""
    stamp = app._stamp(ALICE)
    board, sequence = Board.create("OLD", "Old board", None, stamp), KeySequence.create("OLD", stamp)
    app.save(board, sequence)
    stories: list[Story] = []
    for title in ("One", "Two", "Three", "Four"):
        if title == "Three":
            first = stories[0]
            first.rerank(rank_between(stories[1].rank, None), stamp)  # rankStory(after: OLD-2)
            app.save(first)
        key, rank = sequence.issue_story_key(stamp)
        story = Story.create(board, key, rank, {"title": title}, None, None, None, stamp)
        stories.append(story)
        app.save(sequence, story)
    stories[1].move("IN_PROGRESS", stamp)
    stories[3].archive(stamp)
    app.save(stories[1], stories[3])


def test_a_board_recorded_before_placements_gets_one_derived_from_its_stories(runtime: Runtime) -> None:
    app = runtime.app
    write_board_as_before_placements(app)
    old: list[StorylineAggregate] = [app.repository.get(story_id(f"OLD-{n}")) for n in (1, 3)]
    assert old[0].rank == old[1].rank  # the tie the old service could make
    current = next(p for p in runtime.projector.projections if p.name == "current")
    runtime.projector.catch_up()
    assert any("share the rank" in line for line in verify(runtime.projector, current))

    app.move_story(ALICE, "OLD-2", "DONE")  # the first command that needs the placement derives it

    placement = app.repository.get(placement_id("OLD"))
    assert isinstance(placement, Placement) and set(placement.spots) == {"OLD-1", "OLD-2", "OLD-3"}
    one, three = app.repository.get(story_id("OLD-1")), app.repository.get(story_id("OLD-3"))
    assert one.rank < three.rank  # the board's order (rank, then number) is kept, now strictly
    assert placement.spots["OLD-2"][0] == "DONE"
    assert_invariants(runtime, "OLD")
    app.rank_story(ALICE, "OLD-2", before="OLD-3", after="OLD-1")  # between the former twins
    assert_invariants(runtime, "OLD")


def test_verify_reports_read_model_rows_that_break_the_boards_rules(runtime: Runtime) -> None:
    app = runtime.app
    app.create_board(ALICE, "PAY", "Payments", columns(review_limit=1))
    one, two, three = (app.create_story(ALICE, "PAY", title) for title in ("One", "Two", "Three"))
    app.move_story(ALICE, one, "REVIEW")
    current = next(p for p in runtime.projector.projections if p.name == "current")
    assert verify(runtime.projector, current) == []
    shared = app.repository.get(story_id(one)).rank
    with runtime.write_engine.begin() as conn:
        row = stories_table.c.key
        conn.execute(stories_table.update().where(row == two).values(column="REVIEW", rank=shared))
        conn.execute(stories_table.update().where(row == three).values(column="GONE"))
    problems = verify(runtime.projector, current)
    assert "stories: PAY REVIEW holds 2 stories, over its WIP limit of 1" in problems
    assert f"stories: 2 open stories of PAY share the rank {shared!r}" in problems
    assert "stories: PAY-3 is in column GONE, which its board does not have" in problems


def test_a_placement_loads_the_same_from_snapshots_and_from_its_events(runtime: Runtime) -> None:
    app = runtime.app
    app.create_board(ALICE, "PAY", "Payments")
    keys = [app.create_story(ALICE, "PAY", f"story {n}") for n in range(3)]
    sprint = app.create_sprint(ALICE, "PAY", "Sprint 1", date(2026, 11, 2), date(2026, 11, 13))
    for n in range(60):
        app.move_story(ALICE, keys[n % 3], ("IN_PROGRESS", "DONE", "TODO")[(n // 3) % 3])
    assert app.snapshots is not None and list(app.snapshots.get(placement_id("PAY")))
    fresh = Storyline(runtime.settings.eventsourcing_env())
    try:
        reloaded = fresh.repository.get(placement_id("PAY"))
    finally:
        fresh.close()
    from_events = project_aggregate(None, app.events.get(placement_id("PAY")))
    assert vars(reloaded) == vars(from_events) == vars(app.repository.get(placement_id("PAY")))
    assert reloaded.version > 60
    assert [str(s) for s in reloaded.sprint_ids] == [sprint] and reloaded.lists_every_sprint
    assert_invariants(runtime, "PAY")
