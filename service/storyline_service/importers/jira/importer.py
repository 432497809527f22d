"""Turns Jira issues into a board's history: every step a backfilled command at its original time.

Steps run in global time order, so sprint starts and completions see the board
as it stood, and are saved in batches, many steps to a transaction. Each step
has an idempotency key of its own: running the import again replays their
receipts and records nothing new, and an interrupted import resumes after the
last batch saved.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from eventsourcing.persistence import RecordConflictError

from storyline_domain.errors import DomainError
from storyline_service.application import Caller, Storyline
from storyline_service.importers.commands import create_story_with_key
from storyline_service.importers.jira.source import (
    Change,
    JiraIssue,
    JiraSprint,
    Source,
    read_actor_map,
    read_issues,
    read_points,
)
from storyline_service.importers.text import TextCleaner

IMPORTER = "jira-import"  # the actor of steps Jira does not attribute (sprint planning, starts, completions)
CATEGORY_ORDER = {"TODO": 0, "IN_PROGRESS": 1, "DONE": 2}
# At equal times, steps go by slot (0 for the board and stories, then each sprint in schedule order)
# and then in this order: stories exist before they join a sprint, a sprint's members join before
# it starts, and it completes last, before the next sprint's steps.
CREATE_BOARD, CREATE_SPRINT, CREATE_STORY, ADD, START_SPRINT, CHANGE, COMPLETE_SPRINT = range(7)


@dataclass(order=True)
class Step:
    at: datetime
    slot: int
    order: int
    tiebreak: str
    actor: str = field(compare=False)
    run: Callable[[Caller], Any] = field(compare=False)


@dataclass
class Summary:
    issues: int = 0
    sprints: int = 0
    events: int = 0
    cleaned: int = 0
    shortened: int = 0
    warnings: list[str] = field(default_factory=list)


def column_keys(statuses: dict[str, str]) -> dict[str, str]:
    """A column key per status name: upper case, underscores, unique."""
    keys: dict[str, str] = {}
    for name in statuses:
        key = re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")[:26] or "STATUS"
        key = key if key[0].isalpha() else f"S_{key}"[:26]
        unique, number = key, 2
        while unique in keys.values():
            unique, number = f"{key}_{number}", number + 1
        keys[name] = unique
    return keys


class JiraImport:
    def __init__(
        self,
        app: Storyline,
        board: str,
        issues: Path,
        story_points: Path | None = None,
        actor_map: Path | None = None,
        batch_steps: int = 500,
    ) -> None:
        self.app, self.board, self.path = app, board, issues
        self.batch_steps = max(1, batch_steps)
        self.points = read_points(story_points)
        self.actors = read_actor_map(actor_map)
        self.source = Source()
        self.text = TextCleaner()
        self.steps: list[Step] = []
        self.sprint_ids: dict[int, str] = {}  # Jira sprint id -> Storyline sprint id
        self.assignees: set[str] = set()  # stories are assigned to board members only
        self.overlaps: str | None = None  # how many sprints start later than in Jira, if any

    def actor(self, jira_user: str | None) -> str:
        return self.actors.get(jira_user or "", jira_user or IMPORTER)

    def plan(self) -> list[Step]:
        """Reads the file and lays out every step in time order."""
        issues = list(read_issues(self.path, self.source))
        if not issues:
            return []
        self.columns = column_keys(
            dict(sorted(self.source.statuses.items(), key=lambda item: CATEGORY_ORDER[item[1]]))
        )
        sprints = sorted(
            self.source.sprints.values(),
            key=lambda s: (s.start or min(i.created for i in issues if s.id in i.sprints), s.id),
        )
        schedule = self._schedule(sprints)
        # Slots follow the schedule: at equal times, a sprint completes before the next one starts.
        running = {sprint_id: position for position, sprint_id in enumerate(schedule)}
        in_order = sorted(sprints, key=lambda s: running.get(s.id, len(running)))  # then the unstarted
        self.slots = {sprint.id: slot for slot, sprint in enumerate(in_order, 1)}
        self.joins: dict[int, list[datetime]] = {}  # sprint id -> when changelogs add issues to it
        for issue in issues:
            for change in issue.changes:
                if change.field.lower() == "sprint":
                    for sprint_id in change.sprint_ids()[0]:
                        self.joins.setdefault(sprint_id, []).append(change.at)
        first = min(issue.created for issue in issues)
        self._step(first, CREATE_BOARD, "board", IMPORTER, self._create_board)
        for sprint in sprints:
            self._plan_sprint(sprint, schedule.get(sprint.id), issues)
        for issue in issues:
            self._plan_issue(issue, schedule)
        # Everyone the history assigns work to joins the board with it ("board" sorts first).
        for user in sorted(self.assignees):
            self._step(first, CREATE_BOARD, f"member-{user}", IMPORTER, partial(self._add_member, user))
        return sorted(self.steps)

    def _add_member(self, user: str, caller: Caller) -> Any:
        return self.app.grant_role(caller, self.board, user, "MEMBER")

    def _schedule(self, sprints: list[JiraSprint]) -> dict[int, tuple[datetime, datetime | None]]:
        """When each started sprint runs in Storyline, which has one active sprint per board.

        Jira boards may overlap sprints. Which stories a sprint completes and which it
        carries over depend on when it completes, so every sprint keeps its completion:
        closed sprints run in the order of their completion, each from its own start, or
        from when the one before completes if that is later. Active sprints, still open,
        follow them in start order; each completes when the next one starts.
        The schedule is in running order.
        """
        closed = sorted(
            (s for s in sprints if s.start is not None and s.state == "closed"),
            key=lambda s: (self._completion(s), s.start, s.id),
        )
        active = [s for s in sprints if s.start is not None and s.state == "active"]
        schedule: dict[int, tuple[datetime, datetime | None]] = {}
        free_from: datetime | None = None
        previous: int | None = None
        moved = 0
        for sprint in [*closed, *active]:
            assert sprint.start is not None
            start = sprint.start if free_from is None else max(sprint.start, free_from)
            moved += start > sprint.start
            end = self._completion(sprint) if sprint.state == "closed" else None
            if previous is not None and schedule[previous][1] is None:  # an active one before it
                schedule[previous] = (schedule[previous][0], start)
            schedule[sprint.id] = (start, end)
            free_from, previous = end or start, sprint.id
        if moved:
            self.overlaps = (
                f"{moved} of {len(schedule)} started sprints start later than in Jira, when an overlapping "
                "sprint that completes before them completes (one active sprint per board); "
                "every sprint completes as in Jira"
            )
        return schedule

    @staticmethod
    def _completion(sprint: JiraSprint) -> datetime:
        """When a closed sprint completed (Jira's completeDate; its end, or start, if it has none)."""
        completed = sprint.completed or sprint.end or sprint.start
        assert completed is not None and sprint.start is not None
        return max(completed, sprint.start)

    def _step(
        self, at: datetime, order: int, tiebreak: str, actor: str, run: Callable[[Caller], Any], slot: int = 0
    ) -> None:
        self.steps.append(Step(at, slot, order, tiebreak, actor, run))

    def _create_board(self, caller: Caller) -> Any:
        columns = [
            {"key": key, "name": name[:50], "category": self.source.statuses[name]}
            for name, key in self.columns.items()
        ]
        return self.app.create_board(caller, self.board, f"{self.board} (imported from Jira)", columns)

    def _plan_sprint(
        self, sprint: JiraSprint, runs: tuple[datetime, datetime | None] | None, issues: list[JiraIssue]
    ) -> None:
        members = [issue for issue in issues if sprint.id in issue.sprints]
        created = runs[0] if runs else min(issue.created for issue in members)
        # A changelog may add issues to it while it is planned, before it starts.
        created = min([created, *self.joins.get(sprint.id, [])])
        name = self.text.single_line(sprint.name, 100)
        start_date = (sprint.start or created).date()  # the dates as planned in Jira
        end_date = max((sprint.end or sprint.completed or created).date(), start_date)

        def create(caller: Caller) -> Any:
            self.sprint_ids[sprint.id] = self.app.create_sprint(
                caller, self.board, name, start_date, end_date
            )

        tag = f"sprint-{sprint.id}"
        slot = self.slots[sprint.id]
        self._step(created, CREATE_SPRINT, tag, IMPORTER, create, slot)
        if runs is not None:
            start, end = runs
            begin = partial(self._sprint_call, sprint=sprint, action="start")
            self._step(start, START_SPRINT, tag, IMPORTER, begin, slot)
            if end is not None:
                complete = partial(self._sprint_call, sprint=sprint, action="complete")
                self._step(end, COMPLETE_SPRINT, tag, IMPORTER, complete, slot)

    def _sprint_call(self, caller: Caller, sprint: JiraSprint, action: str) -> Any:
        sprint_id = self.sprint_ids[sprint.id]
        if action == "start":
            return self.app.start_sprint(caller, sprint_id)
        return self.app.complete_sprint(caller, sprint_id)

    def _plan_issue(self, issue: JiraIssue, schedule: dict[int, tuple[datetime, datetime | None]]) -> None:
        key, reporter = issue.key, self.actor(issue.reporter)
        points = self.points.get(key)
        fields = {
            "title": self.text.single_line(issue.summary, 200),
            "description": self.text.multi_line(issue.description, 20_000),
            "type": issue.type,
            "priority": issue.priority,
            "labels": [self.text.single_line(label, 50) for label in issue.labels],
        }
        assignee = self.actor(issue.assignee) if issue.assignee else None
        if assignee:
            self.assignees.add(assignee)
        if issue.changes:  # the history says who estimated and assigned, and when
            points = assignee = None

        def create(caller: Caller) -> Any:
            return create_story_with_key(self.app, caller, self.board, key, fields, points, assignee)

        self._step(issue.created, CREATE_STORY, key, reporter, create)
        sprint_changes = any(change.field.lower() == "sprint" for change in issue.changes)
        for sprint_id in [] if sprint_changes else issue.sprints:  # else the changelog tells
            start, end = schedule.get(sprint_id, (issue.created, None))
            at = max(issue.created, start)
            completed = self.source.sprints[sprint_id].completed
            if (end is not None and at > end) or (completed is not None and issue.created > completed):
                name = self.source.sprints[sprint_id].name
                self.source.warnings.append(f"{key}: created after sprint {name!r} closed; not added to it")
                continue

            def add(caller: Caller, sprint_id: int = sprint_id) -> Any:
                return self.app.add_story_to_sprint(caller, self.sprint_ids[sprint_id], key)

            self._step(at, ADD, f"{key}/{sprint_id}", IMPORTER, add, self.slots[sprint_id])
        if issue.changes:
            self._plan_changes(issue)
            return
        column = self.columns[issue.status]
        if self.source.statuses[issue.status] == "DONE":
            at = max(issue.resolved or issue.updated, issue.created)
        elif column != next(iter(self.columns.values())):
            at = issue.updated
        else:
            return
        self._step(at, CHANGE, f"{key}/status", reporter, lambda c: self.app.move_story(c, key, column))

    def _plan_changes(self, issue: JiraIssue) -> None:
        """Status, story points and assignee changes from the changelog, each by its author at its time."""
        key = issue.key
        for number, change in enumerate(issue.changes):
            tag, author = f"{key}/change-{number}", self.actor(change.author)
            name = change.field.lower()
            if name == "status" and change.after in self.columns:
                column = self.columns[change.after]
                self._step(
                    change.at, CHANGE, tag, author, partial(self._call, self.app.move_story, key, column)
                )
            elif name in ("story points", "story point estimate"):
                points = float(change.after) if change.after else None
                self._step(
                    change.at, CHANGE, tag, author, partial(self._call, self.app.estimate_story, key, points)
                )
            elif name == "assignee":
                user = self.actor(change.after_id or change.after) if change.after else None
                if user:
                    self.assignees.add(user)
                self._step(
                    change.at, CHANGE, tag, author, partial(self._call, self.app.assign_story, key, user)
                )
            elif name == "sprint":
                self._plan_sprint_change(key, number, change)
            elif name != "rank":  # ranks are Storyline's own
                self.source.unknown_fields[f"changelog:{change.field}"] += 1

    def _plan_sprint_change(self, key: str, number: int, change: Change) -> None:
        """The issue joins and leaves sprints as its Sprint field changed, by whoever changed it."""
        joined, left = change.sprint_ids()
        author = self.actor(change.author)
        for action, sprint_ids in (("add", joined), ("remove", left)):
            for sprint_id in sprint_ids:
                if sprint_id not in self.slots:
                    self.source.warnings.append(f"{key}: sprint {sprint_id} of its changelog is unknown")
                    continue
                run = partial(self._membership, action=action, sprint_id=sprint_id, key=key)
                tag = f"{key}/change-{number}/{sprint_id}"
                self._step(change.at, ADD, tag, author, run, self.slots[sprint_id])

    def _membership(self, caller: Caller, action: str, sprint_id: int, key: str) -> Any:
        if action == "add":
            return self.app.add_story_to_sprint(caller, self.sprint_ids[sprint_id], key)
        return self.app.remove_story_from_sprint(caller, self.sprint_ids[sprint_id], key)

    @staticmethod
    def _call(command: Callable[[Caller, str, Any], Any], key: str, value: Any, caller: Caller) -> Any:
        return command(caller, key, value)

    def _run(self, step: Step) -> None:
        step.run(
            Caller(
                step.actor,
                occurred_at=step.at,
                idempotency_key=f"jira/{self.board}/{step.order}/{step.tiebreak}",
                superuser=True,
            )
        )

    def run(self, progress: Callable[[int, int], None] | None = None) -> Summary:
        steps = self.plan()
        summary = Summary(issues=len({s.tiebreak for s in steps if s.order == CREATE_STORY}))
        summary.sprints = len(self.source.sprints)
        head = self.app.recorder.max_notification_id() or 0
        for start in range(0, len(steps), self.batch_steps):
            batch = steps[start : start + self.batch_steps]
            try:
                with self.app.batched():
                    for step in batch:
                        self._run(step)
            except (DomainError, RecordConflictError):
                # A refused step may have changed aggregates of the batch before it was refused:
                # the batch is dropped and run again step by step, each in its own transaction.
                for step in batch:
                    try:
                        self._run(step)
                    except DomainError as error:
                        summary.warnings.append(f"{step.tiebreak} at {step.at.isoformat()}: {error.message}")
            if progress:
                progress(start + len(batch), len(steps))
        summary.events = (self.app.recorder.max_notification_id() or 0) - head
        summary.cleaned, summary.shortened = self.text.cleaned, self.text.shortened
        summary.warnings[:0] = [
            *([self.overlaps] if self.overlaps else []),
            *self.source.warnings,
            *(f"unknown field {name} ({count} issues)" for name, count in self.source.unknown_fields.items()),
        ]
        return summary
