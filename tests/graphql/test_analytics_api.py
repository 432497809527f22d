"""Analytics and time travel through the HTTP API, on the scripted PAY board of tests/analytics/scenario.py.

The service-level tests check every number of the scenario by hand. Here each
GraphQL answer must equal what the service computes on the same database, and
the headline hand-computed numbers (docs/metrics.md) are asserted again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event
from starlette.requests import Request

from storyline_domain.calendar import WorkingCalendar
from storyline_graphql.context import Context, sign_in
from storyline_graphql.schema import build_schema
from storyline_service import analytics
from storyline_service.application import Caller
from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.cadence import Cadence
from tests.analytics.scenario import Pay, build_pay
from tests.graphql.conftest import Server, create_board, new_board_key

REPORT_FIELDS = """
  committedCount committedPoints completedCount completedPoints committedCompletedPoints
  commitmentReliability scopeChangePoints
  added { story { key } points at actor }
  removed { story { key } points at actor }
  reestimated { story { key } from to at actor }
  carriedOver { key }
"""
SPRINT = f"""query($id: ID!) {{ sprint(id: $id) {{
  report {{ {REPORT_FIELDS} }}
  burndown {{ date scopePoints completedPoints remainingPoints idealRemainingPoints }}
}} }}"""
VELOCITY = """query($key: String!, $last: Int) { board(key: $key) { velocity(lastSprints: $last) {
  sprints { sprint { id name } committedPoints completedPoints }
  averageCompletedPoints averageCommittedPoints
} } }"""
FLOW = """query($key: String!, $from: DateTime, $to: DateTime) { board(key: $key) {
  flow(from: $from, to: $to) {
  throughput
  cycleTime { p50 p85 p95 mean }
  leadTime { p50 p85 p95 mean }
  cumulativeFlow { date counts { column count } }
} } }"""
FORECAST = """query($key: String!, $input: ForecastInput!) { board(key: $key) { forecast(input: $input) {
  remainingPoints sampleSprints sprintsP50 sprintsP85 sprintsP95 dateP50 dateP85 dateP95 reason
} } }"""
TIMES = """
  key timeInStatus { column hours } cycleTimeHours leadTimeHours blockedHours
"""
STORY_TIMES = f"""query($key: String!, $first: Int) {{ board(key: $key) {{
  stories(first: $first) {{ edges {{ node {{ {TIMES} }} }} }}
}} }}"""
SNAPSHOT = "key title points status assignee sprintId blocked version"
STORY_AS_OF = f"""query($key: String!, $at: DateTime!) {{
  story(key: $key) {{ asOf(at: $at) {{ {SNAPSHOT} }} }}
}}"""
BOARD_AS_OF = f"""query($key: String!, $at: DateTime!) {{
  board(key: $key) {{ asOf(at: $at) {{ at columns {{ key name stories {{ {SNAPSHOT} }} }} }} }}
}}"""


def iso(moment: str) -> str:
    """A UTC instant from 'YYYY-MM-DD HH:MM[:SS.ffffff]', as the API writes it."""
    return datetime.fromisoformat(moment).replace(tzinfo=UTC).isoformat()


@pytest.fixture(scope="module")
def writer(server: Server) -> Iterator[Runtime]:
    """Writes in-process to the server's database, waiting for its own projections after each change."""
    runtime = bootstrap(server.settings)
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def pay(writer: Runtime) -> Pay:
    return build_pay(writer)


def only(server: Server, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The one error of a request that must fail, with its data."""
    body = server.request(query, variables)
    [error] = body["errors"]
    return dict(error)


def validation_message(server: Server, query: str, variables: dict[str, Any]) -> str:
    error = only(server, query, variables)
    assert error["extensions"]["code"] == "VALIDATION", error
    return str(error["message"])


# ----- sprints -----


def change_json(change: analytics.ScopeChange) -> dict[str, Any]:
    return {
        "story": {"key": change.story_key},
        "points": change.points,
        "at": change.at.isoformat(),
        "actor": change.actor,
    }


def report_json(report: analytics.SprintReport) -> dict[str, Any]:
    return {
        "committedCount": report.committed_count,
        "committedPoints": report.committed_points,
        "completedCount": report.completed_count,
        "completedPoints": report.completed_points,
        "committedCompletedPoints": report.committed_completed_points,
        "commitmentReliability": report.commitment_reliability,
        "scopeChangePoints": report.scope_change_points,
        "added": [change_json(c) for c in report.added],
        "removed": [change_json(c) for c in report.removed],
        "reestimated": [
            {
                "story": {"key": r.story_key},
                "from": r.from_points,
                "to": r.to_points,
                "at": r.at.isoformat(),
                "actor": r.actor,
            }
            for r in report.reestimated
        ],
        "carriedOver": [{"key": key} for key in report.carried_over],
    }


def burn_json(point: analytics.BurnPoint) -> dict[str, Any]:
    return {
        "date": point.date.isoformat(),
        "scopePoints": point.scope_points,
        "completedPoints": point.completed_points,
        "remainingPoints": point.remaining_points,
        "idealRemainingPoints": point.ideal_remaining_points,
    }


def test_closed_sprints_report_and_burn_down_as_the_service_computes(server: Server, pay: Pay) -> None:
    for sprint_id in (pay.s1, pay.s2, pay.s3, pay.s4):
        sprint = server.post(SPRINT, {"id": sprint_id})["sprint"]
        report, points = analytics.sprint_report_and_burndown(server.runtime.engine, sprint_id)
        assert sprint["report"] == report_json(report)
        assert sprint["burndown"] == [burn_json(p) for p in points]


def test_sprint_1_by_hand(server: Server, pay: Pay) -> None:
    sprint = server.post(SPRINT, {"id": pay.s1})["sprint"]
    report = sprint["report"]
    # Committed PAY-1 3 + PAY-2 5 + PAY-3 null + PAY-4 2;
    # completed PAY-1 (5 after its re-estimate), PAY-3 and PAY-6 (1).
    assert (report["committedCount"], report["committedPoints"]) == (4, 10)
    assert (report["completedCount"], report["completedPoints"]) == (3, 6)
    assert (report["committedCompletedPoints"], report["commitmentReliability"]) == (3, 0.3)
    assert report["added"] == [
        {"story": {"key": "PAY-6"}, "points": 1, "at": iso("2026-01-07 13:00"), "actor": "bob"},
        {"story": {"key": "PAY-4"}, "points": 2, "at": iso("2026-01-08 09:00"), "actor": "bob"},
    ]
    assert report["removed"] == [
        {"story": {"key": "PAY-4"}, "points": 2, "at": iso("2026-01-07 14:00"), "actor": "bob"}
    ]
    assert report["reestimated"] == [
        {"story": {"key": "PAY-1"}, "from": 3, "to": 5, "at": iso("2026-01-07 12:00"), "actor": "alice"}
    ]
    assert report["carriedOver"] == [{"key": "PAY-2"}, {"key": "PAY-4"}]
    assert report["scopeChangePoints"] == 3
    burndown = sprint["burndown"]
    assert [p["date"] for p in burndown] == [f"2026-01-{day:02}" for day in range(5, 13)]
    assert [(p["scopePoints"], p["completedPoints"]) for p in burndown] == [
        (10, 0),
        (10, 0),
        (11, 5),
        (13, 5),
        (13, 5),
        (13, 5),
        (13, 5),
        (13, 6),  # measured at completion, 17:00
    ]
    assert [p["idealRemainingPoints"] for p in burndown] == [8, 6, 4, 2, 0, 0, 0, 0]
    # Sprint 2 carries PAY-4 over a second time.
    carried = server.post(SPRINT, {"id": pay.s2})["sprint"]["report"]["carriedOver"]
    assert carried == [{"key": "PAY-4"}, {"key": "PAY-5"}]


def test_active_sprint_is_measured_now_and_burns_down_through_today(server: Server, pay: Pay) -> None:
    sprint = server.post(SPRINT, {"id": pay.s5})["sprint"]
    report = sprint["report"]
    assert (report["committedCount"], report["committedPoints"]) == (2, 3)  # PAY-7 3, PAY-8 null
    assert (report["completedCount"], report["completedPoints"]) == (1, 3)  # PAY-7, done on 3 Feb
    assert report["carriedOver"] == []
    burndown = sprint["burndown"]
    first_days = [(p["scopePoints"], p["completedPoints"], p["idealRemainingPoints"]) for p in burndown[:3]]
    assert first_days == [(3, 0, pytest.approx(2.4)), (3, 3, pytest.approx(1.8)), (3, 3, pytest.approx(1.2))]
    assert burndown[-1]["date"] == datetime.now(UTC).date().isoformat()


def test_planned_sprint_has_an_empty_report_and_no_burndown(server: Server, writer: Runtime) -> None:
    board = create_board(server)
    sprint_id = writer.app.create_sprint(Caller("alice"), board, "Next", date(2030, 1, 1), date(2030, 1, 5))
    sprint = server.post(SPRINT, {"id": sprint_id})["sprint"]
    assert sprint["burndown"] == []
    assert (sprint["report"]["committedCount"], sprint["report"]["commitmentReliability"]) == (0, None)


# ----- velocity, flow and forecast -----


def test_velocity(server: Server, pay: Pay) -> None:
    velocity = server.post(VELOCITY, {"key": "PAY"})["board"]["velocity"]
    sprints = [(s["sprint"]["id"], s["committedPoints"], s["completedPoints"]) for s in velocity["sprints"]]
    assert sprints == [(pay.s1, 10, 6), (pay.s2, 15, 5), (pay.s3, 10, 10), (pay.s4, 0, 0)]
    assert (velocity["averageCommittedPoints"], velocity["averageCompletedPoints"]) == (8.75, 5.25)
    last_two = server.post(VELOCITY, {"key": "PAY", "last": 2})["board"]["velocity"]
    assert [s["sprint"]["name"] for s in last_two["sprints"]] == ["Sprint 3", "Sprint 4"]
    assert last_two["averageCompletedPoints"] == 5
    assert "at least 1" in validation_message(server, VELOCITY, {"key": "PAY", "last": 0})
    empty = server.post(VELOCITY, {"key": create_board(server)})["board"]["velocity"]
    assert empty == {"sprints": [], "averageCompletedPoints": None, "averageCommittedPoints": None}


def flow_json(metrics: analytics.FlowMetrics) -> dict[str, Any]:
    def percentiles(p: analytics.Percentiles | None) -> dict[str, float] | None:
        return None if p is None else {"p50": p.p50, "p85": p.p85, "p95": p.p95, "mean": p.mean}

    return {
        "throughput": metrics.throughput,
        "cycleTime": percentiles(metrics.cycle_time),
        "leadTime": percentiles(metrics.lead_time),
        "cumulativeFlow": [
            {
                "date": day.date.isoformat(),
                "counts": [{"column": c.column, "count": c.count} for c in day.counts],
            }
            for day in metrics.cumulative_flow
        ],
    }


def test_flow_over_the_first_two_weeks(server: Server, pay: Pay) -> None:
    start, end = "2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z"
    flow = server.post(FLOW, {"key": "PAY", "from": start, "to": end})["board"]["flow"]
    engine = server.runtime.engine
    expected = analytics.flow(engine, "PAY", datetime.fromisoformat(start), datetime.fromisoformat(end))
    assert flow == flow_json(expected)
    # PAY-1, PAY-3, PAY-6 and PAY-2; cycle times 6, 25, 97 h (PAY-6 has none); lead 146, 175, 265, 289 h.
    assert flow["throughput"] == 4
    assert flow["cycleTime"] == pytest.approx({"p50": 25, "p85": 75.4, "p95": 89.8, "mean": 128 / 3})
    assert flow["leadTime"] == pytest.approx({"p50": 220, "p85": 278.2, "p95": 285.4, "mean": 218.75})
    assert len(flow["cumulativeFlow"]) == 14

    short = server.post(FLOW, {"key": "PAY", "from": "2026-01-06T00:00:00Z", "to": "2026-01-09T00:00:00Z"})
    counts = [
        [c["count"] for c in day["counts"]] for day in short["board"]["flow"]["cumulativeFlow"]
    ]  # TODO, DOING, REVIEW, DONE at the end of 6, 7 and 8 Jan
    assert counts == [[5, 0, 1, 0], [5, 0, 0, 1], [4, 0, 0, 2]]


def test_flow_window_defaults_to_the_last_30_days_and_is_bounded(server: Server, pay: Pay) -> None:
    flow = server.post(FLOW, {"key": "PAY"})["board"]["flow"]
    today = datetime.now(UTC).date()
    assert len(flow["cumulativeFlow"]) in (30, 31)
    assert flow["cumulativeFlow"][-1]["date"] == today.isoformat()
    assert (flow["throughput"], flow["cycleTime"], flow["leadTime"]) == (0, None, None)  # all in January
    # Only `to`: the 30 days before it.
    until = server.post(FLOW, {"key": "PAY", "to": "2026-01-19T00:00:00Z"})["board"]["flow"]
    assert until["cumulativeFlow"][0]["date"] == "2025-12-20"

    def refused(variables: dict[str, str]) -> str:
        return validation_message(server, FLOW, {"key": "PAY", **variables})

    assert "400 days" in refused({"from": "2025-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"})
    assert "400 days" in refused({"from": "2020-01-01T00:00:00Z"})
    assert "before" in refused({"from": "2026-01-09T00:00:00Z", "to": "2026-01-08T00:00:00Z"})
    assert "offset" in refused({"from": "2026-01-05T00:00:00"})


def test_forecast(server: Server, pay: Pay) -> None:
    def forecast(input: dict[str, Any], board: str = "PAY") -> dict[str, Any]:
        return dict(server.post(FORECAST, {"key": board, "input": input})["board"]["forecast"])

    # Sprints 3 and 4 completed 10 and 0: 85% of futures finish 4 points within 3 sprints, 95% within 5.
    input = {"remainingPoints": 4, "lastSprints": 2, "seed": 7}
    result = forecast(input)
    assert (result["sampleSprints"], result["sprintsP85"], result["sprintsP95"]) == (2, 3, 5)
    assert result["reason"] is None
    # After the active Sprint 5 ends (Friday 6 February), 3 sprints of 5 working days (the median
    # planned length of Sprints 3 and 4): Friday 27 February.
    assert result["dateP85"] == "2026-02-27"
    assert forecast(input) == result  # same seed, same answer
    service = analytics.forecast(server.runtime.engine, "PAY", 4, last_sprints=2, seed=7)
    assert result["sprintsP50"] == service.sprints_p50
    # Unfinished now: PAY-8 (null) + PAY-9 (4) + PAY-10 (6); of the epic: PAY-8 and PAY-9.
    assert forecast({"seed": 1})["remainingPoints"] == 10
    assert forecast({"epicKey": pay.epic, "seed": 1})["remainingPoints"] == 4

    nothing = forecast({"remainingPoints": 5}, board=create_board(server))
    assert (nothing["sampleSprints"], nothing["remainingPoints"]) == (0, 5)
    assert [nothing[f"{kind}P{q}"] for kind in ("sprints", "date") for q in (50, 85, 95)] == [None] * 6
    assert "no closed sprints" in nothing["reason"]


def test_a_forecast_cannot_run_away_or_overflow(server: Server, pay: Pay) -> None:
    # Sprints 3 and 4 completed 10 and 0 points: 10^12 points would take 10^11 simulated sprints.
    far = dict(server.post(FORECAST, {"key": "PAY", "input": {"remainingPoints": 1e12, "lastSprints": 2}}))
    result = far["board"]["forecast"]
    assert "more than 1000 sprints" in result["reason"]
    assert [result[f"{kind}P{q}"] for kind in ("sprints", "date") for q in (50, 85, 95)] == [None] * 6
    # Near the last date there is, the dates past it are unknown rather than an OverflowError.
    # Sprints of 5 working days from Monday 9999-12-20: one ends on the 27th, two past the calendar.
    late = Cadence(WorkingCalendar(), continues_after=date(9999, 12, 20), sprint_length=5)
    assert (late.finish_date(1), late.finish_date(2)) == (date(9999, 12, 27), None)


@pytest.mark.parametrize(
    ("input", "message"),
    [
        ({"lastSprints": 0}, "lastSprints must be at least 1"),
        ({"simulations": 0}, "simulations must be 1 to 100000"),
        ({"simulations": 100_001}, "simulations must be 1 to 100000"),
        ({"remainingPoints": -1}, "remainingPoints must be 0 or more"),
        ({"epicKey": "NOPE-1"}, "board PAY has no epic NOPE-1"),
        ({"epicKey": "NOPE-1", "remainingPoints": 3}, "not both"),
    ],
)
def test_forecast_refuses_bad_input(server: Server, pay: Pay, input: dict[str, Any], message: str) -> None:
    error = only(server, FORECAST, {"key": "PAY", "input": input})
    assert message in error["message"]
    assert error["extensions"]["code"] == "VALIDATION"


# ----- stories -----


def test_story_times(server: Server, pay: Pay) -> None:
    edges = server.post(STORY_TIMES, {"key": "PAY"})["board"]["stories"]["edges"]
    times = {edge["node"]["key"]: edge["node"] for edge in edges}
    service = analytics.story_times(server.runtime.engine, list(times))
    for key, story in times.items():
        expected = service[key]
        assert (story["cycleTimeHours"], story["leadTimeHours"]) == (
            expected.cycle_time_hours,
            expected.lead_time_hours,
        )
        # The current column, and an open block, count up to now: a moment apart here and there.
        assert story["blockedHours"] == pytest.approx(expected.blocked_hours, abs=0.1)
        assert story["timeInStatus"] == [
            {"column": d.column, "hours": pytest.approx(d.hours, abs=0.1)} for d in expected.time_in_status
        ]
    pay1 = times["PAY-1"]
    assert [(d["column"], d["hours"]) for d in pay1["timeInStatus"][:3]] == [
        ("TODO", 121),
        ("DOING", 7),
        ("REVIEW", 18),
    ]
    assert (pay1["cycleTimeHours"], pay1["leadTimeHours"], pay1["blockedHours"]) == (25, 146, 0)
    assert (times["PAY-2"]["cycleTimeHours"], times["PAY-2"]["leadTimeHours"]) == (97, 289)  # re-opened
    assert (times["PAY-3"]["cycleTimeHours"], times["PAY-3"]["leadTimeHours"]) == (6, 175)
    assert times["PAY-5"]["blockedHours"] == 24
    assert (times["PAY-6"]["cycleTimeHours"], times["PAY-6"]["leadTimeHours"]) == (None, 265)
    assert (times["PAY-9"]["cycleTimeHours"], times["PAY-9"]["leadTimeHours"]) == (None, None)


def test_story_as_of_just_before_and_after_a_change(server: Server, pay: Pay) -> None:
    def as_of(at: str, key: str = "PAY-1") -> Any:
        return server.post(STORY_AS_OF, {"key": key, "at": at})["story"]["asOf"]

    # PAY-1 moved to DONE at 7 Jan 11:00, was re-estimated 3 -> 5 at 12:00.
    before, after = as_of(iso("2026-01-07 10:59:59.999999")), as_of(iso("2026-01-07 11:00"))
    assert (before["status"], after["status"], after["version"]) == ("DOING", "DONE", before["version"] + 1)
    assert [as_of(iso(moment))["points"] for moment in ("2026-01-07 11:59:59", "2026-01-07 12:00")] == [3, 5]
    assert before["sprintId"] == pay.s1 and before["blocked"] is False
    assert as_of(iso("2026-01-01 08:59:59")) is None  # not created yet
    blocked = [as_of(iso(moment), "PAY-5")["blocked"] for moment in ("2026-01-14 10:59", "2026-01-14 11:00")]
    assert blocked == [False, True]
    # A time in the future: the story as it stands now.
    current = server.post(
        """{ story(key: "PAY-1") {
            key title points status { key } assignee sprint { id } blocked version
        } }"""
    )["story"]
    future = as_of("2100-01-01T00:00:00+02:00")
    assert future == {
        "key": "PAY-1",
        "title": current["title"],
        "points": current["points"],
        "status": current["status"]["key"],
        "assignee": current["assignee"],
        "sprintId": current["sprint"] and current["sprint"]["id"],
        "blocked": current["blocked"],
        "version": current["version"],
    }
    assert "offset" in validation_message(server, STORY_AS_OF, {"key": "PAY-1", "at": "2026-01-07T11:00:00"})


def test_board_as_of_just_before_and_after_a_change(server: Server, pay: Pay) -> None:
    def as_of(at: str) -> dict[str, list[str]]:
        snapshot = server.post(BOARD_AS_OF, {"key": "PAY", "at": at})["board"]["asOf"]
        assert snapshot["at"] == datetime.fromisoformat(at).astimezone(UTC).isoformat()
        return {c["key"]: [s["key"] for s in c["stories"]] for c in snapshot["columns"]}

    # PAY-1 moved to DONE at 7 Jan 11:00; PAY-3 was still in TODO.
    assert as_of(iso("2026-01-07 10:59:59.999999")) == {
        "TODO": ["PAY-2", "PAY-3", "PAY-4", "PAY-5", "PAY-6"],
        "DOING": ["PAY-1"],
        "REVIEW": [],
        "DONE": [],
    }
    assert as_of(iso("2026-01-07 11:00"))["DONE"] == ["PAY-1"]
    # The DONE column was renamed Shipped on 14 Jan at 12:00; its key, and its stories, stayed.
    names = [
        [
            c["name"]
            for c in server.post(BOARD_AS_OF, {"key": "PAY", "at": iso(moment)})["board"]["asOf"]["columns"]
        ]
        for moment in ("2026-01-14 11:59", "2026-01-14 12:00")
    ]
    assert names == [["To Do", "Doing", "Review", "Done"], ["To Do", "Doing", "Review", "Shipped"]]
    assert as_of(iso("2026-01-01 07:59")) == {}  # before the board existed

    # A time in the future: the board as it stands, story for story.
    snapshot = server.post(BOARD_AS_OF, {"key": "PAY", "at": "2100-01-01T00:00:00Z"})["board"]["asOf"]
    current = server.post(
        """{ board(key: "PAY") { columns { key name stories { edges { node {
            key title points status { key } assignee sprint { id } blocked version
        } } } } } }"""
    )["board"]["columns"]
    assert snapshot["columns"] == [
        {
            "key": column["key"],
            "name": column["name"],
            "stories": [
                {
                    **{f: node[f] for f in ("key", "title", "points", "assignee", "blocked", "version")},
                    "status": node["status"]["key"],
                    "sprintId": node["sprint"] and node["sprint"]["id"],
                }
                for node in (edge["node"] for edge in column["stories"]["edges"])
            ],
        }
        for column in current
    ]


# ----- cost: statements per request, counted in-process -----


def statements(server: Server, query: str, variables: dict[str, Any]) -> int:
    """SQL statements an operation reads with, run through the schema as alice.

    Sign-in and the rate limit's bookkeeping (an insert or an update) are left out."""
    schema = build_schema(server.runtime.settings)
    headers = [(b"authorization", f"Bearer {server.token('alice')}".encode())]
    request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": headers})
    engine = server.runtime.engine
    count = 0

    def counted(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        nonlocal count
        count += conn.engine is engine  # not the rate limit's, which writes through the derived engine

    async def run() -> None:
        context = Context(request=request, runtime=server.runtime, correlation_id="test")
        await sign_in(context)
        event.listen(engine, "before_cursor_execute", counted)
        try:
            result = await schema.execute(query, variables, context_value=context)
        finally:
            event.remove(engine, "before_cursor_execute", counted)
        assert result.errors is None, result.errors

    asyncio.run(run())
    return count


def test_story_times_of_a_page_load_in_a_bounded_number_of_statements(
    server: Server, writer: Runtime
) -> None:
    board = new_board_key()
    alice = Caller("alice")
    writer.app.create_board(alice, board, "Busy")
    for n in range(50):
        key = writer.app.create_story(alice, board, f"Story {n}", points=n % 5)
        writer.app.move_story(alice, key, "IN_PROGRESS")
        if n % 2:
            writer.app.move_story(alice, key, "DONE")
        if n % 3 == 0:
            writer.app.block_story(alice, key, "waiting")
    few = statements(server, STORY_TIMES, {"key": board, "first": 5})
    page = statements(server, STORY_TIMES, {"key": board, "first": 50})
    assert page == few <= 12, (few, page)


def test_report_and_burndown_together_read_the_sprint_once(server: Server, pay: Pay) -> None:
    report_only = f"query($id: ID!) {{ sprint(id: $id) {{ report {{ {REPORT_FIELDS} }} }} }}"
    assert statements(server, SPRINT, {"id": pay.s1}) == statements(server, report_only, {"id": pay.s1})
