"""Closed books: what a CLOSED sprint's report and burndown say is as at its completion, whatever is
recorded later; and the working calendar over the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from storyline_service.application import Caller
from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.projections.rebuild import rebuild
from tests.graphql.conftest import Server, mutate, new_board_key
from tests.graphql.test_analytics_api import REPORT_FIELDS
from tests.helpers import backfill, importing

# Only what belongs to the sprint's books: stories by key (a title is the story's, not the sprint's).
CLOSED_BOOKS = f"""query($id: ID!) {{ sprint(id: $id) {{
  state completedAt
  report {{ {REPORT_FIELDS} carriedOverStories {{ story {{ key }} points }} }}
  burndown {{ date scopePoints completedPoints remainingPoints idealRemainingPoints workingDay }}
}} }}"""
CARRIED_TODAY = """query($id: ID!) { sprint(id: $id) { report { carriedOver { key points } } } }"""
CALENDAR = (
    """query($key: String!) { board(key: $key) { version calendar { workingDays holidays timeZone } } }"""
)
ALICE = Caller("alice")


@pytest.fixture(scope="module")
def writer(server: Server) -> Iterator[Runtime]:
    runtime = bootstrap(server.settings)
    yield runtime
    runtime.close()


def closed_sprint(writer: Runtime) -> tuple[str, str]:
    """A board with one sprint, Mon 2 - Fri 13 Mar 2026, closed Fri 13 Mar 17:00: PAY-1 (5) done,
    PAY-2 (3) carried over to the backlog; PAY-3 (2) joined on Wed 4 Mar."""
    app, board = writer.app, new_board_key()
    app.create_board(importing(backfill("alice", "2026-02-27 09:00")), board, "Books")
    one, two, three = (
        app.create_story(backfill("alice", "2026-02-27 10:00"), board, title, points=points)
        for title, points in (("One", 5), ("Two", 3), ("Three", 2))
    )
    sprint = app.create_sprint(
        backfill("alice", "2026-02-27 11:00"),
        board,
        "Books 1",
        date.fromisoformat("2026-03-02"),
        date.fromisoformat("2026-03-13"),
    )
    for key in (one, two):
        app.add_story_to_sprint(backfill("alice", "2026-02-27 12:00"), sprint, key)
    app.start_sprint(backfill("alice", "2026-03-02 09:00"), sprint)
    app.add_story_to_sprint(backfill("alice", "2026-03-04 10:00"), sprint, three)
    app.move_story(backfill("alice", "2026-03-05 10:00"), one, "DONE")
    app.move_story(backfill("alice", "2026-03-06 10:00"), three, "DONE")
    app.complete_sprint(backfill("alice", "2026-03-13 17:00"), sprint)
    return board, sprint


def books(server: Server, sprint: str) -> bytes:
    """The report and burndown as the server sends them, byte for byte."""
    response = server.client().post("/graphql", json={"query": CLOSED_BOOKS, "variables": {"id": sprint}})
    assert response.status_code == 200 and b'"errors"' not in response.content, response.text
    return response.content


def test_a_closed_sprint_reads_the_same_after_everything_that_can_change(
    server: Server, writer: Runtime
) -> None:
    board, sprint = closed_sprint(writer)
    one, two, three = (f"{board}-{n}" for n in (1, 2, 3))
    before = books(server, sprint)
    carried = server.post(CLOSED_BOOKS, {"id": sprint})["sprint"]["report"]["carriedOverStories"]
    assert carried == [{"story": {"key": two}, "points": 3}]

    app = writer.app
    # Re-estimates, edits and moves of stories done in it and carried over from it.
    app.estimate_story(ALICE, one, 8)
    app.estimate_story(ALICE, two, 13)
    app.update_story(ALICE, one, {"title": "One, renamed"})
    app.move_story(ALICE, one, "TODO")
    app.move_story(ALICE, two, "DONE")
    app.block_story(ALICE, three, "late")
    app.archive_story(ALICE, three)
    # A new calendar: a Sydney team that never worked Mondays.
    app_calendar = mutate(
        server,
        "configureCalendar",
        {
            "boardKey": board,
            "workingDays": ["TUESDAY", "WEDNESDAY", "THURSDAY"],
            "timeZone": "Australia/Sydney",
        },
        "board { key }",
    )
    assert app_calendar["errors"] == []
    # Another sprint, started and closed, with a story done in the first one.
    later = app.create_sprint(
        ALICE, board, "Books 2", date.fromisoformat("2026-03-16"), date.fromisoformat("2026-03-27")
    )
    app.add_story_to_sprint(ALICE, later, one)
    app.start_sprint(ALICE, later)
    app.complete_sprint(ALICE, later)
    # And the read models rebuilt from the log.
    rebuild(writer.projector, writer.projector.projections)

    assert books(server, sprint) == before
    # The old field shows the story as it is now; carriedOverStories keeps the points at completion.
    now = server.post(CARRIED_TODAY, {"id": sprint})["sprint"]["report"]["carriedOver"]
    assert now == [{"key": two, "points": 13}]


def test_a_backfill_into_closed_books_is_refused_and_names_the_sprint(
    server: Server, writer: Runtime
) -> None:
    board, sprint = closed_sprint(writer)
    before = books(server, sprint)
    head = server.head()
    done = f"{board}-1"
    for field, input in [
        ("moveStory", {"storyKey": done, "toColumn": "TODO"}),
        ("estimateStory", {"storyKey": done, "points": 13}),
        ("updateStory", {"storyKey": done, "title": "Rewritten"}),
    ]:
        payload = mutate(server, field, {**input, "occurredAt": "2026-03-10T12:00:00Z"}, "story { key }")
        [error] = payload["errors"]
        assert (error["code"], error["field"]) == ("INVALID_TRANSITION", "occurredAt"), error
        assert "Books 1" in error["message"]
    # The carried-over story changed sprint at completion: its own history refuses anything earlier.
    carried = mutate(
        server,
        "estimateStory",
        {"storyKey": f"{board}-2", "points": 1, "occurredAt": "2026-03-10T12:00:00Z"},
        "story { key }",
    )
    assert carried["errors"] and carried["story"] is None
    assert server.head() == head
    assert books(server, sprint) == before
    # After completion the books are not touched: a backfill dated later is accepted.
    later = mutate(
        server,
        "moveStory",
        {"storyKey": done, "toColumn": "TODO", "occurredAt": "2026-03-14T09:00:00Z"},
        "story { key }",
    )
    assert later["errors"] == []
    assert books(server, sprint) == before


def test_configure_calendar_is_recorded_and_served(server: Server, writer: Runtime) -> None:
    board = new_board_key()
    writer.app.create_board(ALICE, board, "Calendar")
    default = server.post(CALENDAR, {"key": board})["board"]
    assert default["calendar"] == {
        "workingDays": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
        "holidays": [],
        "timeZone": "UTC",
    }
    input = {
        "boardKey": board,
        "workingDays": ["FRIDAY", "MONDAY", "TUESDAY"],
        "holidays": ["2026-12-25", "2026-12-24", "2026-12-25"],
        "timeZone": "Australia/Sydney",
        "expectedVersion": default["version"],
    }
    payload = mutate(
        server, "configureCalendar", input, "board { version calendar { workingDays holidays timeZone } }"
    )
    assert payload["errors"] == []
    assert payload["board"] == {
        "version": default["version"] + 1,
        "calendar": {
            "workingDays": ["MONDAY", "TUESDAY", "FRIDAY"],
            "holidays": ["2026-12-24", "2026-12-25"],
            "timeZone": "Australia/Sydney",
        },
    }
    history = server.post(
        "query($key: String!) { auditLog(filter: {boardKey: $key, eventTypes: [BOARD_CALENDAR]}) "
        "{ edges { node { actor summary } } } }".replace("BOARD_CALENDAR", '"BoardCalendarConfigured"'),
        {"key": board},
    )
    [entry] = history["auditLog"]["edges"]
    assert entry["node"] == {
        "actor": "alice",
        "summary": f"alice set the calendar of {board}: Monday, Tuesday, Friday in Australia/Sydney, "
        "2 holidays",
    }


@pytest.mark.parametrize(
    ("input", "field"),
    [
        ({"workingDays": [], "timeZone": "UTC"}, "workingDays"),
        ({"workingDays": ["MONDAY", "MONDAY"]}, "workingDays"),
        ({"workingDays": ["MONDAY"], "timeZone": "Mars/Olympus_Mons"}, "timeZone"),
        ({"workingDays": ["MONDAY"], "timeZone": "../../etc/passwd"}, "timeZone"),
    ],
)
def test_a_bad_calendar_is_refused_and_changes_nothing(
    server: Server, writer: Runtime, input: dict[str, Any], field: str
) -> None:
    board = new_board_key()
    writer.app.create_board(ALICE, board, "Calendar")
    head = server.head()
    payload = mutate(server, "configureCalendar", {"boardKey": board, **input}, "board { key }")
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("VALIDATION", field)]
    assert server.head() == head
    assert server.post(CALENDAR, {"key": board})["board"]["calendar"]["timeZone"] == "UTC"
