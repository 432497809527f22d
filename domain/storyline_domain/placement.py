"""A board's placement: which column each open story is in, and its rank.

The rules that span a board's stories are decided here, in one aggregate:
WIP limits, distinct and totally ordered ranks, and that a column holding
stories cannot be removed. Every command that creates, moves, ranks or
archives a story, or changes the columns, records an event on the placement
in the same atomic save as its other events. Two such commands on one board
therefore write the same next version of the placement, and the event store
lets only one of them commit (see ``Storyline._placement``).

The placement also lists the sprints planned on the board (``sprint_ids``):
planning one records it here, so that archiving the board, which records the
placement's next version too, finds every sprint inside this boundary and a
sprint planned at the same moment loses its race (see ``board_archive``).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid5

from storyline_domain.base import Stamp, StorylineAggregate
from storyline_domain.board import NAMESPACE, Column
from storyline_domain.errors import InvalidTransitionError, ValidationError, WipLimitError
from storyline_domain.ranking import rank_after, rank_between

Spot = list[str]  # [column key, rank]: a list, as it travels as JSON


def placement_id(board_key: str) -> UUID:
    return uuid5(NAMESPACE, f"board/{board_key}/placement")


def wip_limits(columns: list[Column]) -> dict[str, int | None]:
    return {column["key"]: column["wip_limit"] for column in columns}


def distinct_ranks(spots: dict[str, Spot], numbers: dict[str, int]) -> dict[str, str]:
    """New ranks for the stories that share a rank with an earlier one, in the board's order
    (rank, then number): each goes just after its predecessor, before the next distinct rank."""
    order = sorted(spots, key=lambda key: (spots[key][1], numbers[key]))
    ranks = [spots[key][1] for key in order]
    changed: dict[str, str] = {}
    previous: str | None = None
    for index, key in enumerate(order):
        rank = ranks[index]
        if previous is not None and rank <= previous:
            following = next((r for r in ranks[index + 1 :] if r > previous), None)
            rank = rank_between(previous, following)
            changed[key] = rank
        previous = rank
    return changed


def check_rank_request(before: str | None, after: str | None) -> None:
    """A request to rank just above the rank ``before`` and/or just below the rank ``after``."""
    if before is None and after is None:
        raise ValidationError("give 'before' or 'after'", field="before")
    if before is not None and after is not None and after >= before:
        raise ValidationError("'after' must rank above 'before'", field="before")


class Placement(StorylineAggregate):
    """Where a board's open stories are: the consistency boundary for rules that span them."""

    # Class-level defaults: placements and snapshots recorded before these existed restore without them.
    archived = False
    # Sprints planned on the board since the placement lists them, in order (a list once restored).
    sprint_ids: Sequence[UUID] = ()
    # Whether ``sprint_ids`` holds every sprint of the board: true for placements created with
    # their board since placements list sprints; one recorded before, or derived later for an
    # older board, may miss sprints planned before then.
    lists_every_sprint = False

    def __init__(
        self,
        board_key: str,
        limits: dict[str, int | None],
        spots: dict[str, Spot],
        lists_every_sprint: bool = False,  # absent from Created events recorded before it existed
    ) -> None:
        self.board_key = board_key
        self.limits = limits  # the board's columns and their WIP limits (None: no limit)
        self.spots = spots  # open story key -> [column, rank]
        self.lists_every_sprint = lists_every_sprint

    class Created(StorylineAggregate.Created):
        board_key: str
        limits: dict[str, int | None]
        spots: dict[str, Spot]
        lists_every_sprint: bool

    class StoryPlaced(StorylineAggregate.Event):
        story_key: str
        column: str
        rank: str

        def apply(self, placement: Placement) -> None:
            placement.spots[self.story_key] = [self.column, self.rank]

    class StoryMoved(StorylineAggregate.Event):
        story_key: str
        column: str

        def apply(self, placement: Placement) -> None:
            placement.spots[self.story_key] = [self.column, placement.spots[self.story_key][1]]

    class StoryRanked(StorylineAggregate.Event):
        story_key: str
        rank: str

        def apply(self, placement: Placement) -> None:
            placement.spots[self.story_key] = [placement.spots[self.story_key][0], self.rank]

    class StoryArchived(StorylineAggregate.Event):
        story_key: str

        def apply(self, placement: Placement) -> None:
            del placement.spots[self.story_key]

    class BoardArchived(StorylineAggregate.Event):
        def apply(self, placement: Placement) -> None:
            placement.archived = True

    class SprintPlanned(StorylineAggregate.Event):
        sprint_id: UUID

        def apply(self, placement: Placement) -> None:
            placement.sprint_ids = [*placement.sprint_ids, self.sprint_id]

    class ColumnsChanged(StorylineAggregate.Event):
        limits: dict[str, int | None]

        def apply(self, placement: Placement) -> None:
            placement.limits = self.limits

    @classmethod
    def create(
        cls,
        board_key: str,
        columns: list[Column],
        spots: dict[str, Spot],
        stamp: Stamp,
        *,
        lists_every_sprint: bool,
    ) -> Placement:
        """``spots`` must already have distinct ranks (see :func:`distinct_ranks`);
        ``lists_every_sprint``: the board has no sprint yet (a new board)."""
        return cls._create(
            cls.Created,
            id=placement_id(board_key),
            board_key=board_key,
            limits=wip_limits(columns),
            spots=spots,
            lists_every_sprint=lists_every_sprint,
            **stamp.fields(),
        )

    def __deepcopy__(self, memo: dict[int, object]) -> Placement:
        # The repository copies cached aggregates for each command. Events replace a
        # spot, never change one in place, so copying the dicts suffices: this keeps a
        # command on a board with thousands of stories from deep-copying every spot.
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.spots, clone.limits = dict(self.spots), dict(self.limits)
        clone._pending_events = list(self._pending_events)
        return clone

    def _record(self, event_class: type[StorylineAggregate.Event], stamp: Stamp, **fields: object) -> None:
        # Business time is kept in order per story, sprint and board; the placement
        # interleaves all stories of a board, so it takes each command's time as given.
        self.trigger_event(event_class, **stamp.fields(), **fields)

    # ----- questions -----

    def count_in(self, column: str) -> int:
        return sum(1 for spot_column, _ in self.spots.values() if spot_column == column)

    def column_of(self, story_key: str) -> str:
        return self.spots[story_key][0]

    def rank_of(self, story_key: str) -> str | None:
        spot = self.spots.get(story_key)
        return spot[1] if spot else None

    def _check_room(self, column: str, label: str, field: str) -> None:
        if column not in self.limits:
            raise ValidationError(f"board {self.board_key} has no column {column}", field=field)
        limit = self.limits[column]
        if limit is not None and self.count_in(column) >= limit:
            raise WipLimitError(f"{label} is at its WIP limit of {limit}", field=field)

    # ----- changes -----

    def bottom_rank(self) -> str:
        """A rank below every open story's, for a new story."""
        ranks = [rank for _, rank in self.spots.values()]
        return rank_after(max(ranks) if ranks else None)

    def place(self, story_key: str, column: str, rank: str, label: str, stamp: Stamp) -> None:
        """Places a new story; ``rank`` must be no other story's (``bottom_rank`` is never)."""
        self._check_room(column, label, "boardKey")
        if any(rank == other for _, other in self.spots.values()):
            raise ValidationError(f"rank {rank} is taken")
        self._record(self.StoryPlaced, stamp, story_key=story_key, column=column, rank=rank)

    def move(self, story_key: str, column: str, label: str, stamp: Stamp) -> None:
        """``label`` names the column in errors."""
        if column == self.column_of(story_key):
            raise InvalidTransitionError(f"{story_key} is already in {label}", field="toColumn")
        self._check_room(column, label, "toColumn")
        self._record(self.StoryMoved, stamp, story_key=story_key, column=column)

    def rank(self, story_key: str, before: str | None, after: str | None, stamp: Stamp) -> str:
        """Ranks the story just above the rank ``before`` and/or just below the rank ``after``;
        returns its rank, which no other open story has."""
        check_rank_request(before, after)
        own = self.spots[story_key][1]
        others = [rank for key, (_, rank) in self.spots.items() if key != story_key]
        if before is not None:
            upper: str | None = before
            lower = max((r for r in others if r < before), default=None)
            if after is not None:
                lower = after if lower is None else max(lower, after)
        else:
            assert after is not None
            lower = after
            upper = min((r for r in others if r > after), default=None)
        if (lower is None or lower < own) and (upper is None or own < upper):
            return own  # already there
        rank = rank_between(lower, upper)
        self._record(self.StoryRanked, stamp, story_key=story_key, rank=rank)
        return rank

    def archive(self, story_key: str, stamp: Stamp) -> None:
        self._record(self.StoryArchived, stamp, story_key=story_key)

    def archive_board(self, stamp: Stamp) -> None:
        """Ends the board's placement: every command that decided on an earlier version of it
        (creating, moving, ranking, archiving stories) now loses its race."""
        if self.archived:
            raise InvalidTransitionError(f"board {self.board_key} is archived", field="boardKey")
        self._record(self.BoardArchived, stamp)

    def plan_sprint(self, sprint_id: UUID, stamp: Stamp) -> None:
        """Lists a new sprint of the board: planning it now saves the placement's next version."""
        if self.archived:
            raise InvalidTransitionError(f"board {self.board_key} is archived", field="boardKey")
        self._record(self.SprintPlanned, stamp, sprint_id=sprint_id)

    def configure(self, columns: list[Column], stamp: Stamp) -> None:
        """Takes the board's new columns; refuses to drop a column that holds stories
        or to set a WIP limit below what a column holds."""
        limits = wip_limits(columns)
        if limits == self.limits:
            return
        stranded = sorted(
            {column for column, _ in self.spots.values() if column in self.limits} - set(limits)
        )
        if stranded:
            raise ValidationError(
                f"columns {', '.join(stranded)} still hold stories; move them first", field="columns"
            )
        for index, column in enumerate(columns):
            limit, holds = column["wip_limit"], self.count_in(column["key"])
            if limit is not None and holds > limit:
                raise ValidationError(
                    f"column {column['key']} holds {holds} stories, more than a WIP limit of {limit}",
                    field=f"columns.{index}.wipLimit",
                )
        self._record(self.ColumnsChanged, stamp, limits=limits)
