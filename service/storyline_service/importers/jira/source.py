"""Reads Jira's REST issue JSON (one issue per line) into what the import needs, noting what it skips."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from storyline_service.eventlog.importer import open_lines

# Jira's statusCategory keys and the Storyline category each maps to.
CATEGORIES = {"new": "TODO", "indeterminate": "IN_PROGRESS", "done": "DONE"}
TYPES = {"Bug": "BUG", "Sub-task": "TASK", "Technical task": "TASK", "Task": "TASK", "Spike": "SPIKE"}
PRIORITIES = {
    "Trivial": "LOWEST",
    "Lowest": "LOWEST",
    "Low": "LOW",
    "Minor": "LOW",
    "Medium": "MEDIUM",
    "Major": "HIGH",
    "High": "HIGH",
    "Critical": "HIGHEST",
    "Highest": "HIGHEST",
    "Blocker": "HIGHEST",
}
# Fields the import reads, and those it knowingly leaves out; any other is reported once.
READ = {"summary", "description", "issuetype", "priority", "labels", "status", "created", "resolutiondate"}
READ |= {"updated", "assignee", "reporter", "creator", "closedSprints", "sprint"}
LEFT_OUT = {"project", "fixVersions", "resolution", "versions", "issuelinks", "components", "attachment"}
LEFT_OUT |= {"flagged", "subtasks", "comment", "environment", "epic", "parent", "watches", "worklog"}


class Malformed(Exception):
    pass


def jira_time(text: str) -> datetime:
    """Jira writes +0000 on issues and Z on sprints; both are UTC offsets."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class JiraSprint:
    id: int
    name: str
    state: str  # closed, active or future
    start: datetime | None
    end: datetime | None
    completed: datetime | None


@dataclass(frozen=True)
class Change:
    """One changelog item: a field changed at a time by someone."""

    at: datetime
    author: str | None
    field: str
    before: str | None
    after: str | None
    before_id: str | None
    after_id: str | None

    def sprint_ids(self) -> tuple[list[int], list[int]]:
        """Of a Sprint item: the sprints the issue joined and those it left (Jira writes the
        field's sprint ids before and after, comma-separated)."""

        def ids(value: str | None) -> list[int]:
            return [int(part) for part in (value or "").split(",") if part.strip().isdigit()]

        before, after = ids(self.before_id), ids(self.after_id)
        return [i for i in after if i not in before], [i for i in before if i not in after]


@dataclass(frozen=True)
class JiraIssue:
    line: int
    key: str
    summary: str
    description: str | None
    type: str
    priority: str
    labels: list[str]
    status: str
    created: datetime
    updated: datetime
    resolved: datetime | None
    reporter: str | None
    assignee: str | None
    sprints: list[int]  # ids, in the order the issue met them
    changes: list[Change]


@dataclass
class Source:
    """Everything read from the file: issues, sprints, statuses with their categories, and warnings."""

    issues: list[JiraIssue] = field(default_factory=list)
    sprints: dict[int, JiraSprint] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)  # name -> Storyline category, first seen first
    warnings: list[str] = field(default_factory=list)
    unknown_fields: Counter[str] = field(default_factory=Counter)
    guessed: set[str] = field(default_factory=set)  # statuses met only in changelogs so far


def _user(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    name = value.get("name") or value.get("key") or value.get("accountId") or value.get("displayName")
    return str(name) if name else None


def _sprint(raw: dict[str, Any]) -> JiraSprint:
    def time(name: str) -> datetime | None:
        return jira_time(raw[name]) if raw.get(name) else None

    return JiraSprint(
        int(raw["id"]), str(raw["name"]), str(raw.get("state", "closed")).lower(),
        time("startDate"), time("endDate"), time("completeDate"),
    )  # fmt: skip


def _changes(raw: dict[str, Any]) -> list[Change]:
    changes = []
    for history in (raw.get("changelog") or {}).get("histories") or []:
        at, author = jira_time(history["created"]), _user(history.get("author"))
        for item in history.get("items") or []:
            changes.append(
                Change(
                    at,
                    author,
                    str(item["field"]),
                    item.get("fromString"),
                    item.get("toString"),
                    item.get("from"),
                    item.get("to"),
                )
            )
    return sorted(changes, key=lambda change: change.at)


def parse_issue(number: int, raw: Any, source: Source) -> JiraIssue:
    if not isinstance(raw, dict) or not isinstance(raw.get("fields"), dict) or not raw.get("key"):
        raise Malformed("not a Jira issue (needs key and fields)")
    fields = raw["fields"]
    for name in fields:
        if name not in READ and name not in LEFT_OUT and not name.startswith("customfield_"):
            source.unknown_fields[name] += 1
    try:
        status = fields["status"]
        category_key = (status.get("statusCategory") or {}).get("key")
        if status["name"] not in source.statuses or status["name"] in source.guessed:
            source.guessed.discard(status["name"])
            category = CATEGORIES.get(str(category_key))
            if category is None:
                source.warnings.append(
                    f"status {status['name']!r} has unknown category {category_key!r}: TODO"
                )
            source.statuses[status["name"]] = category or "TODO"
        sprints = [_sprint(s) for s in fields.get("closedSprints") or []]
        current = fields.get("sprint")
        sprints += [
            _sprint(s) for s in (current if isinstance(current, list) else [current] if current else [])
        ]
        for sprint in sprints:
            source.sprints.setdefault(sprint.id, sprint)
        issue_type = (fields.get("issuetype") or {}).get("name", "")
        priority = (fields.get("priority") or {}).get("name")
        return JiraIssue(
            line=number,
            key=str(raw["key"]),
            summary=str(fields.get("summary") or raw["key"]),
            description=fields.get("description"),
            type=TYPES.get(issue_type, "STORY"),
            priority=PRIORITIES.get(priority or "", "MEDIUM"),
            labels=[str(label) for label in fields.get("labels") or []],
            status=str(status["name"]),
            created=jira_time(fields["created"]),
            updated=jira_time(fields.get("updated") or fields["created"]),
            resolved=jira_time(fields["resolutiondate"]) if fields.get("resolutiondate") else None,
            reporter=_user(fields.get("reporter")) or _user(fields.get("creator")),
            assignee=_user(fields.get("assignee")),
            sprints=list(dict.fromkeys(sprint.id for sprint in sprints)),
            changes=_changes(raw),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise Malformed(f"cannot read {error}") from None


def read_issues(path: Path, source: Source) -> Iterator[JiraIssue]:
    """Issues in file order; a malformed line is reported with its number and skipped."""
    with open_lines(path) as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                issue = parse_issue(number, json.loads(line), source)
            except (json.JSONDecodeError, Malformed) as error:
                source.warnings.append(f"line {number}: skipped, {error}")
                continue
            _note_changelog_statuses(issue, source)
            yield issue


def _note_changelog_statuses(issue: JiraIssue, source: Source) -> None:
    """A changelog names statuses without their category: the one an issue starts in counts as
    TODO, any other as IN_PROGRESS, unless an issue's own status gave its category."""
    moves = [change for change in issue.changes if change.field.lower() == "status"]
    for position, change in enumerate(moves):
        for name, initial in ((change.before, position == 0), (change.after, False)):
            if name and name not in source.statuses:
                source.statuses[name] = "TODO" if initial else "IN_PROGRESS"
                source.guessed.add(name)
                source.warnings.append(f"status {name!r} appears only in changelogs: {source.statuses[name]}")


def read_points(path: Path | None) -> dict[str, float]:
    """Story points by issue key from a CSV with columns issuekey and storypoint."""
    if path is None:
        return {}
    points = {}
    with path.open(newline="", encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            try:
                points[row["issuekey"].strip()] = float(Decimal(row["storypoint"].strip()))
            except (KeyError, InvalidOperation, AttributeError):
                continue
    return points


def read_actor_map(path: Path | None) -> dict[str, str]:
    """Jira user names to Storyline actors: a JSON object, or CSV lines of jira,storyline."""
    if path is None:
        return {}
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return {str(k): str(v) for k, v in json.loads(text).items()}
    return {row[0].strip(): row[1].strip() for row in csv.reader(text.splitlines()) if len(row) >= 2}
