"""Boards: the workflow, the people on it, and the sequence that issues keys."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import cache
from typing import Any, TypedDict
from uuid import NAMESPACE_URL, UUID, uuid5

from storyline_domain.base import Stamp, StorylineAggregate, check_occurred_at
from storyline_domain.calendar import WorkingCalendar
from storyline_domain.errors import InvalidTransitionError, ValidationError
from storyline_domain.limits import DEFAULT_LIMITS, Limits
from storyline_domain.ranking import rank_after
from storyline_domain.text import check_text

BOARD_KEY = re.compile(r"^[A-Z]{2,10}$")
COLUMN_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,29}$")
KEPT_STORY_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,29}-[1-9][0-9]{0,9}$")
NAMESPACE = uuid5(NAMESPACE_URL, "https://storyline.dev/ids")
MAX_SUMMARY = 5000  # of a status update


class StatusCategory(StrEnum):
    TODO = "TODO"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"


class Role(StrEnum):
    VIEWER = "VIEWER"
    MEMBER = "MEMBER"
    MANAGER = "MANAGER"
    ADMIN = "ADMIN"


class Column(TypedDict):
    key: str
    name: str
    category: str
    wip_limit: int | None


DEFAULT_COLUMNS: list[Column] = [
    {"key": "TODO", "name": "To Do", "category": "TODO", "wip_limit": None},
    {"key": "IN_PROGRESS", "name": "In Progress", "category": "IN_PROGRESS", "wip_limit": None},
    {"key": "DONE", "name": "Done", "category": "DONE", "wip_limit": None},
]

DEFAULT_CALENDAR = WorkingCalendar().fields()


@cache
def board_id(key: str) -> UUID:
    return uuid5(NAMESPACE, f"board/{key}")


def key_sequence_id(board_key: str) -> UUID:
    return uuid5(NAMESPACE, f"board/{board_key}/keys")


def clean_text(value: str, field: str, *, max_length: int, label: str, multiline: bool = False) -> str:
    text = check_text(value, field, multiline=multiline).strip()
    if not 1 <= len(text) <= max_length:
        raise ValidationError(f"{label} must be 1 to {max_length} characters", field=field)
    return text


def validate_columns(columns: list[Column], limits: Limits = DEFAULT_LIMITS) -> list[Column]:
    if len(columns) > limits.max_columns:
        raise ValidationError(f"a board has at most {limits.max_columns} columns", field="columns")
    cleaned: list[Column] = []
    seen: set[str] = set()
    for index, column in enumerate(columns):
        field = f"columns.{index}"
        key = check_text(column["key"], f"{field}.key")
        if not COLUMN_KEY.fullmatch(key):
            raise ValidationError(
                f"column key {key!r} must be upper-case letters, digits or _ (up to 30)",
                field=f"{field}.key",
            )
        if key in seen:
            raise ValidationError(f"column key {key} appears twice", field=f"{field}.key")
        seen.add(key)
        if column["category"] not in StatusCategory.__members__:
            raise ValidationError(f"unknown category {column['category']!r}", field=f"{field}.category")
        wip_limit = column.get("wip_limit")
        if wip_limit is not None and wip_limit < 1:
            raise ValidationError("a WIP limit must be at least 1", field=f"{field}.wipLimit")
        name = clean_text(column["name"], f"{field}.name", max_length=60, label="column name")
        cleaned.append({"key": key, "name": name, "category": column["category"], "wip_limit": wip_limit})
    categories = {column["category"] for column in cleaned}
    if StatusCategory.TODO not in categories or StatusCategory.DONE not in categories:
        raise ValidationError("a workflow needs at least one TODO and one DONE column", field="columns")
    return cleaned


class CostBasis(StrEnum):
    PER_POINT = "PER_POINT"  # the rate is the cost of one completed point
    PER_SPRINT = "PER_SPRINT"  # the rate is the cost of one sprint of the team's capacity


class Budget(TypedDict):
    currency: str
    amount: Decimal
    basis: str
    rate: Decimal


def check_money(value: Decimal, field: str, minor_unit: int | None = None) -> None:
    """Money is a finite, non-negative Decimal; an amount has no more decimals than its currency."""
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise ValidationError("an amount of money is a decimal of 0 or more", field=field)
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if minor_unit is not None and -exponent > minor_unit:
        raise ValidationError(f"{value} has more decimals than its currency's {minor_unit}", field=field)


class Board(StorylineAggregate):
    """A team's board: its workflow columns, its roles, its one active sprint and its working calendar."""

    # Class-level defaults: snapshots taken before these existed restore without them.
    budget: Budget | None = None
    last_update_until: datetime | None = None
    archived: bool = False

    def __init__(self, key: str, name: str, columns: list[Column], actor: str) -> None:
        self.key = key
        self.name = name
        self.columns = columns
        self.roles: dict[str, str] = {actor: Role.ADMIN.value}
        self.active_sprint_id: UUID | None = None
        self.working_calendar = DEFAULT_CALENDAR

    class Created(StorylineAggregate.Created):
        key: str
        name: str
        columns: list[Column]

    class ColumnsConfigured(StorylineAggregate.Event):
        columns: list[Column]
        previous: list[Column]

        def apply(self, board: Board) -> None:
            board.columns = self.columns

    class CalendarConfigured(StorylineAggregate.Event):
        calendar: dict[str, Any]  # WorkingCalendar.fields()
        previous: dict[str, Any]

        def apply(self, board: Board) -> None:
            board.working_calendar = self.calendar

    class RoleGranted(StorylineAggregate.Event):
        user: str
        role: str
        previous: str | None

        def apply(self, board: Board) -> None:
            board.roles[self.user] = self.role

    class RoleRevoked(StorylineAggregate.Event):
        user: str
        previous: str

        def apply(self, board: Board) -> None:
            del board.roles[self.user]

    class SprintActivated(StorylineAggregate.Event):
        sprint_id: UUID

        def apply(self, board: Board) -> None:
            board.active_sprint_id = self.sprint_id

    class SprintDeactivated(StorylineAggregate.Event):
        sprint_id: UUID

        def apply(self, board: Board) -> None:
            board.active_sprint_id = None

    class BudgetSet(StorylineAggregate.Event):
        board_key: str
        currency: str
        amount: Decimal
        basis: str
        rate: Decimal
        reason: str | None
        previous: Budget | None

        def apply(self, board: Board) -> None:
            board.budget = {
                "currency": self.currency,
                "amount": self.amount,
                "basis": self.basis,
                "rate": self.rate,
            }

    class StatusUpdatePublished(StorylineAggregate.Event):
        """A stakeholder update, its figures frozen exactly as they stood: never recomputed."""

        board_key: str
        update_id: UUID
        health: str
        summary: str
        since: datetime
        until: datetime
        figures: dict[str, Any]
        markdown: str

        def apply(self, board: Board) -> None:
            board.last_update_until = self.until

    class Archived(StorylineAggregate.Event):
        """The board left the lists; its stories and sprints take no more changes."""

        def apply(self, board: Board) -> None:
            board.archived = True

    @classmethod
    def create(
        cls,
        key: str,
        name: str,
        columns: list[Column] | None,
        stamp: Stamp,
        limits: Limits = DEFAULT_LIMITS,
    ) -> Board:
        if not BOARD_KEY.fullmatch(check_text(key, "key")):
            raise ValidationError("a board key is 2 to 10 upper-case letters, like PAY", field="key")
        name = clean_text(name, "name", max_length=100, label="board name")
        cleaned = validate_columns(DEFAULT_COLUMNS if columns is None else columns, limits)
        check_occurred_at(None, stamp)
        return cls._create(
            cls.Created, id=board_id(key), key=key, name=name, columns=cleaned, **stamp.fields()
        )

    @property
    def calendar(self) -> dict[str, Any]:
        """WorkingCalendar.fields(); boards snapshotted before calendars existed have the default one."""
        found: dict[str, Any] = self.__dict__.get("working_calendar", DEFAULT_CALENDAR)
        return found

    def column(self, key: str) -> Column | None:
        return next((column for column in self.columns if column["key"] == key), None)

    def category_of(self, column_key: str) -> StatusCategory:
        """A column's category; a story left in a column removed concurrently counts as not started."""
        column = self.column(column_key)
        return StatusCategory(column["category"]) if column else StatusCategory.TODO

    def first_column(self, category: StatusCategory) -> str:
        return next(column["key"] for column in self.columns if column["category"] == category)

    def configure_columns(self, columns: list[Column], stamp: Stamp, limits: Limits = DEFAULT_LIMITS) -> None:
        """Columns already checked against the stories in them (``rules.configure_columns``)."""
        cleaned = validate_columns(columns, limits)
        self._record(self.ColumnsConfigured, stamp, columns=cleaned, previous=self.columns)

    def configure_calendar(self, calendar: WorkingCalendar, stamp: Stamp) -> None:
        """Records the calendar if it differs from the current one. Closed sprints keep the
        calendar they closed with: the read models look it up as of their completion."""
        if calendar.fields() != self.calendar:
            self._record(self.CalendarConfigured, stamp, calendar=calendar.fields(), previous=self.calendar)

    def grant_role(self, user: str, role: Role, stamp: Stamp) -> None:
        user = clean_text(user, "user", max_length=100, label="user name")
        if self.roles.get(user) == role.value:
            return
        if role != Role.ADMIN:
            self._check_not_last_admin(user)
        self._record(self.RoleGranted, stamp, user=user, role=role.value, previous=self.roles.get(user))

    def revoke_role(self, user: str, stamp: Stamp) -> None:
        if check_text(user, "user") not in self.roles:
            raise ValidationError(f"{user} has no role on {self.key}", field="user")
        self._check_not_last_admin(user)
        self._record(self.RoleRevoked, stamp, user=user, previous=self.roles[user])

    def check_member(self, user: str | None, field: str) -> None:
        """Work goes only to people with a role on the board (None: to no one)."""
        if user is not None and user not in self.roles:
            raise ValidationError(
                f"{user} is not a member of {self.key}; grant them a role first", field=field
            )

    def _check_not_last_admin(self, user: str) -> None:
        """Revoking or demoting the only admin would leave the board without one."""
        admins = [name for name, role in self.roles.items() if role == Role.ADMIN.value]
        if admins == [user]:
            raise ValidationError(f"{user} is the last admin of {self.key}", field="user")

    def check_not_archived(self, field: str) -> None:
        if self.archived:
            raise InvalidTransitionError(f"board {self.key} is archived; it takes no changes", field=field)

    def archive(self, stamp: Stamp) -> None:
        self.check_not_archived("boardKey")
        self._record(self.Archived, stamp)

    def check_no_active_sprint(self) -> None:
        if self.active_sprint_id is not None:
            raise InvalidTransitionError(
                f"board {self.key} already has an active sprint; complete it first", field="sprintId"
            )

    def activate_sprint(self, sprint_id: UUID, stamp: Stamp) -> None:
        self.check_no_active_sprint()
        self._record(self.SprintActivated, stamp, sprint_id=sprint_id)

    def deactivate_sprint(self, sprint_id: UUID, stamp: Stamp) -> None:
        assert self.active_sprint_id == sprint_id
        self._record(self.SprintDeactivated, stamp, sprint_id=sprint_id)

    def set_budget(self, budget: Budget, minor_unit: int, reason: str | None, stamp: Stamp) -> None:
        if not re.fullmatch(r"[A-Z]{3}", budget["currency"]):
            raise ValidationError("a currency is an ISO 4217 code, like EUR", field="currency")
        check_money(budget["amount"], "amount", minor_unit)
        check_money(budget["rate"], "rate")
        CostBasis(budget["basis"])
        if budget == self.budget:
            raise ValidationError(f"the budget of {self.key} is already exactly that", field="amount")
        reason = reason.strip() if reason and reason.strip() else None
        if reason is not None:
            reason = clean_text(reason, "reason", max_length=1000, label="a reason")
        self._record(self.BudgetSet, stamp, board_key=self.key, **budget, reason=reason, previous=self.budget)

    def publish_status_update(
        self,
        update_id: UUID,
        health: str,
        summary: str,
        since: datetime,
        until: datetime,
        figures: dict[str, Any],
        markdown: str,
        stamp: Stamp,
    ) -> None:
        summary = clean_text(summary, "summary", max_length=MAX_SUMMARY, label="a summary")
        self._record(
            self.StatusUpdatePublished,
            stamp,
            board_key=self.key,
            update_id=update_id,
            health=health,
            summary=summary,
            since=since,
            until=until,
            figures=figures,
            markdown=markdown,
        )


class KeySequence(StorylineAggregate):
    """Issues a board's story and epic numbers, gap-free, and new stories' bottom ranks.

    Kept apart from :class:`Board` so that creating stories does not change the
    board's version, which clients use for optimistic concurrency.
    """

    def __init__(self, board_key: str) -> None:
        self.board_key = board_key
        self.last_story_number = 0
        self.last_epic_number = 0
        self.last_rank: str | None = None

    class Created(StorylineAggregate.Created):
        board_key: str

    class StoryNumberIssued(StorylineAggregate.Event):
        number: int
        rank: str

        def apply(self, sequence: KeySequence) -> None:
            sequence.last_story_number = self.number
            sequence.last_rank = self.rank

    class EpicNumberIssued(StorylineAggregate.Event):
        number: int

        def apply(self, sequence: KeySequence) -> None:
            sequence.last_epic_number = self.number

    class StoryKeyKept(StorylineAggregate.Event):
        """An imported story keeps the key it had elsewhere; new numbers stay above it."""

        key: str
        rank: str

        def apply(self, sequence: KeySequence) -> None:
            sequence.last_rank = self.rank
            prefix, _, number = self.key.rpartition("-")
            if prefix == sequence.board_key:
                sequence.last_story_number = max(sequence.last_story_number, int(number))

    @classmethod
    def create(cls, board_key: str, stamp: Stamp) -> KeySequence:
        return cls._create(cls.Created, id=key_sequence_id(board_key), board_key=board_key, **stamp.fields())

    @property
    def next_story_key(self) -> str:
        return f"{self.board_key}-{self.last_story_number + 1}"

    def issue_story_key(self, stamp: Stamp, rank: str | None = None) -> tuple[str, str]:
        """The next key, and ``rank`` (as the board's placement gave it) or one after the last issued."""
        key, rank = self.next_story_key, rank or rank_after(self.last_rank)
        self._record(self.StoryNumberIssued, stamp, number=self.last_story_number + 1, rank=rank)
        return key, rank

    def keep_story_key(self, key: str, stamp: Stamp, rank: str | None = None) -> str:
        """Keeps an imported story's own key, e.g. TIMOB-1234 on any board; returns its rank:
        ``rank`` (as the board's placement gave it) or one after the last issued."""
        if not KEPT_STORY_KEY.match(key):
            raise ValidationError(f"{key!r} is not a story key like ABC-12", field="key")
        rank = rank or rank_after(self.last_rank)
        self._record(self.StoryKeyKept, stamp, key=key, rank=rank)
        return rank

    def issue_epic_key(self, stamp: Stamp, limits: Limits = DEFAULT_LIMITS) -> str:
        if self.last_epic_number >= limits.max_epics:
            raise ValidationError(f"a board has at most {limits.max_epics} epics", field="boardKey")
        number = self.last_epic_number + 1
        self._record(self.EpicNumberIssued, stamp, number=number)
        return f"{self.board_key}-E{number}"


def role_allows(role: str | None, needed: Role) -> bool:
    order = list(Role)
    return role is not None and order.index(Role(role)) >= order.index(needed)


def as_columns(raw: list[dict[str, Any]]) -> list[Column]:
    """Columns from primitive input, with an absent WIP limit meaning none."""
    return [
        {"key": c["key"], "name": c["name"], "category": c["category"], "wip_limit": c.get("wip_limit")}
        for c in raw
    ]
