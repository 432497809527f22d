"""Archiving a board: it leaves the lists and takes no more changes, but keeps its history.

Why a command that read the board before the archive cannot save after it, on both
backends: the archive records the next version of the board, of its placement, of
every open story and of every planned or active sprint, in one transaction. Commands
that create, move, rank or archive stories, and createSprint, save the placement;
commands on one story save that story; updateSprint saves the sprint; starting and
completing sprints and adding stories to them save the board or the stories and
sprints. The event store keeps (originator_id, originator_version) unique: SQLite
runs one write transaction at a time and PostgreSQL makes the second insert of a key
wait for the first and then fail. So such a command that decided before the archive
loses its race (``RaceLost``); retried, it reads the archived board and is refused
(INVALID_TRANSITION). Archived stories and closed sprints take no changes anyway.

The archive finds the board's sprints inside that boundary, never in a read model:
createSprint lists each new sprint on the placement (``Placement.SprintPlanned``),
so a sprint planned at the same moment as the archive either commits first, and the
archive loses on the placement and sees it when retried, or loses itself. A placement
recorded before it listed sprints may miss older ones; for such a board the archive
also reads the Sprint.Created events of the event store (see ``sprints_of``).
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.utils import get_topic

from storyline_domain import rules
from storyline_domain.base import Stamp, StorylineAggregate
from storyline_domain.board import Role
from storyline_domain.placement import Placement
from storyline_domain.sprint import Sprint
from storyline_domain.story import Story, story_id
from storyline_service.application import Caller, Storyline, retry_lost_race
from storyline_service.placing import load_placement

SPRINT_CREATED = get_topic(Sprint.Created)
PAGE = 1000


@retry_lost_race
def archive_board(app: Storyline, caller: Caller, board_key: str) -> str:
    def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
        board = app._board(board_key, caller, Role.ADMIN)
        placement = load_placement(app, board, stamp)
        stories = [app._get(Story, story_id(key), f"story {key}") for key in sorted(placement.spots)]
        sprints = [app._get(Sprint, sprint_id, "sprint") for sprint_id in sprints_of(app, placement)]
        rules.archive_board(board, placement, stories, sprints, stamp)
        return board.key, [board, placement, *stories, *sprints]  # closed sprints record nothing

    return app._execute("archiveBoard", caller, dict(board_key=board_key), run)


def sprints_of(app: Storyline, placement: Placement) -> list[UUID]:
    """The ids of the board's sprints, in the order they were planned.

    A placement recorded before placements listed sprints lists only those planned
    since; the older ones are found in the Sprint.Created events of the event store
    (one read of the log by topic, for the one archive such a board can have). They
    were recorded before the placement listed sprints, so they are there to be read.
    """
    if placement.lists_every_sprint:
        return list(placement.sprint_ids)
    found: list[UUID] = []
    start = 1
    while page := app.recorder.select_notifications(start, PAGE, topics=[SPRINT_CREATED]):
        for notification in page:
            event = app.mapper.to_domain_event(notification)
            if isinstance(event, Sprint.Created) and event.board_key == placement.board_key:
                found.append(event.originator_id)
        start = page[-1].id + 1
    return list(dict.fromkeys([*found, *placement.sprint_ids]))
