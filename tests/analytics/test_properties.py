"""Property test: over random histories the analytics agree with a naive in-memory replay."""

from __future__ import annotations

import itertools
import string
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storyline_domain.errors import DomainError
from storyline_domain.story import Story
from storyline_service import analytics
from storyline_service.application import Caller
from storyline_service.bootstrap import Runtime
from tests.analytics import reference
from tests.helpers import at, importing

COLUMNS = [
    {"key": "TODO", "name": "To Do", "category": "TODO"},
    {"key": "DOING", "name": "Doing", "category": "IN_PROGRESS"},
    {"key": "REVIEW", "name": "Review", "category": "IN_PROGRESS"},
    {"key": "DONE", "name": "Done", "category": "DONE"},
    {"key": "SHIPPED", "name": "Shipped", "category": "DONE"},
]
POINTS = st.sampled_from([None, 0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0])
STORY = st.integers(0, 7)
GAP = st.integers(1, 600)  # minutes since the previous command: business time only moves forward

MOVE = st.tuples(st.just("move"), STORY, st.sampled_from([c["key"] for c in COLUMNS]))
ADD = st.tuples(st.just("add"), STORY, st.booleans())
# Moves, sprint changes and re-estimates come often; the rest now and then.
OPS = st.one_of(
    MOVE,
    MOVE,
    MOVE,
    ADD,
    ADD,
    st.tuples(st.just("create"), POINTS),
    st.tuples(st.just("estimate"), STORY, POINTS),
    st.tuples(st.just("estimate"), STORY, POINTS),
    st.tuples(st.just("remove"), STORY, st.booleans()),
    st.tuples(st.just("block"), STORY),
    st.tuples(st.just("unblock"), STORY),
    st.tuples(st.just("archive"), STORY),
    st.tuples(st.just("plan"), st.integers(-2, 3), st.integers(0, 6)),
    st.tuples(st.just("start"), st.just(None)),
    st.tuples(st.just("start"), st.just(None)),
    st.tuples(st.just("complete"), st.booleans()),
    st.tuples(st.just("complete"), st.booleans()),
)
STEPS = st.lists(st.tuples(OPS, GAP), min_size=10, max_size=60)
START = at("2025-03-03 08:00")
boards = (f"P{a}{b}" for a, b in itertools.product(string.ascii_uppercase, repeat=2))


def run(runtime: Runtime, board: str, steps: list[tuple[tuple[Any, ...], int]]) -> tuple[list[str], datetime]:
    """Runs the commands, skipping the ones the domain refuses; returns the sprint ids and the clock."""
    app, clock = runtime.app, START
    sprints: list[str] = []
    actors = itertools.cycle(["alice", "bob"])

    def caller() -> Caller:
        return Caller(next(actors), occurred_at=clock)

    def in_state(state: str) -> list[str]:
        return [s for s in sprints if app.repository.get(UUID(s)).state == state]

    def open_sprints() -> list[str]:
        return in_state("ACTIVE") + in_state("PLANNED")

    setup = Caller("alice", occurred_at=clock)
    app.create_board(importing(setup), board, "Random", COLUMNS)
    app.grant_role(setup, board, "bob", "ADMIN")
    created = 0
    for (kind, *args), gap in steps:
        clock += timedelta(minutes=gap)
        story = f"{board}-{args[0] % created + 1}" if created and args and isinstance(args[0], int) else None
        try:
            match kind:
                case "create":
                    app.create_story(caller(), board, "Story", points=args[0])
                    created += 1
                case "plan":
                    first = clock.date() + timedelta(days=args[0])
                    sprints.append(
                        app.create_sprint(caller(), board, "S", first, first + timedelta(days=args[1]))
                    )
                case "start" if in_state("PLANNED"):
                    app.start_sprint(caller(), in_state("PLANNED")[0])
                case "complete" if in_state("ACTIVE"):
                    planned = in_state("PLANNED")
                    target = planned[-1] if args[0] and planned else None
                    app.complete_sprint(caller(), in_state("ACTIVE")[0], carry_over_to=target)
                case _ if story is None:
                    pass
                case "estimate":
                    app.estimate_story(caller(), story, args[1])
                case "move":
                    app.move_story(caller(), story, args[1])
                case "add" | "remove" if open_sprints():
                    # The active sprint, or else (or when asked) the last planned one.
                    target = open_sprints()[-1 if args[1] else 0]
                    change = app.add_story_to_sprint if kind == "add" else app.remove_story_from_sprint
                    change(caller(), target, story)
                case "block":
                    app.block_story(caller(), story, "waiting")
                case "unblock":
                    app.unblock_story(caller(), story)
                case "archive":
                    app.archive_story(caller(), story)
        except DomainError:
            pass  # refused: nothing was recorded
    return sprints, clock + timedelta(hours=1)


def board_events(events: list[Any], board: str) -> list[Any]:
    """The events of one board's aggregates (each example has a board of its own)."""
    ids: set[UUID] = set()
    kept = []
    for event in events:
        owner = getattr(event, "board_key", None) or getattr(event, "key", None)
        if owner == board or event.originator_id in ids:
            ids.add(event.originator_id)
            kept.append(event)
    return kept


def ours(report: analytics.SprintReport) -> dict[str, Any]:
    found = asdict(report)
    del found["commitment_reliability"]
    found["added"] = [(c.story_key, c.points, c.at, c.actor) for c in report.added]
    found["removed"] = [(c.story_key, c.points, c.at, c.actor) for c in report.removed]
    found["reestimated"] = [
        (r.story_key, r.from_points, r.to_points, r.at, r.actor) for r in report.reestimated
    ]
    return found


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
def test_analytics_match_a_replay_of_the_log(
    runtime: Runtime, steps: list[tuple[tuple[Any, ...], int]]
) -> None:
    board = next(boards)
    # Every history starts with four stories, three of them in a planned sprint.
    # Points are multiples of 0.5, so sums are exact and compare with ==.
    opening: list[tuple[tuple[Any, ...], int]] = [
        *[(("create", p), 1) for p in (3.0, None, 2.0, 5.0)],
        (("plan", 0, 4), 1),
        *[(("add", n, False), 1) for n in range(3)],
    ]
    sprints, now = run(runtime, board, [*opening, *steps])
    events = board_events(reference.log(runtime.app), board)
    for sprint in sprints:
        assert ours(analytics.sprint_report(runtime.engine, sprint, now)) == reference.report(
            events, sprint, now
        )
        points = analytics.burndown(runtime.engine, sprint, now.date())
        row = runtime.app.repository.get(UUID(sprint))
        if row.state == "PLANNED":
            assert points == []
        else:
            replayed = reference.burndown(events, sprint, row.start_date, now.date())
            assert [(p.date, p.scope_points, p.completed_points) for p in points] == replayed
    keys = [e.key for e in events if isinstance(e, Story.Created)]
    times = analytics.story_times(runtime.engine, keys, now)
    clocks = {key: reference.story_clock(events, key, now) for key in keys}
    for key, (hours, cycle, lead, _) in clocks.items():
        found = times[key]
        assert {d.column: d.hours for d in found.time_in_status} == pytest.approx(hours), key
        assert [d.column for d in found.time_in_status] == [c["key"] for c in COLUMNS if c["key"] in hours]
        assert found.cycle_time_hours == pytest.approx(cycle), key
        assert found.lead_time_hours == pytest.approx(lead), key
    # Flow over the second half of the history: the stories whose completion falls in it.
    start = START + (now - START) / 2
    done = [c for c in clocks.values() if c[3] is not None and start <= c[3] < now]
    metrics = analytics.flow(runtime.engine, board, start, now)
    assert metrics.throughput == len(done)
    assert metrics.cycle_time == analytics.percentiles(c[1] for c in done if c[1] is not None)
    assert metrics.lead_time == analytics.percentiles(c[2] for c in done if c[2] is not None)
