"""The application on real storage: lifecycle, concurrency, idempotency, backfill, snapshots, upcasting."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from eventsourcing.application import project_aggregate
from eventsourcing.persistence import StoredEvent

from storyline_domain.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from storyline_domain.sprint import SprintState
from storyline_domain.story import Story, story_id
from storyline_service.application import Caller, Storyline
from storyline_service.bootstrap import Runtime
from storyline_service.settings import Settings
from tests.helpers import ALICE, at, backfill, importing


def head(runtime: Runtime) -> int:
    return runtime.projector.head()


def story(runtime: Runtime, key: str) -> Story:
    found = runtime.app.repository.get(story_id(key))
    assert isinstance(found, Story)
    return found


def test_board_story_sprint_and_epic_lifecycle(runtime: Runtime) -> None:
    app = runtime.app
    assert app.create_board(ALICE, "PAY", "Payments") == "PAY"
    epic = app.create_epic(ALICE, "PAY", "Checkout", date(2027, 1, 31))
    assert epic == "PAY-E1"
    first = app.create_story(ALICE, "PAY", "  Pay by card  ", points=3, labels=["web"], epic_key=epic)
    second = app.create_story(ALICE, "PAY", "Refunds", type="BUG", priority="HIGH")
    assert (first, second) == ("PAY-1", "PAY-2")
    assert story(runtime, first).title == "Pay by card"

    sprint = app.create_sprint(ALICE, "PAY", "Sprint 1", date(2026, 11, 2), date(2026, 11, 13), goal="Cards")
    app.add_story_to_sprint(ALICE, sprint, first)
    app.add_story_to_sprint(ALICE, sprint, second)
    app.start_sprint(ALICE, sprint)
    app.estimate_story(ALICE, second, 2)
    app.assign_story(ALICE, first, "alice")
    app.move_story(ALICE, first, "IN_PROGRESS")
    app.block_story(ALICE, first, "waiting for the bank")
    app.unblock_story(ALICE, first)
    app.move_story(ALICE, first, "DONE")
    app.rank_story(ALICE, second, before=first)
    app.update_story(ALICE, second, {"title": "Refunds to cards", "labels": ["api"]})
    app.complete_sprint(ALICE, sprint)

    sprint_state = runtime.app.repository.get(uuid.UUID(sprint))
    assert sprint_state.state == SprintState.CLOSED
    assert sprint_state.commitment == {first: 3.0, second: None}
    done, carried = story(runtime, first), story(runtime, second)
    assert done.column == "DONE" and str(done.sprint_id) == sprint and done.assignee == "alice"
    assert carried.sprint_id is None and carried.rank < done.rank and carried.points == 2.0
    assert carried.title == "Refunds to cards" and carried.labels == ["api"]

    app.archive_story(ALICE, second)
    assert story(runtime, second).archived
    with pytest.raises(Exception, match="archived"):
        app.move_story(ALICE, second, "DONE")


def test_stale_expected_version_is_a_conflict_and_records_nothing(runtime: Runtime) -> None:
    runtime.app.create_board(ALICE, "PAY", "Payments")
    key = runtime.app.create_story(ALICE, "PAY", "Story")
    runtime.app.estimate_story(ALICE, key, 1, expected_version=1)
    before = head(runtime)
    with pytest.raises(ConflictError) as error:
        runtime.app.estimate_story(ALICE, key, 5, expected_version=1)
    assert error.value.field == "expectedVersion"
    assert head(runtime) == before and story(runtime, key).points == 1.0


class RacingStoryline(Storyline):
    """Lets a rival command run between this command's decision and its write, once."""

    name = Storyline.name  # the same event store

    def __init__(self, settings: Settings, rival: Callable[[], object]) -> None:
        super().__init__(settings.eventsourcing_env())
        self.rival: Callable[[], object] | None = rival

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        if self.rival is not None:
            rival, self.rival = self.rival, None
            rival()
        return super().save(*objs, **kwargs)


def test_losing_a_concurrent_race_is_a_conflict_not_an_overwrite(
    runtime: Runtime, settings: Settings
) -> None:
    runtime.app.create_board(ALICE, "PAY", "Payments")
    key = runtime.app.create_story(ALICE, "PAY", "Story")
    loser = RacingStoryline(settings, lambda: runtime.app.estimate_story(ALICE, key, 8))
    try:
        with pytest.raises(ConflictError) as error:
            loser.move_story(ALICE, key, "IN_PROGRESS", expected_version=1)
        assert error.value.field == "expectedVersion"  # the retry saw the rival's change
        current = story(runtime, key)
        assert current.points == 8.0 and current.column == "TODO" and current.version == 2
        # Without an expected version the command is retried on the new state: both changes stand.
        loser.rival = lambda: runtime.app.estimate_story(ALICE, key, 5)
        loser.move_story(ALICE, key, "IN_PROGRESS")
    finally:
        loser.close()
    current = story(runtime, key)
    assert current.points == 5.0 and current.column == "IN_PROGRESS" and current.version == 4


def test_idempotent_retry_returns_the_first_result_and_records_nothing(runtime: Runtime) -> None:
    runtime.app.create_board(ALICE, "PAY", "Payments")
    retry = Caller("alice", idempotency_key="create-1")
    first = runtime.app.create_story(retry, "PAY", "Once only", points=2)
    recorded = head(runtime)
    assert runtime.app.create_story(retry, "PAY", "Once only", points=2) == first
    assert head(runtime) == recorded
    with pytest.raises(ValidationError) as error:
        runtime.app.create_story(retry, "PAY", "Something else")
    assert error.value.field == "clientMutationId"
    backdated = Caller(
        "alice", idempotency_key="create-1", occurred_at=datetime.now(UTC) - timedelta(hours=1)
    )
    with pytest.raises(ValidationError) as error:
        runtime.app.create_story(backdated, "PAY", "Once only", points=2)
    assert error.value.field == "clientMutationId"
    assert head(runtime) == recorded
    # Keys belong to their actor: another user's identical key is a new command.
    assert (
        runtime.app.create_story(Caller("bob", idempotency_key="create-1", superuser=True), "PAY", "x")
        != first
    )


def test_backfill_is_accepted_in_order_and_refused_out_of_order(runtime: Runtime) -> None:
    app = runtime.app
    app.create_board(importing(backfill("alice", "2026-09-01 09:00")), "PAY", "Payments")
    key = app.create_story(backfill("alice", "2026-09-02 10:00"), "PAY", "Imported")
    app.move_story(backfill("alice", "2026-09-03 10:00"), key, "IN_PROGRESS")
    assert story(runtime, key).last_occurred_at == at("2026-09-03 10:00")

    recorded = head(runtime)
    with pytest.raises(ValidationError) as error:
        app.move_story(backfill("alice", "2026-09-02 12:00"), key, "DONE")
    assert error.value.field == "occurredAt"
    with pytest.raises(ValidationError, match="future"):
        app.move_story(Caller("alice", occurred_at=datetime.now(UTC) + timedelta(days=1)), key, "DONE")
    app.grant_role(ALICE, "PAY", "bob", "MEMBER")
    recorded = head(runtime)
    with pytest.raises(ForbiddenError):
        app.move_story(backfill("bob", "2026-09-04 10:00"), key, "DONE")
    assert head(runtime) == recorded


def test_concurrent_creates_give_unique_gap_free_keys(runtime: Runtime) -> None:
    runtime.app.create_board(ALICE, "PAY", "Payments")
    keys: list[str] = []
    errors: list[BaseException] = []

    def create(worker: int) -> None:
        try:
            for n in range(5):
                keys.append(runtime.app.create_story(ALICE, "PAY", f"story {worker}.{n}"))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=create, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(keys, key=lambda k: int(k.split("-")[1])) == [f"PAY-{n}" for n in range(1, 31)]


def test_reload_from_the_log_equals_state_with_and_without_snapshots(runtime: Runtime) -> None:
    runtime.app.create_board(ALICE, "PAY", "Payments")
    key = runtime.app.create_story(ALICE, "PAY", "Long-lived")
    for n in range(120):
        runtime.app.estimate_story(ALICE, key, float(n % 7 + (n % 2) * 10))
    assert runtime.app.snapshots is not None
    assert list(runtime.app.snapshots.get(story_id(key)))  # snapshots were taken
    from_snapshot = story(runtime, key)
    from_events = project_aggregate(None, runtime.app.events.get(story_id(key)))
    fresh = Storyline(runtime.settings.eventsourcing_env())
    try:
        reloaded = fresh.repository.get(story_id(key))
    finally:
        fresh.close()
    assert vars(from_snapshot) == vars(from_events) == vars(reloaded)
    assert from_snapshot.version > 100


def test_an_old_version_event_is_upcast_when_read(runtime: Runtime) -> None:
    """Story.Created version 1 had no labels; stored events stay readable forever."""
    runtime.app.create_board(ALICE, "PAY", "Payments")
    mapper = runtime.app.mapper
    created: dict[str, Any] = {
        "originator_topic": "storyline_domain.story:Story",
        "key": "PAY-99",
        "board_key": "PAY",
        "title": "From the first release",
        "description": "",
        "type": "STORY",
        "priority": "MEDIUM",
        "points": None,
        "assignee": None,
        "column": "TODO",
        "epic_key": None,
        "rank": "a0",
        "actor": "alice",
        "occurred_at": at("2026-01-05 10:00"),
        "correlation_id": "c1",
        "idempotency_key": None,
        "timestamp": at("2026-01-05 10:00"),
    }
    stored = StoredEvent(
        originator_id=story_id("PAY-99"),
        originator_version=1,
        topic="storyline_domain.story:Story.Created",
        state=mapper.transcoder.encode(created),
    )
    runtime.app.recorder.insert_events([stored])
    old = story(runtime, "PAY-99")
    assert old.labels == [] and old.title == "From the first release"


def test_unknown_things_are_not_found(runtime: Runtime) -> None:
    runtime.app.create_board(ALICE, "PAY", "Payments")
    with pytest.raises(NotFoundError):
        runtime.app.move_story(ALICE, "PAY-404", "DONE")
    with pytest.raises(NotFoundError):
        runtime.app.start_sprint(ALICE, "not-a-sprint")
    with pytest.raises(NotFoundError):
        runtime.app.create_story(Caller("mallory"), "PAY", "sneaky")
