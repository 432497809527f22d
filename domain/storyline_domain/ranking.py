"""Lexicographic ranks: moving one story writes one new key, never renumbers the others."""

from __future__ import annotations

from fractional_indexing import generate_key_between

from storyline_domain.errors import ValidationError


def rank_after(rank: str | None) -> str:
    return str(generate_key_between(rank, None))


def rank_between(lower: str | None, upper: str | None) -> str:
    """A rank strictly between two neighbours; either may be open-ended."""
    if lower is not None and upper is not None and lower >= upper:
        raise ValidationError("'after' must rank above 'before'", field="before")
    return str(generate_key_between(lower, upper))
