"""A naive reference for the analytics: replays the whole event log in memory, per question.

Deliberately slow and simple, and independent of the history tables: the state at an
instant is every event up to it applied in log order. Tests only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from storyline_domain.board import Board
from storyline_domain.sprint import Sprint
from storyline_domain.story import Story, story_id
from storyline_service.application import Storyline


def log(app: Storyline) -> list[Any]:
    notifications = app.recorder.select_notifications(start=1, limit=1_000_000)
    return [app.mapper.to_domain_event(n) for n in notifications]


@dataclass
class World:
    categories: dict[str, str] = field(default_factory=dict)  # column key -> category (one board)
    columns: dict[str, str] = field(default_factory=dict)  # story key -> column (None once archived)
    points: dict[str, float | None] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # sprint id -> keys
    active: set[str] = field(default_factory=set)
    keys: dict[UUID, str] = field(default_factory=dict)  # story id -> key

    def apply(self, event: Any) -> None:
        sprint = str(event.originator_id)
        match event:
            case Board.Created() | Board.ColumnsConfigured():
                self.categories = {c["key"]: c["category"] for c in event.columns}
            case Story.Created():
                self.columns[event.key], self.points[event.key] = event.column, event.points
                self.keys[event.originator_id] = event.key
            case Story.Moved():
                self.columns[self.key_of(event)] = event.to_column
            case Story.Estimated():
                self.points[self.key_of(event)] = event.points
            case Sprint.StoryAdded():
                self.members[sprint].append(event.story_key)
            case Sprint.StoryRemoved():
                self.members[sprint].remove(event.story_key)
            case Sprint.Started():
                self.active.add(sprint)
            case Sprint.Completed():
                self.active.discard(sprint)
                for key in list(self.members[sprint]):
                    if not self.done(key):
                        self.members[sprint].remove(key)

    def key_of(self, event: Any) -> str:
        return self.keys[event.originator_id]

    def done(self, key: str) -> bool:
        return self.categories.get(self.columns[key]) == "DONE"

    def scope(self, sprint: str) -> tuple[float, float]:
        members = self.members[sprint]
        return (
            sum(self.points[k] or 0.0 for k in members),
            sum(self.points[k] or 0.0 for k in members if self.done(k)),
        )


def replay(events: list[Any], stop: Callable[[Any], bool]) -> World:
    """The world just before the first event for which ``stop`` is true."""
    world = World()
    for event in events:
        if stop(event):
            break
        world.apply(event)
    return world


def is_completion(sprint_id: str) -> Callable[[Any], bool]:
    return lambda e: isinstance(e, Sprint.Completed) and str(e.originator_id) == sprint_id


def after(at: datetime) -> Callable[[Any], bool]:
    return lambda e: e.occurred_at > at


def completion_of(events: list[Any], sprint_id: str) -> Any | None:
    return next((e for e in events if is_completion(sprint_id)(e)), None)


def report(events: list[Any], sprint_id: str, now: datetime) -> dict[str, Any]:
    completed = completion_of(events, sprint_id)
    end = replay(events, is_completion(sprint_id) if completed else after(now))
    world, commitment = World(), {}
    added, removed, reestimated = [], [], []
    for event in events:
        if completed is not None and event is completed:
            break
        if completed is None and event.occurred_at > now:
            break
        active = sprint_id in world.active
        if active and isinstance(event, Sprint.StoryAdded) and str(event.originator_id) == sprint_id:
            added.append((event.story_key, event.points, event.occurred_at, event.actor))
        if active and isinstance(event, Sprint.StoryRemoved) and str(event.originator_id) == sprint_id:
            removed.append((event.story_key, event.points, event.occurred_at, event.actor))
        if active and isinstance(event, Story.Estimated) and world.key_of(event) in world.members[sprint_id]:
            reestimated.append(
                (world.key_of(event), event.previous, event.points, event.occurred_at, event.actor)
            )
        if isinstance(event, Sprint.Started) and str(event.originator_id) == sprint_id:
            commitment = {k: world.points[k] for k in world.members[sprint_id]}
        world.apply(event)
    begun = sprint_id in end.active or completed is not None
    done = {k: end.points[k] for k in end.members[sprint_id] if end.done(k)} if begun else {}
    committed_points = sum(p or 0.0 for p in commitment.values())
    return {
        "committed_count": len(commitment),
        "committed_points": committed_points,
        "completed_count": len(done),
        "completed_points": sum(p or 0.0 for p in done.values()),
        "committed_completed_points": sum(commitment[k] or 0.0 for k in done if k in commitment),
        "added": added,
        "removed": removed,
        "reestimated": reestimated,
        "carried_over": [k for k in end.members[sprint_id] if not end.done(k)] if completed else [],
        "carried_over_points": (
            {k: end.points[k] for k in end.members[sprint_id] if not end.done(k)} if completed else {}
        ),
        "scope_change_points": sum(a[1] or 0.0 for a in added)
        - sum(r[1] or 0.0 for r in removed)
        + sum((r[2] or 0.0) - (r[1] or 0.0) for r in reestimated),
    }


def burndown(
    events: list[Any], sprint_id: str, start_date: date, today: date
) -> list[tuple[date, float, float]]:
    """(day, scope, completed) per day, each from a fresh replay."""
    completed = completion_of(events, sprint_id)
    last = completed.occurred_at.date() if completed else today
    points = []
    day = start_date
    while day <= last:
        if completed is not None and day == last:
            world = replay(events, is_completion(sprint_id))
        else:
            world = replay(
                events,
                after(datetime.combine(day + timedelta(days=1), time(), UTC) - timedelta(microseconds=1)),
            )
        points.append((day, *world.scope(sprint_id)))
        day += timedelta(days=1)
    return points


def story_clock(
    events: list[Any], key: str, now: datetime
) -> tuple[dict[str, float], float | None, float | None, datetime | None]:
    """Hours per column, cycle and lead time, and completion of one story."""
    hours: dict[str, float] = defaultdict(float)
    categories: dict[str, str] = {}
    column, since, created = None, None, None
    first_in_progress, done_since = None, None
    story = story_id(key)
    for event in events:
        if isinstance(event, Board.Created | Board.ColumnsConfigured):
            categories = {c["key"]: c["category"] for c in event.columns}
        if event.originator_id != story:
            continue
        if column is not None and since is not None:
            hours[column] += (event.occurred_at - since) / timedelta(hours=1)
        match event:
            case Story.Created():
                column, since, created = event.column, event.occurred_at, event.occurred_at
            case Story.Moved():
                column, since = event.to_column, event.occurred_at
            case Story.Archived():
                column, since = None, None
            case _:
                since = event.occurred_at if column is not None else None
        if column is not None and categories[column] == "IN_PROGRESS" and first_in_progress is None:
            first_in_progress = event.occurred_at
        if column is not None and categories[column] == "DONE":
            done_since = done_since or event.occurred_at
        elif isinstance(event, Story.Moved):
            done_since = None
    if column is not None and since is not None:
        hours[column] += (now - since) / timedelta(hours=1)
    if done_since is None or created is None:
        return dict(hours), None, None, None
    cycle = (done_since - first_in_progress) / timedelta(hours=1) if first_in_progress else None
    return dict(hours), cycle, (done_since - created) / timedelta(hours=1), done_since
