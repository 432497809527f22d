"""Read-model queries that the API's totals rely on."""

from __future__ import annotations

from sqlalchemy import func, select

from storyline_service.bootstrap import Runtime
from storyline_service.queries import AuditCriteria, StoryCriteria
from storyline_service.readmodels import AuditEntryRow
from tests.helpers import ALICE


def test_unfiltered_totals_count_every_row(runtime: Runtime) -> None:
    runtime.app.create_board(ALICE, "PAY", "Payments")
    for n in range(3):
        runtime.app.create_story(ALICE, "PAY", f"story {n}")
    with runtime.engine.connect() as conn:
        entries = conn.execute(select(func.count()).select_from(AuditEntryRow)).scalar_one()
    assert entries > 3
    assert runtime.reads.audit_counts([], [()], AuditCriteria()) == {(): entries}
    assert runtime.reads.story_counts([], [()], StoryCriteria()) == {(): 3}
