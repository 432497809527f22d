"""Helpers for domain unit tests: stamps, builders and assertions. No storage, no service."""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid5

import pytest

from storyline_domain import rules
from storyline_domain.base import Stamp, StorylineAggregate
from storyline_domain.board import NAMESPACE, Board, Column, KeySequence
from storyline_domain.epic import Epic
from storyline_domain.errors import DomainError
from storyline_domain.placement import Placement
from storyline_domain.sprint import Sprint
from storyline_domain.story import Story

A = TypeVar("A", bound=StorylineAggregate)

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
# The system writes an event down a little after it happened, so that a test can
# tell the recording time (the event's timestamp) from the business time.
RECORDING_DELAY = timedelta(seconds=7)


class Clock:
    """Issues stamps whose business time moves forward one minute per command.

    An explicit ``occurred_at`` makes a backfilled stamp, as the service does for a client's time.
    """

    def __init__(self, start: datetime = T0) -> None:
        self.now = start
        self.issued = 0

    def stamp(
        self, actor: str = "alice", *, occurred_at: datetime | None = None, key: str | None = None
    ) -> Stamp:
        self.issued += 1
        self.now += timedelta(minutes=1)
        return Stamp(
            actor=actor,
            occurred_at=occurred_at or self.now,
            recorded_at=self.now + RECORDING_DELAY,
            correlation_id=f"corr-{self.issued}",
            idempotency_key=key if key is not None else f"idem-{self.issued}",
            backfilled=occurred_at is not None,
        )


def assert_stamped(events: Sequence[Any], stamp: Stamp) -> None:
    """Every event carries the command's metadata; its timestamp is the recording time."""
    assert events, "expected at least one event"
    for event in events:
        assert event.actor == stamp.actor
        assert event.occurred_at == stamp.occurred_at
        assert event.correlation_id == stamp.correlation_id
        assert event.idempotency_key == stamp.idempotency_key
        assert event.timestamp == stamp.recorded_at


def event_types(events: Sequence[Any]) -> list[type]:
    return [type(event) for event in events]


def recorded(aggregate: StorylineAggregate) -> list[Any]:
    """The events recorded since the last call (drains the aggregate's pending events)."""
    return list(aggregate.collect_events())


def drain(*aggregates: StorylineAggregate) -> None:
    """Forgets the events recorded so far, to look only at what comes next."""
    for aggregate in aggregates:
        aggregate.collect_events()


@contextmanager
def refused(
    error: type[DomainError],
    *,
    code: str,
    field: str | None,
    match: str,
    untouched: Sequence[StorylineAggregate] = (),
) -> Iterator[None]:
    """The block raises ``error`` with that code, field and message, and records nothing."""
    for aggregate in untouched:
        assert not aggregate.pending_events, "drain the aggregate before the refused command"
    before = [(aggregate.version, copy.deepcopy(vars(aggregate))) for aggregate in untouched]
    with pytest.raises(error) as info:
        yield
    raised = info.value
    assert type(raised) is error
    assert raised.code == code
    assert raised.field == field
    assert raised.message == str(raised)
    assert raised.message.strip() == raised.message and len(raised.message) > 10
    assert re.search(match, raised.message), f"{raised.message!r} does not match {match!r}"
    for aggregate, (version, state) in zip(untouched, before, strict=True):
        assert aggregate.collect_events() == []
        assert aggregate.version == version
        assert vars(aggregate) == state


def replay(aggregate: A, events: Sequence[Any]) -> A:
    """The aggregate rebuilt from its events alone."""
    rebuilt = functools.reduce(lambda state, event: event.mutate(state), events, None)
    assert rebuilt is not None
    return rebuilt  # type: ignore[no-any-return]


def column(key: str, category: str, name: str | None = None, wip_limit: int | None = None) -> Column:
    return {"key": key, "name": name or key.title(), "category": category, "wip_limit": wip_limit}


def sprint_id(name: str) -> UUID:
    return uuid5(NAMESPACE, f"test-sprint/{name}")


class Kit:
    """Builds drained aggregates for one board, stamped by one clock."""

    def __init__(self, clock: Clock, board: Board, keys: KeySequence, placement: Placement) -> None:
        self.clock = clock
        self.board = board
        self.keys = keys
        self.placement = placement

    def story(self, title: str = "Pay by card", points: float | None = None, **fields: Any) -> Story:
        stamp = self.clock.stamp()
        story = rules.create_story(
            self.board, self.keys, self.placement, {"title": title, **fields}, points, None, None, stamp
        )
        drain(self.keys, self.placement, story)
        return story

    def move(self, story: Story, column: str) -> None:
        """Moves the story as the service does, through the board's placement."""
        rules.move_story(self.board, self.placement, story, column, self.clock.stamp())

    def sprint(self, name: str = "Sprint 1", board_key: str | None = None) -> Sprint:
        sprint = Sprint.create(
            sprint_id(name),
            board_key or self.board.key,
            name,
            "Ship card payments",
            date(2024, 3, 4),
            date(2024, 3, 15),
            self.clock.stamp(),
        )
        sprint.collect_events()
        return sprint

    def epic(self, title: str = "Payments") -> Epic:
        stamp = self.clock.stamp()
        key = self.keys.issue_epic_key(stamp)
        self.keys.collect_events()
        epic = Epic.create(self.board.key, key, title, date(2024, 6, 30), stamp)
        epic.collect_events()
        return epic


def new_kit(clock: Clock, key: str = "PAY", columns: list[Column] | None = None) -> Kit:
    stamp = clock.stamp()
    board = Board.create(key, f"{key} board", columns, stamp)
    keys = KeySequence.create(key, stamp)
    placement = Placement.create(key, board.columns, {}, stamp, lists_every_sprint=True)
    drain(board, keys, placement)
    return Kit(clock, board, keys, placement)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kit(clock: Clock) -> Kit:
    return new_kit(clock)


@pytest.fixture
def make_kit(clock: Clock) -> Callable[..., Kit]:
    """Another board on the same clock, e.g. ``make_kit("OPS")``."""
    return functools.partial(new_kit, clock)
