"""Jira's documented format with a changelog: each change becomes its event, at its time, by its author;
bad lines, unknown fields and text Storyline refuses are reported, never fatal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from storyline_service.bootstrap import Runtime
from storyline_service.importers.jira.importer import JiraImport
from storyline_service.queries import Reads
from storyline_service.readmodels import AuditEntryRow, table_of
from tests.helpers import at

audit = table_of(AuditEntryRow)


def status(name: str, category: str) -> dict[str, Any]:
    return {"name": name, "statusCategory": {"key": category, "name": category}}


def change(
    when: str, author: str, field: str, before: str | None, after: str | None, to: str | None = None
) -> Any:
    item = {
        "field": field,
        "fieldtype": "jira",
        "from": None,
        "fromString": before,
        "to": to,
        "toString": after,
    }
    return {"id": "1", "author": {"name": author, "key": author}, "created": when, "items": [item]}


ESTIMATED = {
    "key": "ABC-7",
    "fields": {
        "summary": "Export reports",
        "issuetype": {"name": "Story"},
        "priority": {"name": "High"},
        "status": status("Done", "done"),
        "created": "2024-01-01T09:00:00.000+0000",
        "updated": "2024-01-05T09:00:00.000+0000",
        "resolutiondate": "2024-01-05T09:00:00.000+0000",
        "reporter": {"name": "jdoe"},
        "assignee": {"name": "asmith"},
        "labels": [],
    },
    "changelog": {
        "histories": [
            change("2024-01-02T10:00:00.000+0000", "asmith", "status", "To Do", "In Progress"),
            change("2024-01-03T10:00:00.000+0000", "jdoe", "Story Points", None, "5"),
            change("2024-01-04T10:00:00.000+0000", "jdoe", "assignee", None, "Anna Smith", "asmith"),
            change("2024-01-04T11:00:00.000+0000", "jdoe", "Rank", None, "Ranked higher"),
            change("2024-01-04T12:00:00.000+0000", "jdoe", "resolution", None, "Fixed"),
            change("2024-01-05T09:00:00.000+0000", "asmith", "status", "In Progress", "Done"),
        ]
    },
}
DIRTY = {
    "key": "ABC-8",
    "fields": {
        "summary": "Bell\x07 and \u202eoverride",
        "description": "line one\r\nline\x00 two\tend",
        "issuetype": {"name": "Bug"},
        "status": status("Open", "new"),
        "created": "2024-01-02T09:00:00.000+0000",
        "updated": "2024-01-02T09:00:00.000+0000",
        "reporter": {"name": "jdoe"},
        "fancyField": 3,
    },
}


def test_changelog_history_bad_lines_and_cleaned_text(runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "issues.jsonl"
    path.write_text("\n".join([json.dumps(ESTIMATED), "{not json", json.dumps(DIRTY)]) + "\n")
    summary = JiraImport(runtime.app, "ABC", path).run()
    runtime.projector.catch_up()

    assert summary.issues == 2
    assert summary.cleaned == 3  # the bell, the override, the NUL; line breaks become \n quietly
    assert any(w.startswith("line 2: skipped") for w in summary.warnings)
    assert any("unknown field fancyField" in w for w in summary.warnings)
    assert any("changelog:resolution" in w for w in summary.warnings)

    reads = Reads(runtime.engine)
    dirty = reads.stories_by_key(["ABC-8"])["ABC-8"]
    assert dirty.title == "Bell\ufffd and \ufffdoverride"
    assert dirty.description == "line one\nline\ufffd two\tend"

    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(audit.c.event_type, audit.c.actor, audit.c.occurred_at)
            .where(audit.c.story_key == "ABC-7")
            .order_by(audit.c.sequence)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("StoryCreated", "jdoe", at("2024-01-01 09:00")),
        ("StoryMoved", "asmith", at("2024-01-02 10:00")),
        ("StoryEstimated", "jdoe", at("2024-01-03 10:00")),
        ("StoryAssigned", "jdoe", at("2024-01-04 10:00")),
        ("StoryMoved", "asmith", at("2024-01-05 09:00")),
    ]
    story = reads.stories_by_key(["ABC-7"])["ABC-7"]
    assert (story.points, story.assignee, story.column) == (5, "asmith", "DONE")

    head = runtime.projector.head()
    again = JiraImport(runtime.app, "ABC", path).run()
    assert again.events == 0 and runtime.projector.head() == head
