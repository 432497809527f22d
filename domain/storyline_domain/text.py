"""One rule for text, whatever the backend: what every string input may contain.

PostgreSQL cannot store NUL in text, and SQLite can; control characters and
bidirectional overrides in a title or a name make a board lie about what it
shows. Refusing them here keeps both backends able to store every recorded event.
"""

from __future__ import annotations

import re

from storyline_domain.errors import ValidationError

# C0 and C1 controls and DEL, and lone surrogates (JSON can carry them, UTF-8 cannot).
# Newline and tab are allowed in multi-line text only.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_MULTILINE_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# Bidirectional embeddings, overrides and isolates: they reorder how text around them reads.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def check_text(value: str, field: str, *, multiline: bool = False) -> str:
    """Returns ``value`` unchanged, or refuses it with a VALIDATION error naming ``field``.

    Single-line text (keys, titles, names, labels, users, reasons) refuses every control
    character and bidirectional controls; multi-line text (descriptions, goals) allows
    newline and tab."""
    found = (_MULTILINE_CONTROL if multiline else _CONTROL).search(value)
    if found is not None:
        raise ValidationError(
            f"{field} must not contain the control character U+{ord(found.group()):04X}", field=field
        )
    if not multiline:
        found = _BIDI.search(value)
        if found is not None:
            raise ValidationError(
                f"{field} must not contain the bidirectional control U+{ord(found.group()):04X}",
                field=field,
            )
    return value
