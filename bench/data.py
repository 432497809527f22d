"""A deterministic generator of realistic board histories, written through the real application.

Each board gets a workflow, a team, epics and a run of two-week sprints: planning
fills each sprint up to its size, stories cross the columns during the sprint, some
are re-estimated or blocked, scope is added and removed mid-sprint, and unfinished
stories carry over when a sprint completes. The last sprint of every board stays
active. All times are backfilled (``occurred_at``) and end before today, so the
same seed on the same day always gives the same history.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from storyline_domain.sprint import Sprint
from storyline_service.application import Caller, Storyline

COLUMNS = [
    {"key": "TODO", "name": "To Do", "category": "TODO"},
    {"key": "IN_PROGRESS", "name": "In Progress", "category": "IN_PROGRESS"},
    {"key": "REVIEW", "name": "Review", "category": "IN_PROGRESS"},
    {"key": "DONE", "name": "Done", "category": "DONE"},
]
FLOW = [column["key"] for column in COLUMNS]
DONE = "DONE"
TEAM = ("ana", "ben", "chen", "dara", "eli", "fay")
MANAGER = "ana"
LABELS = ("web", "api", "ops", "mobile", "data", "security")
POINTS = (1.0, 2.0, 3.0, 3.0, 5.0, 5.0, 8.0, 13.0, None)
WORDS = ("checkout", "invoice", "search", "login", "export", "report", "profile", "billing", "alerts")
SPRINT_DAYS = 14  # start to start
WORKING_DAYS = 12  # planned start to planned end, Monday to the second Friday
ACTIVE_DAY = 5  # the active sprint started this many days before today


@dataclass(frozen=True)
class Shape:
    """How much history one board gets."""

    sprints: int = 10  # per board, the last one active
    sprint_stories: int = 100  # members of each sprint when it starts
    finish_rate: float = 0.85  # share of stories done by the end of their sprint


@dataclass
class Summary:
    """What was generated, counted by the generator itself (the smoke test checks it against the log)."""

    boards: list[str] = field(default_factory=list)
    stories: int = 0
    epics: int = 0
    sprints: int = 0
    closed_sprints: int = 0
    active_sprints: dict[str, str] = field(default_factory=dict)  # board key -> sprint id
    active_members: dict[str, list[str]] = field(default_factory=dict)  # board key -> story keys
    calls: Counter[str] = field(default_factory=Counter)  # application method name -> commands run
    added_mid_sprint: int = 0
    removed_mid_sprint: int = 0
    carried_over: int = 0
    events: int = 0
    first_occurred_at: datetime | None = None
    last_occurred_at: datetime | None = None

    def add(self, other: Summary) -> None:
        """Folds another board's summary into this one."""
        self.boards += other.boards
        for name in (
            "stories",
            "epics",
            "sprints",
            "closed_sprints",
            "added_mid_sprint",
            "removed_mid_sprint",
            "carried_over",
            "events",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.calls.update(other.calls)
        self.active_sprints.update(other.active_sprints)
        self.active_members.update(other.active_members)
        times = [t for t in (self.first_occurred_at, other.first_occurred_at) if t]
        self.first_occurred_at = min(times, default=None)
        times = [t for t in (self.last_occurred_at, other.last_occurred_at) if t]
        self.last_occurred_at = max(times, default=None)

    @property
    def commands(self) -> int:
        return sum(self.calls.values())

    @property
    def moves(self) -> int:
        return self.calls["move_story"]


def board_key(index: int) -> str:
    """BA, BB, ..., BZ, BBA, ...: board keys are upper-case letters only."""
    letters = ""
    index += 26  # at least two letters
    while index:
        index, rest = divmod(index, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


@dataclass(order=True)
class Step:
    """One command at one business time; ``seq`` keeps equal times in planning order."""

    when: datetime
    seq: int
    actor: str = field(compare=False)
    command: Callable[..., object] = field(compare=False)
    args: tuple[object, ...] = field(compare=False)


class BoardWriter:
    """Writes one board's history, command by command, in business-time order."""

    def __init__(self, app: Storyline, key: str, shape: Shape, rng: random.Random, today: date) -> None:
        self.app = app
        self.key = key
        self.shape = shape
        self.rng = rng
        self.cutoff = datetime.combine(today, time(0), tzinfo=UTC)  # nothing is recorded after this
        self.active_start = today - timedelta(days=ACTIVE_DAY)
        self.summary = Summary(boards=[key])
        self.column: dict[str, str] = {}  # the generator's own view of where each story is
        self.assignee: dict[str, str | None] = {}
        self.points: dict[str, float | None] = {}
        self.backlog: list[str] = []  # not done, in no open sprint
        self.epics: list[str] = []
        self.seq = 0

    # ----- plumbing -----

    def run(self, actor: str, when: datetime, command: Callable[..., str], *args: object) -> str:
        # The generator acts as an importer: backfilled times, superuser rights.
        assert when < self.cutoff, "plans never reach today"
        result = command(Caller(actor, occurred_at=when, superuser=True), *args)
        self.summary.calls[command.__name__] += 1
        if self.summary.first_occurred_at is None:
            self.summary.first_occurred_at = when
        self.summary.last_occurred_at = when
        return result

    def step(self, when: datetime, actor: str, command: Callable[..., object], *args: object) -> Step:
        self.seq += 1
        return Step(when, self.seq, actor, command, args)

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=UTC)

    # ----- the board -----

    def write(self) -> Summary:
        before = self.app.recorder.max_notification_id() or 0
        sprints = self.shape.sprints
        first_start = self.active_start - timedelta(days=(sprints - 1) * SPRINT_DAYS)
        self.setup(first_start - timedelta(days=7))
        start = first_start
        sprint_id = self.plan_sprint(1, start)
        for number in range(1, sprints + 1):
            self.fill(sprint_id, start)
            last = number == sprints
            self.play(sprint_id, start, active=last)
            if last:
                self.summary.active_sprints[self.key] = sprint_id
                break
            next_start = start + timedelta(days=SPRINT_DAYS)
            following = self.plan_sprint(number + 1, next_start, day=start + timedelta(days=WORKING_DAYS - 1))
            self.complete(sprint_id, following, start + timedelta(days=WORKING_DAYS - 1))
            sprint_id, start = following, next_start
        self.summary.sprints = sprints
        self.summary.closed_sprints = sprints - 1
        self.summary.events = (self.app.recorder.max_notification_id() or 0) - before
        return self.summary

    def setup(self, day: date) -> None:
        app = self.app
        self.run(MANAGER, self.at(day, 9), app.create_board, self.key, f"Team {self.key}", COLUMNS)
        for minute, user in enumerate(TEAM[1:], start=1):
            self.run(MANAGER, self.at(day, 9, minute), app.grant_role, self.key, user, "MEMBER")
        for n in range(3):
            title = f"{self.rng.choice(WORDS).title()} epic {n + 1}"
            target = day + timedelta(days=self.rng.randint(60, 200))
            self.epics.append(
                self.run(MANAGER, self.at(day, 10, n), app.create_epic, self.key, title, target)
            )
        self.summary.epics = len(self.epics)

    def new_story(self, when: datetime) -> str:
        rng = self.rng
        points = rng.choice(POINTS)
        assignee = rng.choice((None, *TEAM[1:]))
        key = self.run(
            MANAGER,
            when,
            self.app.create_story,
            self.key,
            f"{rng.choice(WORDS).title()}: {rng.choice(WORDS)} for {rng.choice(WORDS)}",
            None,
            rng.choice(("STORY", "STORY", "STORY", "BUG", "TASK")),
            rng.choice(("LOW", "MEDIUM", "MEDIUM", "HIGH")),
            sorted(set(rng.sample(LABELS, rng.randint(0, 2)))),
            points,
            assignee,
            rng.choice((None, *self.epics)),
        )
        self.summary.stories += 1
        self.column[key], self.assignee[key], self.points[key] = FLOW[0], assignee, points
        return key

    # ----- sprints -----

    def plan_sprint(self, number: int, start: date, day: date | None = None) -> str:
        """Creates the sprint, by default the Friday before it starts."""
        day = day or start - timedelta(days=3)
        end = start + timedelta(days=WORKING_DAYS - 1)
        goal = f"Ship {self.rng.choice(WORDS)}"
        return self.run(
            MANAGER, self.at(day, 15), self.app.create_sprint, self.key, f"Sprint {number}", start, end, goal
        )

    def fill(self, sprint_id: str, start: date) -> None:
        """Planning the day before the start: tops the sprint up to its size, backlog first."""
        planning = start - timedelta(days=1)
        members = self.members_of(sprint_id)
        wanted = self.shape.sprint_stories - len(members)
        # A few spare stories stay in the backlog for mid-sprint scope changes.
        while len(self.backlog) < wanted + max(2, wanted // 10):
            self.backlog.append(self.new_story(self.at(planning, 9, 0)))
        for minute, key in enumerate(self.backlog[:wanted]):
            self.run(
                MANAGER,
                self.at(planning, 14) + timedelta(seconds=20 * minute),
                self.app.add_story_to_sprint,
                sprint_id,
                key,
            )
        del self.backlog[:wanted]

    def members_of(self, sprint_id: str) -> list[str]:
        sprint: Sprint = self.app.repository.get(UUID(sprint_id))
        return list(sprint.members)

    def play(self, sprint_id: str, start: date, *, active: bool) -> None:
        """Starts the sprint and runs its days: work on stories, scope and estimate changes."""
        app, rng = self.app, self.rng
        self.run(MANAGER, self.at(start, 9, 30), app.start_sprint, sprint_id)
        members = self.members_of(sprint_id)
        last_day = start + timedelta(days=WORKING_DAYS - 1)
        steps: list[Step] = []
        # Mid-sprint scope changes: a few stories dropped on day 2, a few pulled in on day 3.
        dropped = rng.sample(members, max(1, len(members) // 30))
        for n, key in enumerate(dropped):
            when = self.at(start + timedelta(days=2), 10) + timedelta(seconds=20 * n)
            steps.append(self.step(when, MANAGER, app.remove_story_from_sprint, sprint_id, key))
        added = self.backlog[: max(1, len(members) // 20)]
        del self.backlog[: len(added)]
        for n, key in enumerate(added):
            when = self.at(start + timedelta(days=3), 11) + timedelta(seconds=20 * n)
            steps.append(self.step(when, MANAGER, app.add_story_to_sprint, sprint_id, key))
        working = [key for key in members if key not in dropped]
        for key in working:
            steps += self.story_plan(key, start, last_day)
        for key in added:
            steps += self.story_plan(key, start + timedelta(days=4), last_day)
        for step in sorted(steps):
            self.run(step.actor, step.when, step.command, *step.args)  # type: ignore[arg-type]
        self.summary.removed_mid_sprint += len(dropped)
        self.summary.added_mid_sprint += len(added)
        self.backlog = dropped + self.backlog  # dropped stories go back to the top of the backlog
        if active:
            self.summary.active_members[self.key] = [*working, *added]

    def story_plan(self, key: str, first_day: date, last_day: date) -> list[Step]:
        """A story's way across the remaining columns, within the sprint's working days."""
        rng, app = self.rng, self.app
        worker = self.assignee[key] or rng.choice(TEAM[1:])
        begin = first_day + timedelta(days=rng.randint(0, max(0, (last_day - first_day).days - 3)))
        finish = rng.random() < self.shape.finish_rate
        steps: list[Step] = []
        if self.at(begin, 10) >= self.cutoff:
            return steps  # not started yet
        if self.assignee[key] is None:
            steps.append(
                self.step(self.at(begin, 9, rng.randint(0, 59)), worker, app.assign_story, key, worker)
            )
            self.assignee[key] = worker
        if rng.random() < 0.1:
            points = rng.choice([p for p in POINTS if p != self.points[key]])
            steps.append(self.step(self.at(begin, 9, 59), worker, app.estimate_story, key, points))
            self.points[key] = points
        day = begin
        remaining = FLOW[FLOW.index(self.column[key]) + 1 :]
        if not finish:
            remaining = remaining[: rng.randint(0, max(0, len(remaining) - 1))]
        for n, column in enumerate(remaining):
            if n:
                day += timedelta(days=rng.randint(0, 2))
            if day > last_day:
                break
            when = self.at(day, 10 + 2 * n, rng.randint(0, 59))
            if when >= self.cutoff:
                break
            if column == "REVIEW" and rng.random() < 0.1:
                # Blocked on the way to review, unblocked just before it gets there.
                steps.append(
                    self.step(when - timedelta(hours=1), worker, app.block_story, key, "waiting on API")
                )
                steps.append(self.step(when - timedelta(minutes=1), worker, app.unblock_story, key))
            steps.append(self.step(when, worker, app.move_story, key, column))
            self.column[key] = column
        return steps

    def complete(self, sprint_id: str, following: str, end: date) -> None:
        members = self.members_of(sprint_id)
        unfinished = [key for key in members if self.column[key] != DONE]
        self.run(MANAGER, self.at(end, 17), self.app.complete_sprint, sprint_id, following)
        self.summary.carried_over += len(unfinished)


def generate(
    app: Storyline, seed: int, boards: int, shape: Shape, *, first: int = 0, today: date | None = None
) -> Summary:
    """Writes ``boards`` boards (numbered from ``first``), each from its own seeded random stream."""
    today = today or datetime.now(UTC).date()
    summary = Summary()
    for index in range(first, first + boards):
        rng = random.Random(f"{seed}/{index}")
        summary.add(BoardWriter(app, board_key(index), shape, rng, today).write())
    return summary
