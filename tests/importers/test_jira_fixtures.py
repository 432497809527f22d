"""Jira's documented format with a changelog: each change becomes its event, at its time, by its author;
bad lines, unknown fields and text Storyline refuses are reported, never fatal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storyline_service.analytics import sprint_report
from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.importers.jira.importer import JiraImport
from storyline_service.queries import Reads
from storyline_service.readmodels import AuditEntryRow, table_of
from storyline_service.settings import Settings
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


def sprint(number: int, start: str, complete: str) -> dict[str, Any]:
    return {
        "id": number,
        "name": f"ABC Sprint {number}",
        "state": "closed",
        "startDate": f"{start}T08:00:00.000Z",
        "endDate": f"{complete}T17:00:00.000Z",
        "completeDate": f"{complete}T17:00:00.000Z",
    }


def sprint_change(when: str, author: str, before: list[int], after: list[int]) -> Any:
    """A Sprint item as Jira's changelog writes it: the field's sprint ids and names, comma-separated."""
    item = {
        "field": "Sprint",
        "fieldtype": "custom",
        "fieldId": "customfield_10020",
        "from": ", ".join(map(str, before)),
        "fromString": ", ".join(f"ABC Sprint {n}" for n in before),
        "to": ", ".join(map(str, after)),
        "toString": ", ".join(f"ABC Sprint {n}" for n in after),
    }
    return {"id": "2", "author": {"name": author, "key": author}, "created": when, "items": [item]}


def planned_issue(key: str, sprints: list[int], status_change: Any, *changes: Any) -> dict[str, Any]:
    return {
        "key": key,
        "fields": {
            "summary": f"Work {key}",
            "issuetype": {"name": "Story"},
            "status": status("Done", "done"),
            "created": "2024-01-20T09:00:00.000+0000",
            "updated": "2024-02-20T09:00:00.000+0000",
            "resolutiondate": "2024-02-20T09:00:00.000+0000",
            "reporter": {"name": "jdoe"},
            "closedSprints": [sprint(1, "2024-02-01", "2024-02-14"), sprint(2, "2024-02-15", "2024-02-28")][
                : len(sprints)
            ],
        },
        "changelog": {"histories": [*changes, status_change]},
    }


def test_sprint_changelog_items_add_and_remove_the_story_by_their_author_at_their_time(
    runtime: Runtime, tmp_path: Path
) -> None:
    done = change("2024-02-20T09:00:00.000+0000", "asmith", "status", "To Do", "Done")
    carried = planned_issue(
        "ABC-9",
        [1, 2],
        done,
        sprint_change("2024-01-30T10:00:00.000+0000", "jdoe", [], [1]),
        sprint_change("2024-02-15T09:00:00.000+0000", "asmith", [1], [1, 2]),  # carried over by hand
    )
    dropped = planned_issue(
        "ABC-10",
        [1],
        done,
        sprint_change("2024-01-31T10:00:00.000+0000", "jdoe", [], [1]),
        sprint_change("2024-02-05T10:00:00.000+0000", "bkim", [1], []),
    )
    path = tmp_path / "issues.jsonl"
    path.write_text(f"{json.dumps(carried)}\n{json.dumps(dropped)}\n")
    summary = JiraImport(runtime.app, "ABC", path).run()
    runtime.projector.catch_up()
    assert not [w for w in summary.warnings if "Sprint" in w or "refused" in w], summary.warnings

    reads = Reads(runtime.engine)
    names = {row.id: row.name for row in reads.sprints_by_id(list(sprint_ids(runtime))).values()}
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(audit.c.story_key, audit.c.actor, audit.c.occurred_at, audit.c.changes)
            .where(audit.c.event_type == "StorySprintChanged")
            .order_by(audit.c.sequence)
        ).all()
    moves = [
        (key, actor, when, names.get(c["from"]), names.get(c["to"]))
        for key, actor, when, changes in rows
        for c in changes
        if c["field"] == "sprint"
    ]
    assert moves == [
        ("ABC-9", "jdoe", at("2024-01-30 10:00"), None, "ABC Sprint 1"),
        ("ABC-10", "jdoe", at("2024-01-31 10:00"), None, "ABC Sprint 1"),
        ("ABC-10", "bkim", at("2024-02-05 10:00"), "ABC Sprint 1", None),
        ("ABC-9", "jira-import", at("2024-02-14 17:00"), "ABC Sprint 1", None),  # unfinished: carried over
        ("ABC-9", "asmith", at("2024-02-15 09:00"), None, "ABC Sprint 2"),
    ]

    head = runtime.projector.head()
    assert JiraImport(runtime.app, "ABC", path).run().events == 0 and runtime.projector.head() == head


def sprint_ids(runtime: Runtime) -> set[str]:
    with runtime.engine.connect() as conn:
        return {row.sprint_id for row in conn.execute(select(audit.c.sprint_id)) if row.sprint_id}


class Interrupted(Exception):
    pass


def history(runtime: Runtime) -> list[tuple[Any, ...]]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(audit.c.event_type, audit.c.entity_key, audit.c.actor, audit.c.occurred_at)
            .where(audit.c.entity_type != "Sprint")  # sprint ids differ between databases
            .order_by(audit.c.sequence)
        )
        return [tuple(row) for row in rows]


def test_an_interrupted_import_resumes_after_the_last_batch_saved(runtime: Runtime, tmp_path: Path) -> None:
    done = change("2024-02-20T09:00:00.000+0000", "asmith", "status", "To Do", "Done")
    path = tmp_path / "issues.jsonl"
    path.write_text("".join(f"{json.dumps(planned_issue(f'ABC-{n}', [1, 2], done))}\n" for n in range(1, 9)))

    def stop_after_two_batches(steps_done: int, steps: int) -> None:
        if steps_done >= 10:
            raise Interrupted

    with pytest.raises(Interrupted):
        JiraImport(runtime.app, "ABC", path, batch_steps=5).run(stop_after_two_batches)
    saved = runtime.projector.head()
    assert saved > 0
    rest = JiraImport(runtime.app, "ABC", path, batch_steps=5).run()
    assert rest.events > 0 and not [w for w in rest.warnings if " at " in w], rest.warnings
    runtime.projector.catch_up()

    # The same history as an import that was never interrupted, in one batch.
    whole = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'whole.db'}"), read_your_writes=False)
    try:
        assert JiraImport(whole.app, "ABC", path).run().events == runtime.projector.head()
        whole.projector.catch_up()
        assert history(whole) == history(runtime)
    finally:
        whole.close()


def overlapping(key: str, sprints: list[int], resolved: str | None) -> dict[str, Any]:
    """An issue without changelog in some of three overlapping sprints: sprint 1 is open all March,
    sprint 2 runs inside it, and sprint 3 starts a day before sprint 2 completes."""
    runs = {1: ("2024-03-01", "2024-03-29"), 2: ("2024-03-04", "2024-03-12"), 3: ("2024-03-11", "2024-03-19")}
    return {
        "key": key,
        "fields": {
            "summary": f"Work {key}",
            "issuetype": {"name": "Story"},
            "status": status("Done", "done") if resolved else status("Open", "new"),
            "created": "2024-02-20T09:00:00.000+0000",
            "updated": resolved or "2024-02-20T09:00:00.000+0000",
            "resolutiondate": resolved,
            "reporter": {"name": "jdoe"},
            "closedSprints": [sprint(n, *runs[n]) for n in sprints],
        },
    }


def test_overlapping_sprints_each_complete_as_in_jira(runtime: Runtime, tmp_path: Path) -> None:
    issues = [
        overlapping("ABC-1", [1], "2024-03-25T09:00:00.000+0000"),  # done in the long sprint
        overlapping("ABC-2", [2, 1], None),  # never done: carried over by both
        overlapping("ABC-3", [2, 3], "2024-03-15T09:00:00.000+0000"),  # carried over, done in the next
        overlapping("ABC-4", [1], "2024-03-06T09:00:00.000+0000"),  # done early in the long sprint
    ]
    path, points = tmp_path / "issues.jsonl", tmp_path / "points.csv"
    path.write_text("".join(f"{json.dumps(issue)}\n" for issue in issues))
    points.write_text("issuekey,storypoint\nABC-1,3\nABC-2,5\nABC-3,2\nABC-4,1\n")
    summary = JiraImport(runtime.app, "ABC", path, points).run()
    runtime.projector.catch_up()
    assert summary.warnings[0].startswith("2 of 3 started sprints start later than in Jira")

    ids = sprint_ids(runtime)
    names = {row.id: row.name for row in Reads(runtime.engine).sprints_by_id(list(ids)).values()}
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(audit.c.event_type, audit.c.sprint_id, audit.c.occurred_at)
            .where(audit.c.event_type.in_(["SprintStarted", "SprintCompleted"]))
            .order_by(audit.c.sequence)
        ).all()
    # One sprint at a time, each completing as in Jira: sprint 3 waits the day for sprint 2 to
    # complete, and the long sprint 1 starts when the sprints it contains have completed.
    assert [(event, names[sprint_id][4:], when) for event, sprint_id, when in rows] == [
        ("SprintStarted", "Sprint 2", at("2024-03-04 08:00")),
        ("SprintCompleted", "Sprint 2", at("2024-03-12 17:00")),
        ("SprintStarted", "Sprint 3", at("2024-03-12 17:00")),
        ("SprintCompleted", "Sprint 3", at("2024-03-19 17:00")),
        ("SprintStarted", "Sprint 1", at("2024-03-19 17:00")),
        ("SprintCompleted", "Sprint 1", at("2024-03-29 17:00")),
    ]
    reports = {names[sprint_id][4:]: sprint_report(runtime.engine, sprint_id) for sprint_id in ids}
    assert {name: (sorted(r.carried_over), r.completed_points) for name, r in reports.items()} == {
        "Sprint 1": (["ABC-2"], 4),  # ABC-1 and ABC-4 were done when it completed, as in Jira
        "Sprint 2": (["ABC-2", "ABC-3"], 0),
        "Sprint 3": ([], 2),
    }
    head = runtime.projector.head()
    assert JiraImport(runtime.app, "ABC", path, points).run().events == 0 and runtime.projector.head() == head
