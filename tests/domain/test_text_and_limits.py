"""One rule for text, and the bounds on what a caller controls, in every aggregate."""

from __future__ import annotations

from datetime import date

import pytest

from storyline_domain import rules
from storyline_domain.board import Board, Role
from storyline_domain.epic import Epic
from storyline_domain.errors import ValidationError
from storyline_domain.limits import Limits
from storyline_domain.sprint import Sprint
from storyline_domain.text import check_text
from tests.domain.conftest import Kit, column, refused, sprint_id

CONTROLS = ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\x9f"]
BIDI = ["\u202a", "\u202e", "\u2066", "\u2069"]


@pytest.mark.parametrize("bad", [*CONTROLS, "\n", "\t", "\r"])
def test_single_line_text_refuses_every_control_character(bad: str) -> None:
    with refused(ValidationError, code="VALIDATION", field="title", match="control character U\\+"):
        check_text(f"a{bad}b", "title")


@pytest.mark.parametrize("bad", BIDI)
def test_single_line_text_refuses_bidirectional_controls(bad: str) -> None:
    with refused(ValidationError, code="VALIDATION", field="labels", match="bidirectional control"):
        check_text(f"invoice{bad}fdp.exe", "labels")


def test_multi_line_text_allows_newline_and_tab_and_bidi_but_no_other_control() -> None:
    assert check_text("line one\n\tline two \u202e", "description", multiline=True)
    for bad in [*CONTROLS, "\r"]:
        with refused(ValidationError, code="VALIDATION", field="description", match="control"):
            check_text(f"a{bad}b", "description", multiline=True)


def test_plain_unicode_passes_unchanged() -> None:
    assert check_text("Zahlung per Karte – 支払い 🎉", "title") == "Zahlung per Karte – 支払い 🎉"


def test_every_aggregate_applies_the_rule_and_records_nothing(kit: Kit) -> None:
    story = kit.story()
    stamp = kit.clock.stamp()
    with refused(ValidationError, code="VALIDATION", field="title", match="U\\+0000", untouched=[story]):
        story.update({"title": "a\x00b"}, stamp)
    with refused(
        ValidationError, code="VALIDATION", field="description", match="U\\+0000", untouched=[story]
    ):
        story.update({"description": "a\x00b"}, stamp)
    with refused(ValidationError, code="VALIDATION", field="labels", match="U\\+202E", untouched=[story]):
        story.update({"labels": ["ok", "\u202egnp.exe"]}, stamp)
    with refused(ValidationError, code="VALIDATION", field="reason", match="U\\+000A", untouched=[story]):
        story.block("waiting\non legal", stamp)
    with refused(ValidationError, code="VALIDATION", field="assignee", match="U\\+0007", untouched=[story]):
        story.assign("bob\x07", stamp)
    board = kit.board
    with refused(ValidationError, code="VALIDATION", field="user", match="U\\+2066", untouched=[board]):
        board.grant_role("\u2066mallory", Role.MEMBER, stamp)
    with refused(ValidationError, code="VALIDATION", field="columns.1.name", match="U\\+0085"):
        rules.configure_columns(
            board, kit.placement, [column("TODO", "TODO"), column("DONE", "DONE", name="Done\x85")], stamp
        )
    with refused(ValidationError, code="VALIDATION", field="key", match="U\\+000A"):
        Board.create("PAY\n", "Payments", None, stamp)  # `$` alone would let a trailing newline through
    with refused(ValidationError, code="VALIDATION", field="columns.0.key", match="U\\+000A"):
        Board.create("PAY", "Payments", [column("TODO\n", "TODO"), column("DONE", "DONE")], stamp)
    with refused(ValidationError, code="VALIDATION", field="title", match="U\\+001B"):
        Epic.create("PAY", "PAY-E1", "\x1b[31mred", None, stamp)
    with refused(ValidationError, code="VALIDATION", field="name", match="U\\+202D"):
        Sprint.create(sprint_id("s"), "PAY", "\u202dS1", None, date(2030, 1, 1), date(2030, 1, 14), stamp)
    sprint = Sprint.create(
        sprint_id("g"),
        "PAY",
        "S1",
        "goal line one\ngoal line two",
        date(2030, 1, 1),
        date(2030, 1, 14),
        stamp,
    )
    assert sprint.goal == "goal line one\ngoal line two"


LIMITS = Limits(max_columns=3, max_labels=2, max_label_length=5, max_sprint_days=14)


def test_bounds_on_columns_labels_and_label_length(kit: Kit) -> None:
    stamp = kit.clock.stamp()
    four = [column("A", "TODO"), column("B", "TODO"), column("C", "DONE"), column("D", "DONE")]
    with refused(ValidationError, code="VALIDATION", field="columns", match="at most 3 columns"):
        Board.create("PAY", "Payments", four, stamp, LIMITS)
    with refused(ValidationError, code="VALIDATION", field="columns", match="at most 3 columns"):
        rules.configure_columns(kit.board, kit.placement, four, stamp, LIMITS)
    story = kit.story()
    with refused(
        ValidationError, code="VALIDATION", field="labels", match="at most 2 labels", untouched=[story]
    ):
        story.update({"labels": ["a", "b", "c"]}, stamp, LIMITS)
    with refused(
        ValidationError, code="VALIDATION", field="labels", match="at most 5 char", untouched=[story]
    ):
        story.update({"labels": ["abcdef"]}, stamp, LIMITS)
    story.update({"labels": ["ab", "cd"]}, stamp, LIMITS)
    assert story.labels == ["ab", "cd"]


@pytest.mark.parametrize(
    ("start", "end", "field", "match"),
    [
        (date(1, 1, 1), date(9999, 12, 31), "startDate", "between 1970-01-01 and 2200-12-31"),
        (date(2030, 1, 1), date(9999, 12, 31), "endDate", "between 1970-01-01 and 2200-12-31"),
        (date(2030, 1, 1), date(2030, 1, 15), "endDate", "at most 14 days"),
    ],
)
def test_sprint_dates_are_bounded(kit: Kit, start: date, end: date, field: str, match: str) -> None:
    stamp = kit.clock.stamp()
    with refused(ValidationError, code="VALIDATION", field=field, match=match):
        Sprint.create(sprint_id("x"), "PAY", "S", None, start, end, stamp, LIMITS)
    sprint = Sprint.create(
        sprint_id("y"), "PAY", "S", None, date(2030, 1, 1), date(2030, 1, 14), stamp, LIMITS
    )
    sprint.collect_events()
    with refused(ValidationError, code="VALIDATION", field=field, match=match, untouched=[sprint]):
        sprint.update({"start_date": start, "end_date": end}, stamp, LIMITS)


def test_an_epic_target_date_is_bounded(kit: Kit) -> None:
    with refused(ValidationError, code="VALIDATION", field="targetDate", match="between 1970"):
        Epic.create("PAY", "PAY-E1", "Cards", date(9999, 12, 31), kit.clock.stamp())
