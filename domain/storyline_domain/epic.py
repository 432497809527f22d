"""Epics: large bodies of work that stories roll up into, and milestones with a target date."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID, uuid5

from storyline_domain.base import Stamp, StorylineAggregate, check_occurred_at
from storyline_domain.board import NAMESPACE, clean_text
from storyline_domain.errors import ValidationError
from storyline_domain.limits import DEFAULT_LIMITS, Limits


class Health(StrEnum):
    ON_TRACK = "ON_TRACK"
    AT_RISK = "AT_RISK"
    OFF_TRACK = "OFF_TRACK"


def epic_id(key: str) -> UUID:
    return uuid5(NAMESPACE, f"epic/{key}")


MAX_REASON = 1000  # of a target date's move or a health override


def clean_reason(reason: str | None, field: str = "reason") -> str:
    return clean_text(reason or "", field, max_length=MAX_REASON, label="a reason")


class Epic(StorylineAggregate):
    def __init__(self, key: str, board_key: str, title: str, target_date: date | None) -> None:
        self.key = key
        self.board_key = board_key
        self.title = title
        self.target_date = target_date
        self.health_override: str | None = None

    class Created(StorylineAggregate.Created):
        key: str
        board_key: str
        title: str
        target_date: date | None

    class TargetDateSet(StorylineAggregate.Event):
        epic_key: str
        board_key: str
        previous: date | None
        target_date: date | None
        reason: str

        def apply(self, epic: Epic) -> None:
            epic.target_date = self.target_date

    class HealthOverridden(StorylineAggregate.Event):
        epic_key: str
        previous: str | None
        health: str
        reason: str

        def apply(self, epic: Epic) -> None:
            epic.health_override = self.health

    class HealthOverrideCleared(StorylineAggregate.Event):
        epic_key: str
        previous: str
        reason: str | None

        def apply(self, epic: Epic) -> None:
            epic.health_override = None

    @classmethod
    def create(
        cls,
        board_key: str,
        key: str,
        title: str,
        target_date: date | None,
        stamp: Stamp,
        limits: Limits = DEFAULT_LIMITS,
    ) -> Epic:
        title = clean_text(title, "title", max_length=200, label="an epic title")
        if target_date is not None:
            limits.check_date(target_date, "targetDate")
        check_occurred_at(None, stamp)
        return cls._create(
            cls.Created,
            id=epic_id(key),
            key=key,
            board_key=board_key,
            title=title,
            target_date=target_date,
            **stamp.fields(),
        )

    def set_target_date(self, target_date: date | None, reason: str, stamp: Stamp) -> None:
        """Every change of the milestone is kept with its reason; a move to a later date (or
        dropping the date) always needs one."""
        if target_date == self.target_date:
            raise ValidationError(
                f"{self.key} already targets {target_date or 'no date'}", field="targetDate"
            )
        later = self.target_date is not None and (target_date is None or target_date > self.target_date)
        if later or reason.strip():
            reason = clean_reason(reason)
        self._record(
            self.TargetDateSet,
            stamp,
            epic_key=self.key,
            board_key=self.board_key,
            previous=self.target_date,
            target_date=target_date,
            reason=reason.strip(),
        )

    def set_health(self, health: Health | None, reason: str | None, stamp: Stamp) -> None:
        """Overrides the derived health with a reason, or (``health`` None) goes back to the derived one."""
        if health is None:
            if self.health_override is None:
                raise ValidationError(f"the health of {self.key} is not overridden", field="health")
            cleared = reason.strip() if reason and reason.strip() else None
            self._record(
                self.HealthOverrideCleared,
                stamp,
                epic_key=self.key,
                previous=self.health_override,
                reason=cleared,
            )
            return
        self._record(
            self.HealthOverridden,
            stamp,
            epic_key=self.key,
            previous=self.health_override,
            health=health.value,
            reason=clean_reason(reason),
        )
