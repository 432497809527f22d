"""Archiving a board: it leaves the lists and takes no more changes, but keeps its history.

Why a command that read the board before the archive cannot save after it, on both
backends: the archive records the next version of the board, of its placement and of
every open story, in one transaction. Commands that create, move, rank or archive
stories save the placement; commands on one story save that story; starting and
completing sprints and adding stories to them save the board or the stories. The
event store keeps (originator_id, originator_version) unique: SQLite runs one write
transaction at a time and PostgreSQL makes the second insert of a key wait for the
first and then fail. So such a command that decided before the archive loses its race
(``RaceLost``); retried, it reads the archived board and is refused (INVALID_TRANSITION).
Archived stories take no changes anyway. Only createSprint and updateSprint save the
sprint alone; one of them racing the archive may land just after it, touching no story.
"""

from __future__ import annotations

from storyline_domain import rules
from storyline_domain.base import Stamp, StorylineAggregate
from storyline_domain.board import Role
from storyline_domain.story import Story, story_id
from storyline_service.application import Caller, Storyline, retry_lost_race
from storyline_service.placing import load_placement


@retry_lost_race
def archive_board(app: Storyline, caller: Caller, board_key: str) -> str:
    def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
        board = app._board(board_key, caller, Role.ADMIN)
        placement = load_placement(app, board, stamp)
        stories = [app._get(Story, story_id(key), f"story {key}") for key in sorted(placement.spots)]
        rules.archive_board(board, placement, stories, stamp)
        return board.key, [board, placement, *stories]

    return app._execute("archiveBoard", caller, dict(board_key=board_key), run)
