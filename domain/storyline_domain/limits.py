"""Bounds on what a caller controls. The service builds them from its settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from storyline_domain.errors import ValidationError


@dataclass(frozen=True)
class Limits:
    max_columns: int = 50
    max_epics: int = 200
    max_labels: int = 20
    max_label_length: int = 50
    max_sprint_days: int = 56  # eight weeks
    max_bulk_items: int = 100  # items of one bulk command (createStories, addStoriesToSprint)
    earliest_date: date = date(1970, 1, 1)
    latest_date: date = date(2200, 12, 31)

    def check_date(self, value: date | datetime, field: str) -> None:
        day = value.date() if isinstance(value, datetime) else value
        if not self.earliest_date <= day <= self.latest_date:
            raise ValidationError(
                f"{field} must lie between {self.earliest_date} and {self.latest_date}", field=field
            )


DEFAULT_LIMITS = Limits()
