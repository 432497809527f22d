"""Boards: the workflow, the people on it, and the sequence that issues keys."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from typing import Any, TypedDict
from uuid import NAMESPACE_URL, UUID, uuid5

from storyline_domain.base import Stamp, StorylineAggregate, check_occurred_at
from storyline_domain.errors import InvalidTransitionError, ValidationError
from storyline_domain.ranking import rank_after

BOARD_KEY = re.compile(r"^[A-Z]{2,10}$")
COLUMN_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,29}$")
NAMESPACE = uuid5(NAMESPACE_URL, "https://storyline.dev/ids")


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


@cache
def board_id(key: str) -> UUID:
    return uuid5(NAMESPACE, f"board/{key}")


def key_sequence_id(board_key: str) -> UUID:
    return uuid5(NAMESPACE, f"board/{board_key}/keys")


def clean_text(value: str, field: str, *, max_length: int, label: str) -> str:
    text = value.strip()
    if not 1 <= len(text) <= max_length:
        raise ValidationError(f"{label} must be 1 to {max_length} characters", field=field)
    return text


def validate_columns(columns: list[Column]) -> list[Column]:
    cleaned: list[Column] = []
    seen: set[str] = set()
    for index, column in enumerate(columns):
        field = f"columns.{index}"
        key = column["key"]
        if not COLUMN_KEY.match(key):
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


class Board(StorylineAggregate):
    """A team's board: its workflow columns, its roles and its one active sprint."""

    def __init__(self, key: str, name: str, columns: list[Column], actor: str) -> None:
        self.key = key
        self.name = name
        self.columns = columns
        self.roles: dict[str, str] = {actor: Role.ADMIN.value}
        self.active_sprint_id: UUID | None = None

    class Created(StorylineAggregate.Created):
        key: str
        name: str
        columns: list[Column]

    class ColumnsConfigured(StorylineAggregate.Event):
        columns: list[Column]
        previous: list[Column]

        def apply(self, board: Board) -> None:
            board.columns = self.columns

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

    @classmethod
    def create(cls, key: str, name: str, columns: list[Column] | None, stamp: Stamp) -> Board:
        if not BOARD_KEY.match(key):
            raise ValidationError("a board key is 2 to 10 upper-case letters, like PAY", field="key")
        name = clean_text(name, "name", max_length=100, label="board name")
        cleaned = validate_columns(DEFAULT_COLUMNS if columns is None else columns)
        check_occurred_at(None, stamp)
        return cls._create(
            cls.Created, id=board_id(key), key=key, name=name, columns=cleaned, **stamp.fields()
        )

    def column(self, key: str) -> Column | None:
        return next((column for column in self.columns if column["key"] == key), None)

    def category_of(self, column_key: str) -> StatusCategory:
        """A column's category; a story left in a column removed concurrently counts as not started."""
        column = self.column(column_key)
        return StatusCategory(column["category"]) if column else StatusCategory.TODO

    def first_column(self, category: StatusCategory) -> str:
        return next(column["key"] for column in self.columns if column["category"] == category)

    def configure_columns(self, columns: list[Column], occupied: set[str], stamp: Stamp) -> None:
        cleaned = validate_columns(columns)
        kept = {column["key"] for column in cleaned}
        stranded = sorted(occupied - kept)
        if stranded:
            raise ValidationError(
                f"columns {', '.join(stranded)} still hold stories; move them first", field="columns"
            )
        self._record(self.ColumnsConfigured, stamp, columns=cleaned, previous=self.columns)

    def grant_role(self, user: str, role: Role, stamp: Stamp) -> None:
        user = clean_text(user, "user", max_length=100, label="user name")
        if self.roles.get(user) == role.value:
            return
        if role != Role.ADMIN:
            self._check_not_last_admin(user)
        self._record(self.RoleGranted, stamp, user=user, role=role.value, previous=self.roles.get(user))

    def revoke_role(self, user: str, stamp: Stamp) -> None:
        if user not in self.roles:
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

    @classmethod
    def create(cls, board_key: str, stamp: Stamp) -> KeySequence:
        return cls._create(cls.Created, id=key_sequence_id(board_key), board_key=board_key, **stamp.fields())

    def issue_story_key(self, stamp: Stamp) -> tuple[str, str]:
        number, rank = self.last_story_number + 1, rank_after(self.last_rank)
        self._record(self.StoryNumberIssued, stamp, number=number, rank=rank)
        return f"{self.board_key}-{number}", rank

    def issue_epic_key(self, stamp: Stamp) -> str:
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
