"""Sprints: a time box, what the team committed to at its start, and how it ended."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from storyline_domain.base import Stamp, StorylineAggregate, check_occurred_at
from storyline_domain.board import clean_text
from storyline_domain.errors import InvalidTransitionError, ValidationError
from storyline_domain.limits import DEFAULT_LIMITS, Limits

EDITABLE_FIELDS = ("name", "goal", "start_date", "end_date")


class SprintState(StrEnum):
    PLANNED = "PLANNED"
    ACTIVE = "ACTIVE"
    CLOSED = "CLOSED"


MAX_GOAL = 1000


def check_dates(start_date: date, end_date: date, limits: Limits) -> None:
    limits.check_date(start_date, "startDate")
    limits.check_date(end_date, "endDate")
    if end_date < start_date:
        raise ValidationError("a sprint cannot end before it starts", field="endDate")
    if (end_date - start_date).days >= limits.max_sprint_days:
        raise ValidationError(f"a sprint lasts at most {limits.max_sprint_days} days", field="endDate")


def clean_goal(goal: str | None) -> str | None:
    if goal is None or not goal.strip():
        return None
    return clean_text(goal, "goal", max_length=MAX_GOAL, label="a goal", multiline=True)


class Sprint(StorylineAggregate):
    board_archived = False  # class-level default: older snapshots restore without it

    def __init__(self, board_key: str, name: str, goal: str | None, start_date: date, end_date: date) -> None:
        self.board_key = board_key
        self.name = name
        self.goal = goal
        self.start_date = start_date
        self.end_date = end_date
        self.state: str = SprintState.PLANNED
        self.members: list[str] = []  # story keys, in the order they joined
        self.commitment: dict[str, float | None] = {}
        self.started_at: Any = None
        self.completed_at: Any = None

    class Created(StorylineAggregate.Created):
        board_key: str
        name: str
        goal: str | None
        start_date: date
        end_date: date

    class Updated(StorylineAggregate.Event):
        changes: dict[str, list[Any]]  # field -> [before, after]

        def apply(self, sprint: Sprint) -> None:
            for field, (_, after) in self.changes.items():
                setattr(sprint, field, after)

    class StoryAdded(StorylineAggregate.Event):
        story_key: str
        points: float | None
        carried_from: UUID | None

        def apply(self, sprint: Sprint) -> None:
            sprint.members.append(self.story_key)

    class StoryRemoved(StorylineAggregate.Event):
        story_key: str
        points: float | None

        def apply(self, sprint: Sprint) -> None:
            sprint.members.remove(self.story_key)

    class Started(StorylineAggregate.Event):
        commitment: dict[str, float | None]  # story key -> points at the start

        def apply(self, sprint: Sprint) -> None:
            sprint.state = SprintState.ACTIVE
            sprint.commitment = self.commitment
            sprint.started_at = self.occurred_at

    class Completed(StorylineAggregate.Event):
        completed: dict[str, float | None]  # done stories -> points at completion
        carried_over: dict[str, float | None]  # unfinished stories -> points at completion
        carried_to: UUID | None  # a planned sprint, or None for the backlog

        def apply(self, sprint: Sprint) -> None:
            sprint.state = SprintState.CLOSED
            sprint.completed_at = self.occurred_at
            for key in self.carried_over:
                sprint.members.remove(key)

    class BoardArchived(StorylineAggregate.Event):
        """The sprint's board was archived: the sprint keeps its history and takes no more changes."""

        def apply(self, sprint: Sprint) -> None:
            sprint.board_archived = True

    @classmethod
    def create(
        cls,
        sprint_id: UUID,
        board_key: str,
        name: str,
        goal: str | None,
        start_date: date,
        end_date: date,
        stamp: Stamp,
        limits: Limits = DEFAULT_LIMITS,
    ) -> Sprint:
        name = clean_text(name, "name", max_length=100, label="a sprint name")
        check_dates(start_date, end_date, limits)
        check_occurred_at(None, stamp)
        return cls._create(
            cls.Created,
            id=sprint_id,
            board_key=board_key,
            name=name,
            goal=clean_goal(goal),
            start_date=start_date,
            end_date=end_date,
            **stamp.fields(),
        )

    def update(self, changes: dict[str, Any], stamp: Stamp, limits: Limits = DEFAULT_LIMITS) -> None:
        if self.state == SprintState.CLOSED:
            raise InvalidTransitionError(f"sprint {self.name} is closed", field="sprintId")
        for field in changes:
            if field not in EDITABLE_FIELDS:
                raise ValidationError(f"{field} cannot be edited", field=field)
        if "name" in changes:
            changes["name"] = clean_text(changes["name"], "name", max_length=100, label="a sprint name")
        if "goal" in changes:
            changes["goal"] = clean_goal(changes["goal"])
        if ("start_date" in changes or "end_date" in changes) and self.state != SprintState.PLANNED:
            field = "startDate" if "start_date" in changes else "endDate"
            raise InvalidTransitionError("dates can only change while a sprint is planned", field=field)
        if "start_date" in changes or "end_date" in changes:
            check_dates(
                changes.get("start_date", self.start_date), changes.get("end_date", self.end_date), limits
            )
        diff = {f: [getattr(self, f), v] for f, v in changes.items() if getattr(self, f) != v}
        if diff:
            self._record(self.Updated, stamp, changes=diff)

    def note_board_archived(self, stamp: Stamp) -> None:
        self._record(self.BoardArchived, stamp)

    def check_open(self, field: str = "sprintId") -> None:
        if self.state == SprintState.CLOSED:
            raise InvalidTransitionError(f"sprint {self.name} is closed", field=field)

    def check_books_open(self, occurred_at: datetime) -> None:
        """A closed sprint's figures are final: nothing may be backfilled before its completion.

        Called for a backfilled change to a story that was in the sprint when it closed."""
        if self.state == SprintState.CLOSED and occurred_at < self.completed_at:
            raise InvalidTransitionError(
                f"sprint {self.name} closed at {self.completed_at.isoformat()}; its books are closed, "
                f"so nothing can be recorded before then (occurredAt {occurred_at.isoformat()})",
                field="occurredAt",
            )

    def add_story(
        self, story_key: str, points: float | None, carried_from: UUID | None, stamp: Stamp
    ) -> None:
        self.check_open()
        self._record(self.StoryAdded, stamp, story_key=story_key, points=points, carried_from=carried_from)

    def remove_story(self, story_key: str, points: float | None, stamp: Stamp) -> None:
        self.check_open()
        if story_key not in self.members:
            raise ValidationError(f"{story_key} is not in sprint {self.name}", field="storyKey")
        self._record(self.StoryRemoved, stamp, story_key=story_key, points=points)

    def start(self, points: dict[str, float | None], stamp: Stamp) -> None:
        """Starts the sprint; ``points`` are the members' estimates at this moment."""
        if self.state != SprintState.PLANNED:
            raise InvalidTransitionError(
                f"sprint {self.name} is {self.state.lower()}, only a planned sprint can start",
                field="sprintId",
            )
        self._record(self.Started, stamp, commitment={key: points[key] for key in self.members})

    def complete(
        self,
        done: dict[str, float | None],
        unfinished: dict[str, float | None],
        carried_to: UUID | None,
        stamp: Stamp,
    ) -> None:
        if self.state != SprintState.ACTIVE:
            raise InvalidTransitionError(
                f"sprint {self.name} is {self.state.lower()}, only an active sprint can complete",
                field="sprintId",
            )
        self._record(self.Completed, stamp, completed=done, carried_over=unfinished, carried_to=carried_to)
