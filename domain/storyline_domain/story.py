"""Stories: the cards on a board."""

from __future__ import annotations

import math
from enum import Enum, StrEnum
from typing import Any
from uuid import UUID, uuid5

from storyline_domain.base import Stamp, StorylineAggregate, check_occurred_at
from storyline_domain.board import NAMESPACE, Board, StatusCategory, clean_text
from storyline_domain.errors import (
    InvalidTransitionError,
    ValidationError,
)
from storyline_domain.limits import DEFAULT_LIMITS, Limits
from storyline_domain.text import check_text


class StoryType(StrEnum):
    STORY = "STORY"
    BUG = "BUG"
    TASK = "TASK"
    SPIKE = "SPIKE"


class Priority(StrEnum):
    LOWEST = "LOWEST"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    HIGHEST = "HIGHEST"


EDITABLE_FIELDS = ("title", "description", "type", "priority", "labels")
MAX_DESCRIPTION = 20_000
MAX_BLOCK_REASON = 500


def story_id(key: str) -> UUID:
    return uuid5(NAMESPACE, f"story/{key}")


def check_points(points: float | None) -> float | None:
    if points is None:
        return None
    if not math.isfinite(points) or points < 0 or points > 1000:
        raise ValidationError("points must be between 0 and 1000, or none", field="points")
    return float(points)


def clean_labels(labels: list[str], limits: Limits) -> list[str]:
    if len(labels) > limits.max_labels:
        raise ValidationError(f"a story has at most {limits.max_labels} labels", field="labels")
    cleaned = sorted({check_text(label, "labels").strip() for label in labels if label.strip()})
    if any(len(label) > limits.max_label_length for label in cleaned):
        raise ValidationError(f"a label is at most {limits.max_label_length} characters", field="labels")
    return cleaned


def enum_value(enum: type[Enum], value: str, field: str) -> str:
    try:
        return str(enum(value).value)
    except ValueError:
        raise ValidationError(f"unknown {field} {value!r}", field=field) from None


def clean_fields(changes: dict[str, Any], limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Validates editable fields given as primitives."""
    cleaned: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "title":
            cleaned[field] = clean_text(value, "title", max_length=200, label="a title")
        elif field == "description":
            if len(value) > MAX_DESCRIPTION:
                raise ValidationError(f"a description is at most {MAX_DESCRIPTION} characters", field=field)
            cleaned[field] = check_text(value, field, multiline=True)
        elif field == "type":
            cleaned[field] = enum_value(StoryType, value, field)
        elif field == "priority":
            cleaned[field] = enum_value(Priority, value, field)
        elif field == "labels":
            cleaned[field] = clean_labels(value, limits)
        else:
            raise ValidationError(f"{field} cannot be edited", field=field)
    return cleaned


class Story(StorylineAggregate):
    """A story (or bug, task, spike) with its place in the workflow and the backlog."""

    def __init__(
        self,
        key: str,
        board_key: str,
        title: str,
        description: str,
        type: str,
        priority: str,
        labels: list[str],
        points: float | None,
        assignee: str | None,
        column: str,
        epic_key: str | None,
        rank: str,
    ) -> None:
        self.key = key
        self.board_key = board_key
        self.title = title
        self.description = description
        self.type = type
        self.priority = priority
        self.labels = labels
        self.points = points
        self.assignee = assignee
        self.column = column
        self.epic_key = epic_key
        self.rank = rank
        self.sprint_id: UUID | None = None
        self.blocked_reason: str | None = None
        self.archived = False

    board_archived = False  # class-level default: older snapshots restore without it

    def __deepcopy__(self, memo: dict[int, object]) -> Story:
        # The repository copies a cached story for each command on it. Events replace its
        # attributes, never change one in place, so a shallow copy with its own lists suffices
        # (a generic deep copy cost more than the rest of loading it).
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.labels = list(self.labels)
        clone._pending_events = list(self._pending_events)
        return clone

    @property
    def blocked(self) -> bool:
        return self.blocked_reason is not None

    class Created(StorylineAggregate.Created):
        key: str
        board_key: str
        title: str
        description: str
        type: str
        priority: str
        labels: list[str]
        points: float | None
        assignee: str | None
        column: str
        epic_key: str | None
        rank: str

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Version 1 had no labels.
            state["labels"] = []

    class Updated(StorylineAggregate.Event):
        changes: dict[str, list[Any]]  # field -> [before, after]

        def apply(self, story: Story) -> None:
            for field, (_, after) in self.changes.items():
                setattr(story, field, after)

    class Estimated(StorylineAggregate.Event):
        previous: float | None
        points: float | None

        def apply(self, story: Story) -> None:
            story.points = self.points

    class Assigned(StorylineAggregate.Event):
        previous: str | None
        assignee: str | None

        def apply(self, story: Story) -> None:
            story.assignee = self.assignee

    class Moved(StorylineAggregate.Event):
        from_column: str
        to_column: str

        def apply(self, story: Story) -> None:
            story.column = self.to_column

    class Ranked(StorylineAggregate.Event):
        previous: str
        rank: str

        def apply(self, story: Story) -> None:
            story.rank = self.rank

    class Blocked(StorylineAggregate.Event):
        reason: str

        def apply(self, story: Story) -> None:
            story.blocked_reason = self.reason

    class Unblocked(StorylineAggregate.Event):
        reason: str

        def apply(self, story: Story) -> None:
            story.blocked_reason = None

    class Archived(StorylineAggregate.Event):
        def apply(self, story: Story) -> None:
            story.archived = True

    class BoardArchived(StorylineAggregate.Event):
        """The story's board was archived: the story keeps its history and takes no more changes."""

        def apply(self, story: Story) -> None:
            story.board_archived = True

    class EpicChanged(StorylineAggregate.Event):
        previous: str | None
        epic_key: str | None

        def apply(self, story: Story) -> None:
            story.epic_key = self.epic_key

    class SprintChanged(StorylineAggregate.Event):
        previous: UUID | None
        sprint_id: UUID | None

        def apply(self, story: Story) -> None:
            story.sprint_id = self.sprint_id

    @classmethod
    def create(
        cls,
        board: Board,
        key: str,
        rank: str,
        fields: dict[str, Any],
        points: float | None,
        assignee: str | None,
        epic_key: str | None,
        stamp: Stamp,
        limits: Limits = DEFAULT_LIMITS,
    ) -> Story:
        cleaned = clean_fields(
            {"description": "", "type": "STORY", "priority": "MEDIUM", "labels": [], **fields}, limits
        )
        if "title" not in cleaned:
            raise ValidationError("a title is required", field="title")
        check_occurred_at(None, stamp)
        board.check_member(clean_assignee(assignee), field="assignee")
        return cls._create(
            cls.Created,
            id=story_id(key),
            key=key,
            board_key=board.key,
            points=check_points(points),
            assignee=clean_assignee(assignee),
            column=board.first_column(StatusCategory.TODO),
            epic_key=epic_key,
            rank=rank,
            **cleaned,
            **stamp.fields(),
        )

    def check_open(self) -> None:
        if self.archived:
            raise InvalidTransitionError(f"{self.key} is archived", field="storyKey")

    def update(self, changes: dict[str, Any], stamp: Stamp, limits: Limits = DEFAULT_LIMITS) -> None:
        self.check_open()
        cleaned = clean_fields(changes, limits)
        diff = {f: [getattr(self, f), v] for f, v in cleaned.items() if getattr(self, f) != v}
        if diff:
            self._record(self.Updated, stamp, changes=diff)

    def estimate(self, points: float | None, stamp: Stamp) -> None:
        self.check_open()
        points = check_points(points)
        if points != self.points:
            self._record(self.Estimated, stamp, previous=self.points, points=points)

    def assign(self, assignee: str | None, stamp: Stamp) -> None:
        self.check_open()
        assignee = clean_assignee(assignee)
        if assignee != self.assignee:
            self._record(self.Assigned, stamp, previous=self.assignee, assignee=assignee)

    def move(self, to_column: str, stamp: Stamp) -> None:
        """Records the move; the board's placement decides whether it may happen (``rules.move_story``)."""
        self.check_open()
        self._record(self.Moved, stamp, from_column=self.column, to_column=to_column)

    def rerank(self, rank: str, stamp: Stamp) -> None:
        self.check_open()
        if rank != self.rank:
            self._record(self.Ranked, stamp, previous=self.rank, rank=rank)

    def block(self, reason: str, stamp: Stamp) -> None:
        self.check_open()
        reason = clean_text(reason, "reason", max_length=MAX_BLOCK_REASON, label="a reason")
        if self.blocked:
            raise InvalidTransitionError(f"{self.key} is already blocked", field="storyKey")
        self._record(self.Blocked, stamp, reason=reason)

    def unblock(self, stamp: Stamp) -> None:
        self.check_open()
        if self.blocked_reason is None:
            raise InvalidTransitionError(f"{self.key} is not blocked", field="storyKey")
        self._record(self.Unblocked, stamp, reason=self.blocked_reason)

    def archive(self, stamp: Stamp) -> None:
        self.check_open()
        self._record(self.Archived, stamp)

    def note_board_archived(self, stamp: Stamp) -> None:
        self._record(self.BoardArchived, stamp)

    def set_epic(self, epic_key: str | None, stamp: Stamp) -> None:
        self.check_open()
        if epic_key != self.epic_key:
            self._record(self.EpicChanged, stamp, previous=self.epic_key, epic_key=epic_key)

    def change_sprint(self, sprint_id: UUID | None, stamp: Stamp) -> None:
        self._record(self.SprintChanged, stamp, previous=self.sprint_id, sprint_id=sprint_id)


def clean_assignee(assignee: str | None) -> str | None:
    if assignee is None or not assignee.strip():
        return None
    return clean_text(assignee, "assignee", max_length=100, label="an assignee")
