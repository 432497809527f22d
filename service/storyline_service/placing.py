"""A board's placement for commands: loaded, or derived once for boards recorded before it existed.

Why a lost race cannot slip past the placement, on both backends: every command
that creates, moves, ranks or archives a story, or changes the columns, saves
the placement's next version together with its other events, in one
transaction. The event store keeps (originator_id, originator_version) unique:
SQLite runs one write transaction at a time and PostgreSQL makes the second
insert of a key wait for the first and then fail. Either way two commands that
decided on the same version of the placement cannot both commit; the loser gets
``RecordConflictError`` (``RaceLost``), is retried on the new state, and is
refused there if the rule no longer allows it. Read models play no part.

Within one process, such commands on one board also take turns (``TURNS``), so
that they do not lose to each other and start over; that is only a queue in
front of the event store, which still decides.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import RecordConflictError

from storyline_domain import rules
from storyline_domain.base import Stamp, StorylineAggregate
from storyline_domain.board import Board, KeySequence, key_sequence_id
from storyline_domain.limits import DEFAULT_LIMITS, Limits
from storyline_domain.placement import Placement, Spot, distinct_ranks, placement_id
from storyline_domain.story import Story, story_id

A = TypeVar("A", bound=StorylineAggregate)


class Turns:
    """Commands that change one board's placement take turns within a process.

    Without turns, concurrent commands on one board decide on the same version of its
    placement, and all but one lose at commit and start over: work thrown away, more of
    it the more writers. A command takes its board's turn when it loads the placement
    and gives it up once its events are saved (before waiting for the read models).
    Only a queue: between processes, and after ``wait_seconds``, the event store decides."""

    def __init__(self, stripes: int = 1024, wait_seconds: float = 5.0) -> None:
        self.locks = [threading.Lock() for _ in range(stripes)]  # boards share a lock per stripe
        self.wait_seconds = wait_seconds
        self.local = threading.local()  # per thread: commands entered, the turn held

    @contextmanager
    def command(self) -> Iterator[None]:
        """One command's span; a turn taken within it is given up when the outermost span ends."""
        depth = getattr(self.local, "depth", 0)
        self.local.depth = depth + 1
        try:
            yield
        finally:
            self.local.depth = depth
            held = getattr(self.local, "held", None)
            if depth == 0 and held is not None:
                self.local.held = None
                held.release()

    def take(self, board_key: str) -> None:
        """Waits for the board's turn, within a command that holds no turn yet; else does nothing."""
        if not getattr(self.local, "depth", 0) or getattr(self.local, "held", None) is not None:
            return
        lock = self.locks[hash(board_key) % len(self.locks)]
        if lock.acquire(timeout=self.wait_seconds):
            self.local.held = lock


TURNS = Turns()


def load_placement(app: Application[UUID], board: Board, stamp: Stamp) -> Placement:
    """The board's placement, derived and saved first if the board was recorded without one;
    takes the board's turn first (see ``Turns``)."""
    TURNS.take(board.key)
    try:
        return _get(app, placement_id(board.key), Placement)
    except AggregateNotFoundError:
        pass
    # Boards recorded before placements existed: derived from their stories' own events
    # (never from read models), once; stories that share a rank get distinct ones.
    # It is saved on its own, at the present time, so that it stands whatever the
    # command that needed it decides. Two commands deriving at once write version 1
    # of the same placement, and the loser reads the winner's.
    now = replace(stamp, occurred_at=stamp.recorded_at, backfilled=False)
    sequence = _get(app, key_sequence_id(board.key), KeySequence)
    stories = [
        story
        for number in range(1, sequence.last_story_number + 1)
        if not (story := _get(app, story_id(f"{board.key}-{number}"), Story)).archived
    ]
    spots: dict[str, Spot] = {story.key: [story.column, story.rank] for story in stories}
    repairs = distinct_ranks(spots, {story.key: number_of(story.key) for story in stories})
    for story in stories:
        if story.key in repairs:
            story.rerank(repairs[story.key], now)
            spots[story.key] = [story.column, story.rank]
    # The board may have sprints from before placements listed them: the archive finds those itself.
    placement = Placement.create(board.key, board.columns, spots, now, lists_every_sprint=False)
    with suppress(RecordConflictError):
        app.save(placement, *stories)
    return _get(app, placement_id(board.key), Placement)


def number_of(story_key: str) -> int:
    return int(story_key.rsplit("-", 1)[1])


def _get(app: Application[UUID], aggregate_id: UUID, cls: type[A]) -> A:
    aggregate: Any = app.repository.get(aggregate_id)
    assert isinstance(aggregate, cls)
    return aggregate


@dataclass
class StoryCreation:
    """Creates stories on one board in one command: each gets the board's next key and the
    bottom rank of its placement. Save :meth:`changed` in one ``save`` (single or bulk)."""

    board: Board
    sequence: KeySequence
    placement: Placement
    stories: list[Story] = field(default_factory=list)

    @classmethod
    def on(cls, app: Application[UUID], board: Board, stamp: Stamp) -> StoryCreation:
        placement = load_placement(app, board, stamp)
        return cls(board, _get(app, key_sequence_id(board.key), KeySequence), placement)

    def new_story(
        self,
        fields: dict[str, Any],
        points: float | None,
        assignee: str | None,
        epic_key: str | None,
        stamp: Stamp,
        limits: Limits = DEFAULT_LIMITS,
        kept_key: str | None = None,
    ) -> Story:
        story = rules.create_story(
            self.board,
            self.sequence,
            self.placement,
            fields,
            points,
            assignee,
            epic_key,
            stamp,
            limits,
            kept_key,
        )
        self.stories.append(story)
        return story

    def changed(self) -> list[StorylineAggregate]:
        return [self.sequence, self.placement, *self.stories]
