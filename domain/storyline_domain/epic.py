"""Epics: large bodies of work that stories roll up into."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid5

from storyline_domain.base import Stamp, StorylineAggregate, check_occurred_at
from storyline_domain.board import NAMESPACE, clean_text
from storyline_domain.limits import DEFAULT_LIMITS, Limits


def epic_id(key: str) -> UUID:
    return uuid5(NAMESPACE, f"epic/{key}")


class Epic(StorylineAggregate):
    def __init__(self, key: str, board_key: str, title: str, target_date: date | None) -> None:
        self.key = key
        self.board_key = board_key
        self.title = title
        self.target_date = target_date

    class Created(StorylineAggregate.Created):
        key: str
        board_key: str
        title: str
        target_date: date | None

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
