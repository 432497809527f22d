"""Cleans imported text of what Storyline refuses, visibly: a replacement character marks each spot."""

from __future__ import annotations

import re

MARK = "\ufffd"
# C0 and C1 control characters, except tab and newline which multi-line text keeps.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidirectional embeddings, overrides and isolates, which can disguise single-line text.
BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
LINE_BREAKS = re.compile(r"\r\n?")


class TextCleaner:
    """Counts what it cleaned, for the import's summary."""

    def __init__(self) -> None:
        self.cleaned = 0  # characters replaced
        self.shortened = 0  # texts cut to the length Storyline allows

    def multi_line(self, text: str | None, limit: int) -> str:
        text = LINE_BREAKS.sub("\n", text or "")
        text, count = CONTROL.subn(MARK, text)
        self.cleaned += count
        return self._fit(text, limit)

    def single_line(self, text: str | None, limit: int) -> str:
        text = (text or "").replace("\t", " ")
        text = LINE_BREAKS.sub(" ", text).replace("\n", " ")
        text, controls = CONTROL.subn(MARK, text)
        text, overrides = BIDI.subn(MARK, text)
        self.cleaned += controls + overrides
        return self._fit(text.strip(), limit)

    def _fit(self, text: str, limit: int) -> str:
        if len(text) <= limit:
            return text
        self.shortened += 1
        return text[: limit - 1] + "…"
