"""The risk register: risks of a board, scored by probability and impact, and what became of them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from storyline_domain.base import Stamp, StorylineAggregate, check_occurred_at
from storyline_domain.board import NAMESPACE, clean_text
from storyline_domain.errors import InvalidTransitionError, ValidationError
from storyline_domain.text import check_text


class RiskState(StrEnum):
    OPEN = "OPEN"
    MITIGATING = "MITIGATING"
    CLOSED = "CLOSED"
    OCCURRED = "OCCURRED"


# OPEN -> MITIGATING -> CLOSED, or OCCURRED on the way; a closed risk may be reopened.
TRANSITIONS: dict[str, set[str]] = {
    RiskState.OPEN: {RiskState.MITIGATING, RiskState.CLOSED, RiskState.OCCURRED},
    RiskState.MITIGATING: {RiskState.OPEN, RiskState.CLOSED, RiskState.OCCURRED},
    RiskState.OCCURRED: {RiskState.CLOSED},
    RiskState.CLOSED: {RiskState.OPEN},
}
EDITABLE_FIELDS = ("title", "description", "probability", "impact", "owner", "mitigation")
MAX_DESCRIPTION = 5000
MAX_NOTE = 1000  # owner, mitigation


def risk_id(key: str) -> UUID:
    return uuid5(NAMESPACE, f"risk/{key}")


def risk_register_id(board_key: str) -> UUID:
    return uuid5(NAMESPACE, f"board/{board_key}/risks")


def check_rating(value: Any, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
        raise ValidationError(f"{field} is rated 1 to 5", field=field)
    return value


def optional_text(value: str | None, field: str, max_length: int) -> str | None:
    if value is None or not value.strip():
        return None
    return clean_text(value, field, max_length=max_length, label=f"a {field}")


def clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for field, value in fields.items():
        if field == "title":
            cleaned[field] = clean_text(value or "", "title", max_length=200, label="a risk title")
        elif field in ("probability", "impact"):
            cleaned[field] = check_rating(value, field)
        elif field == "description":
            cleaned[field] = check_text(value or "", field, multiline=True).strip()
            if len(cleaned[field]) > MAX_DESCRIPTION:
                raise ValidationError(f"a description has at most {MAX_DESCRIPTION} characters", field=field)
        elif field in ("owner", "mitigation"):
            cleaned[field] = optional_text(value, field, MAX_NOTE)
        else:
            raise ValidationError(f"{field} cannot be edited", field=field)
    return cleaned


class RiskRegister(StorylineAggregate):
    """Issues a board's risk numbers (PAY-R1, PAY-R2, ...), gap-free."""

    def __init__(self, board_key: str) -> None:
        self.board_key = board_key
        self.last_number = 0

    class Created(StorylineAggregate.Created):
        board_key: str

    class RiskNumberIssued(StorylineAggregate.Event):
        number: int

        def apply(self, register: RiskRegister) -> None:
            register.last_number = self.number

    @classmethod
    def create(cls, board_key: str, stamp: Stamp) -> RiskRegister:
        return cls._create(cls.Created, id=risk_register_id(board_key), board_key=board_key, **stamp.fields())

    def issue_key(self, stamp: Stamp) -> str:
        number = self.last_number + 1
        self._record(self.RiskNumberIssued, stamp, number=number)
        return f"{self.board_key}-R{number}"


class Risk(StorylineAggregate):
    def __init__(
        self,
        key: str,
        board_key: str,
        title: str,
        description: str,
        probability: int,
        impact: int,
        owner: str | None,
        mitigation: str | None,
    ) -> None:
        self.key = key
        self.board_key = board_key
        self.title = title
        self.description = description
        self.probability = probability
        self.impact = impact
        self.owner = owner
        self.mitigation = mitigation
        self.state: str = RiskState.OPEN
        self.story_keys: list[str] = []
        self.epic_keys: list[str] = []

    @property
    def score(self) -> int:
        return self.probability * self.impact

    class Created(StorylineAggregate.Created):
        key: str
        board_key: str
        title: str
        description: str
        probability: int
        impact: int
        owner: str | None
        mitigation: str | None

    class Updated(StorylineAggregate.Event):
        changes: dict[str, list[Any]]  # field -> [before, after]

        def apply(self, risk: Risk) -> None:
            for field, (_, after) in self.changes.items():
                setattr(risk, field, after)

    class StateChanged(StorylineAggregate.Event):
        previous: str
        state: str
        note: str | None

        def apply(self, risk: Risk) -> None:
            risk.state = self.state

    class Linked(StorylineAggregate.Event):
        story_keys: list[str]
        epic_keys: list[str]
        previous_story_keys: list[str]
        previous_epic_keys: list[str]

        def apply(self, risk: Risk) -> None:
            risk.story_keys = self.story_keys
            risk.epic_keys = self.epic_keys

    @classmethod
    def create(cls, board_key: str, key: str, fields: dict[str, Any], stamp: Stamp) -> Risk:
        cleaned = clean_fields({"description": "", "owner": None, "mitigation": None, **fields})
        check_occurred_at(None, stamp)
        return cls._create(
            cls.Created, id=risk_id(key), key=key, board_key=board_key, **cleaned, **stamp.fields()
        )

    def update(self, fields: dict[str, Any], stamp: Stamp) -> None:
        cleaned = clean_fields(fields)
        changes = {f: [getattr(self, f), v] for f, v in cleaned.items() if getattr(self, f) != v}
        if not changes:
            raise ValidationError("nothing to change", field=next(iter(fields), None))
        self._record(self.Updated, stamp, changes=changes)

    def set_state(self, state: RiskState, note: str | None, stamp: Stamp) -> None:
        if state.value not in TRANSITIONS[self.state]:
            raise InvalidTransitionError(
                f"{self.key} cannot go from {self.state} to {state.value}", field="state"
            )
        self._record(
            self.StateChanged,
            stamp,
            previous=self.state,
            state=state.value,
            note=optional_text(note, "note", 1000),
        )

    def link(self, story_keys: list[str] | None, epic_keys: list[str] | None, stamp: Stamp) -> None:
        """Sets the linked stories and/or epics (a list left out keeps its links)."""
        stories = self.story_keys if story_keys is None else sorted(set(story_keys))
        epics = self.epic_keys if epic_keys is None else sorted(set(epic_keys))
        if stories == self.story_keys and epics == self.epic_keys:
            raise ValidationError("nothing to change", field="storyKeys")
        self._record(
            self.Linked,
            stamp,
            story_keys=stories,
            epic_keys=epics,
            previous_story_keys=self.story_keys,
            previous_epic_keys=self.epic_keys,
        )
