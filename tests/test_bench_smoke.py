"""The benchmark's data generator, run tiny: the history it writes is the one it reports.

No timings here: speed is measured by `make bench`, never asserted in tests.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bench.data import Shape, Summary, board_key, generate
from bench.measure import Report
from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.settings import Settings

TODAY = datetime.now(UTC).date()
SHAPE = Shape(sprints=3, sprint_stories=12)


def write(settings: Settings) -> tuple[Runtime, Summary]:
    runtime = bootstrap(settings, read_your_writes=False)
    summary = generate(runtime.app, seed=3, boards=2, shape=SHAPE, today=TODAY)
    runtime.projector.catch_up()
    return runtime, summary


def scalar(runtime: Runtime, sql: str, **params: object) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def test_the_generator_writes_what_it_reports(settings: Settings) -> None:
    runtime, summary = write(settings)
    try:
        assert summary.boards == ["BA", "BB"]
        assert summary.events == runtime.projector.head() > 0
        assert (
            summary.stories
            == summary.calls["create_story"]
            == scalar(runtime, "select count(*) from stories")
        )
        assert scalar(runtime, "select count(*) from sprints") == summary.sprints == 2 * SHAPE.sprints
        assert (
            scalar(runtime, "select count(*) from sprints where state = 'CLOSED'") == summary.closed_sprints
        )
        assert scalar(runtime, "select count(*) from sprints where state = 'ACTIVE'") == 2
        assert summary.moves == scalar(
            runtime, "select count(*) from audit_log where event_type = 'StoryMoved'"
        )
        carried = "select count(*) from sprint_memberships where carried_from is not null"
        assert scalar(runtime, carried) == summary.carried_over > 0
        removed = "select count(*) from sprint_memberships where left_reason = 'removed'"
        assert scalar(runtime, removed) == summary.removed_mid_sprint > 0
        assert summary.added_mid_sprint > 0
        assert summary.calls["estimate_story"] > 0 and summary.calls["block_story"] > 0
        for board, sprint_id in summary.active_sprints.items():
            members = "select count(*) from sprint_memberships where sprint_id = :s and left_at is null"
            assert scalar(runtime, members, s=sprint_id) == len(summary.active_members[board])
            assert len(summary.active_members[board]) >= SHAPE.sprint_stories
        # Backfilled across months, and nothing on or after today.
        assert summary.first_occurred_at and summary.last_occurred_at
        assert summary.last_occurred_at - summary.first_occurred_at > timedelta(days=14 * (SHAPE.sprints - 1))
        assert summary.last_occurred_at < datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC)
    finally:
        runtime.close()


def test_the_same_seed_and_day_give_the_same_history(tmp_path: object) -> None:
    summaries = []
    for name in ("one", "two"):
        runtime, summary = write(Settings(database_url=f"sqlite:///{tmp_path}/{name}.db"))
        runtime.close()
        summaries.append(summary)
    one, two = summaries
    assert one.calls == two.calls and one.events == two.events
    assert one.active_members == two.active_members
    assert (one.first_occurred_at, one.last_occurred_at) == (two.first_occurred_at, two.last_occurred_at)


def test_board_keys_are_valid_and_distinct() -> None:
    keys = [board_key(n) for n in range(800)]
    assert len(set(keys)) == 800
    assert all(key.isalpha() and key.isupper() and 2 <= len(key) <= 10 for key in keys)


def test_each_figure_is_one_json_line_with_its_baseline_and_ratio() -> None:
    stream = io.StringIO()
    Report(stream).emit("read.x.p95", 12.0, "ms", baseline=10.0, backend="sqlite", events=100)
    line = json.loads(stream.getvalue())
    assert {"metric", "value", "unit", "baseline", "ratio", "backend", "events"} <= line.keys()
    assert line["ratio"] == 1.2
