"""Sprints that differ only in how often their stories moved: a report's cost should not see it.

Moves do not change a sprint's scope, so its report and burndown should cost in proportion to its
stories and days. Two boards get the same seeded sprint, story for story; on one each story moves
about 10 times, on the other about 50 (back and forth between In Progress and Review before it is
done). Their closed first sprints are then reported on alternately.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bench.data import SPRINT_DAYS, BoardWriter, Shape, Step, board_key
from storyline_service.application import Storyline

SEED = "churn"
START_DAYS_AGO = 30  # the measured sprint is the first of two, so it is closed


class ChurnWriter(BoardWriter):
    """A board whose started stories each make ``moves`` moves: into progress, back and forth
    between In Progress and Review, and (most of them) done the next day."""

    def __init__(self, app: Storyline, key: str, shape: Shape, moves: int, today: date) -> None:
        super().__init__(app, key, shape, random.Random(SEED), today)
        self.moves = moves
        self.sprint_ids: list[str] = []
        self.active_start = today - timedelta(days=START_DAYS_AGO - SPRINT_DAYS)

    def plan_sprint(self, number: int, start: date, day: date | None = None) -> str:
        sprint_id = super().plan_sprint(number, start, day)
        self.sprint_ids.append(sprint_id)
        return sprint_id

    def story_plan(self, key: str, first_day: date, last_day: date) -> list[Step]:
        rng, app = self.rng, self.app
        if len(self.sprint_ids) > 1:
            return []  # only the measured sprint is played: the next one is there to close it
        worker = self.assignee[key] or "ben"
        begin = first_day + timedelta(days=rng.randint(0, max(0, (last_day - first_day).days - 2)))
        finish = rng.random() < self.shape.finish_rate
        if self.at(begin + timedelta(days=1), 12) >= self.cutoff or self.column[key] != "TODO":
            return []
        # TODO -> IN_PROGRESS, churn between IN_PROGRESS and REVIEW, then DONE: ``moves`` in all.
        churn = ["REVIEW" if n % 2 == 0 else "IN_PROGRESS" for n in range(self.moves - 2)]
        columns = ["IN_PROGRESS", *churn] + (["DONE"] if finish else [])
        steps = []
        for n, column in enumerate(columns):
            when = self.at(begin, 10) + timedelta(minutes=4 * n)
            if column == "DONE":
                when = self.at(begin + timedelta(days=1), 11)
            steps.append(self.step(when, worker, app.move_story, key, column))
            self.column[key] = column
        return steps


@dataclass(frozen=True)
class Churned:
    """The measured (closed) sprint of each board, by moves per story."""

    sprints: dict[int, str]
    stories: int


def write_churned(app: Storyline, stories: int, moves: tuple[int, ...] = (10, 50)) -> Churned:
    """One board per figure in ``moves``, from the same seed: two sprints each, the first closed."""
    today = datetime.now(UTC).date()
    shape = Shape(sprints=2, sprint_stories=stories)
    sprints = {}
    for index, count in enumerate(moves):
        writer = ChurnWriter(app, board_key(500 + index), shape, count, today)
        writer.write()
        sprints[count] = writer.sprint_ids[0]
    return Churned(sprints, stories)
