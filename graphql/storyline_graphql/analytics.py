"""Analytics fields (the retrospective issue) attach here.

Board, Sprint and Story inherit these classes, so fields declared on them
appear on those types: Sprint.report and burndown; Board.velocity, flow,
forecast and asOf; Story.timeInStatus, cycleTimeHours, leadTimeHours,
blockedHours and asOf. Until they land the types serve no analytics at all,
rather than made-up values.
"""

from __future__ import annotations

import strawberry


@strawberry.type
class BoardAnalytics:
    pass


@strawberry.type
class SprintAnalytics:
    pass


@strawberry.type
class StoryAnalytics:
    pass


# Query, Mutation or Subscription fields of the analytics feature, merged into the schema.
ANALYTICS_TYPES: tuple[type, ...] = ()
