"""Projections: equal to a fresh replay, exactly once under failure, rebuildable, audited, time-travelling."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import Column, Connection, MetaData, Table, select, text

from storyline_domain.story import story_id
from storyline_service.bootstrap import Runtime
from storyline_service.projections.base import collect_handlers
from storyline_service.projections.history import History
from storyline_service.projections.rebuild import meaningful_columns, rebuild, verify
from storyline_service.projections.runner import Projector
from storyline_service.readmodels import AuditEntryRow, StoryRow
from storyline_service.timetravel import board_as_of, story_as_of
from tests.helpers import ALICE, at
from tests.service.scenario import script_history

audit = AuditEntryRow.__table__  # type: ignore[attr-defined]
stories = StoryRow.__table__  # type: ignore[attr-defined]


def assert_matches_replay(runtime: Runtime) -> None:
    for projection in runtime.projector.projections:
        assert verify(runtime.projector, projection) == [], projection.name


def dump(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with runtime.engine.connect() as conn:
        for projection in runtime.projector.projections:
            for name, table in projection.t.by_name.items():
                tables[name] = sorted(map(repr, conn.execute(select(*meaningful_columns(table))).all()))
    return tables


def test_read_models_equal_a_fresh_replay(runtime: Runtime) -> None:
    script_history(runtime)
    assert_matches_replay(runtime)
    positions = runtime.projector.positions()
    assert set(positions.values()) == {runtime.projector.head()}


def test_verify_reports_a_tampered_read_model(runtime: Runtime) -> None:
    script_history(runtime)
    with runtime.write_engine.begin() as conn:
        conn.execute(stories.update().where(stories.c.key == "PAY-1").values(title="tampered"))
    current = next(p for p in runtime.projector.projections if p.name == "current")
    differences = verify(runtime.projector, current)
    assert any("tampered" in line for line in differences)


class Crash(BaseException):
    """A kill mid-batch: not an error of an event, so the projector does not retry around it."""


def crashing_history(after_writes: int) -> History:
    """History that dies part-way through a batch, between two row writes."""

    @collect_handlers
    class CrashingHistory(History):
        writes = 0

        def apply(self, conn: Connection, event: Any, position: int) -> None:
            super().apply(conn, event, position)
            CrashingHistory.writes += 1
            if CrashingHistory.writes == after_writes:
                raise Crash

    CrashingHistory.handlers = History.handlers
    return CrashingHistory()


def test_a_projector_killed_mid_batch_resumes_without_loss_or_duplicates(settings: Any) -> None:
    from storyline_service.bootstrap import bootstrap

    runtime = bootstrap(settings, read_your_writes=False)
    try:
        script_history(runtime)
        doomed = Projector(runtime.app, runtime.write_engine, [crashing_history(after_writes=17)])
        with pytest.raises(Crash):
            doomed.catch_up()
        with runtime.engine.connect() as conn:
            assert conn.execute(text("select count(*) from story_versions")).scalar() == 0
        runtime.projector.catch_up()
        assert_matches_replay(runtime)
        with runtime.engine.connect() as conn:
            assert conn.execute(select(audit.c.sequence)).scalars().all() == sorted(
                set(conn.execute(select(audit.c.sequence)).scalars())
            )
    finally:
        runtime.close()


def test_projectors_taking_turns_never_use_stale_rows(settings: Any) -> None:
    """Projections remember rows between batches; another process projecting in between must void that."""
    from storyline_service.bootstrap import bootstrap

    runtime = bootstrap(settings, read_your_writes=False)
    try:
        app, ours = runtime.app, runtime.projector
        theirs = Projector(app, runtime.engines.derived, reader=runtime.engine)
        app.create_board(ALICE, "OPS", "Operations")
        key = app.create_story(ALICE, "OPS", "Rotate keys", points=2)
        sprint = app.create_sprint(ALICE, "OPS", "Sprint 1", date(2026, 3, 2), date(2026, 3, 13))
        ours.catch_up()  # remembers the story's open version and the sprint's name
        app.estimate_story(ALICE, key, 5)
        app.update_sprint(ALICE, sprint, {"name": "Hardening"})
        theirs.catch_up()
        app.add_story_to_sprint(ALICE, sprint, key)
        app.move_story(ALICE, key, "IN_PROGRESS")
        ours.catch_up()
        assert_matches_replay(runtime)
        with runtime.engine.connect() as conn:
            summaries = conn.execute(select(audit.c.summary).order_by(audit.c.sequence)).scalars().all()
        assert any(summary.endswith("to Hardening") for summary in summaries), summaries
    finally:
        runtime.close()


def test_rebuild_gives_identical_tables(runtime: Runtime) -> None:
    script_history(runtime)
    before = dump(runtime)
    assert rebuild(runtime.projector, runtime.projector.projections) == runtime.projector.head()
    assert dump(runtime) == before
    runtime.app.move_story(ALICE, "PAY-3", "DONE")  # projections carry on after a rebuild
    assert_matches_replay(runtime)


def test_rebuild_fills_a_table_stored_with_its_columns_in_another_order(runtime: Runtime) -> None:
    """Databases written by older versions may store a read model's columns in another order."""
    script_history(runtime)
    before = dump(runtime)
    columns = [Column(c.name, c.type, primary_key=c.primary_key) for c in reversed(audit.columns)]
    with runtime.projector.engine.begin() as conn:
        conn.execute(text("DROP TABLE audit_log"))
        Table(audit.name, MetaData(), *columns).create(conn)
    rebuild(runtime.projector, runtime.projector.projections)
    assert dump(runtime) == before


def test_rebuild_keeps_text_with_tabs_newlines_and_backslashes(runtime: Runtime) -> None:
    """A replay writes many rows at once (COPY on PostgreSQL), where escapes could go wrong."""
    app = runtime.app
    app.create_board(ALICE, "OPS", "Operations")
    title = "C:\\temp\\N 'quoted' \"double\" \\t"
    description = "line one\n\tindented \\N\nend \\"
    keys = [app.create_story(ALICE, "OPS", title, description=description) for _ in range(3)]
    before = dump(runtime)
    rebuild(runtime.projector, runtime.projector.projections)
    assert dump(runtime) == before
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(stories.c.title, stories.c.description).where(stories.c.key.in_(keys)))
        assert set(rows) == {(title, description)}


def test_audit_log_has_summaries_and_before_after_values(runtime: Runtime) -> None:
    sprint = script_history(runtime)
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(audit).order_by(audit.c.sequence)).all()
    summaries = [row.summary for row in rows]
    assert "bob moved PAY-1 from Doing to Review" in summaries
    assert "bob estimated PAY-2 at 5 points (was 2 points)" in summaries
    assert "alice started Sprint 1 with 3 stories, 6 points committed" in summaries
    assert "alice removed PAY-3 (3 points) from Sprint 1" in summaries
    moved = next(row for row in rows if row.summary == "bob moved PAY-1 from Doing to Review")
    assert moved.changes == [{"field": "column", "from": "DOING", "to": "REVIEW"}]
    assert (moved.board_key, moved.entity_type, moved.entity_key, moved.event_type) == (
        "PAY",
        "Story",
        "PAY-1",
        "StoryMoved",
    )
    assert moved.occurred_at == at("2026-10-07 15:00") and moved.actor == "bob"
    assert moved.recorded_at > moved.occurred_at
    assert all(row.sprint_id == sprint for row in rows if row.entity_type == "Sprint")
    assert len(rows) == runtime.projector.head() - count_internal_events(runtime)


def count_internal_events(runtime: Runtime) -> int:
    """Key allocations and placements are bookkeeping, not changes people make (those are recorded
    on the stories too): they stay out of the audit log."""
    notifications = runtime.app.recorder.select_notifications(start=1, limit=10_000)
    internal = ("storyline_domain.board:KeySequence", "storyline_domain.placement:Placement")
    return sum(n.topic.startswith(internal) for n in notifications)


def test_as_of_queries_give_the_state_the_events_imply(runtime: Runtime) -> None:
    sprint = script_history(runtime)
    engine = runtime.engine
    assert story_as_of(engine, "PAY-1", at("2026-10-01 10:00")) is None
    card = story_as_of(engine, "PAY-1", at("2026-10-01 10:01"))
    assert card is not None and (card.status, card.points, card.sprint_id) == ("TODO", 1.0, None)
    just_before = story_as_of(engine, "PAY-1", at("2026-10-07 14:59"))
    just_after = story_as_of(engine, "PAY-1", at("2026-10-07 15:00"))
    assert just_before is not None and just_before.status == "DOING"
    assert just_after is not None and just_after.status == "REVIEW" and just_after.sprint_id == sprint

    board = board_as_of(engine, "PAY", at("2026-10-07 16:30"))
    assert board is not None
    by_column = {column.key: [s.key for s in column.stories] for column in board.columns}
    assert by_column == {"TODO": ["PAY-2", "PAY-3", "PAY-4"], "DOING": [], "REVIEW": ["PAY-1"], "DONE": []}
    blocked = next(s for c in board.columns for s in c.stories if s.key == "PAY-2")
    assert blocked.blocked and blocked.points == 5.0
    later = board_as_of(engine, "PAY", at("2026-10-12 11:00"))
    assert later is not None
    todo = next(column for column in later.columns if column.key == "TODO")
    assert [s.key for s in todo.stories] == ["PAY-4", "PAY-2", "PAY-3"]  # PAY-4 ranked above PAY-1
    assert board_as_of(engine, "PAY", at("2026-09-30 00:00")) is None


def test_read_your_writes(runtime: Runtime) -> None:
    runtime.app.create_board(ALICE, "PAY", "Payments")
    key = runtime.app.create_story(ALICE, "PAY", "Ping-pong")
    for n in range(30):
        column = ("IN_PROGRESS", "DONE", "TODO")[n % 3]
        runtime.app.move_story(ALICE, key, column)
        with runtime.engine.connect() as conn:
            assert conn.execute(select(stories.c.column).where(stories.c.key == key)).scalar() == column


def test_a_column_changing_category_mid_batch_keeps_history_whole(runtime: Runtime) -> None:
    """Re-categorising a column flushes the batch part-way; later changes in that batch must still land."""
    app = runtime.app
    app.create_board(ALICE, "OPS", "Operations")
    key = app.create_story(ALICE, "OPS", "Rotate keys")
    app.move_story(ALICE, key, "IN_PROGRESS")
    columns = [
        {"key": "TODO", "name": "To Do", "category": "TODO"},
        {"key": "IN_PROGRESS", "name": "Shipped", "category": "DONE"},
        {"key": "DONE", "name": "Done", "category": "DONE"},
    ]
    app.configure_columns(ALICE, "OPS", columns)
    app.move_story(ALICE, key, "DONE")
    app.estimate_story(ALICE, key, 3)
    assert_matches_replay(runtime)


def test_a_story_left_in_a_removed_column_does_not_stall_the_projections(runtime: Runtime) -> None:
    """Logs written before placements existed can hold a story in a column removed by a race."""
    app = runtime.app
    columns = [
        {"key": "TODO", "name": "To Do", "category": "TODO"},
        {"key": "REVIEW", "name": "Review", "category": "IN_PROGRESS"},
        {"key": "DONE", "name": "Done", "category": "DONE"},
    ]
    app.create_board(ALICE, "OPS", "Operations", columns)
    key = app.create_story(ALICE, "OPS", "Rotate keys")
    sprint = app.create_sprint(ALICE, "OPS", "Sprint 1", date(2026, 11, 2), date(2026, 11, 13))
    app.add_story_to_sprint(ALICE, sprint, key)
    app.start_sprint(ALICE, sprint)
    app.configure_columns(ALICE, "OPS", [columns[0], columns[2]])
    stranded = app.repository.get(story_id(key))
    stranded.move("REVIEW", app._stamp(ALICE))  # the story saved alone, as moves were before
    app.save(stranded)
    app.estimate_story(ALICE, key, 2)
    app.complete_sprint(ALICE, sprint)  # the story counts as unfinished and goes back to the backlog
    assert set(runtime.projector.positions().values()) == {runtime.projector.head()}
    # The read models equal a replay; verify still names the story the old race left stranded.
    for projection in runtime.projector.projections:
        stranded = ["stories: OPS-1 is in column REVIEW, which its board does not have"]
        expected = stranded if projection.name == "current" else []
        assert verify(runtime.projector, projection) == expected, projection.name
