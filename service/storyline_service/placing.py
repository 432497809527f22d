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
"""

from __future__ import annotations

from contextlib import suppress
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


def load_placement(app: Application[UUID], board: Board, stamp: Stamp) -> Placement:
    """The board's placement, derived and saved first if the board was recorded without one."""
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
    placement = Placement.create(board.key, board.columns, spots, now)
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
