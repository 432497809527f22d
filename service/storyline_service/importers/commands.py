"""Commands only importers need, run through the application's own execution path."""

from __future__ import annotations

from typing import Any

from storyline_domain.base import Stamp, StorylineAggregate
from storyline_domain.board import Role
from storyline_domain.errors import ValidationError
from storyline_domain.story import story_id
from storyline_service.application import Caller, Storyline
from storyline_service.placing import StoryCreation


def create_story_with_key(
    app: Storyline,
    caller: Caller,
    board_key: str,
    key: str,
    fields: dict[str, Any],
    points: float | None,
    assignee: str | None,
) -> str:
    """Creates a story that keeps the key it had in the tool it comes from."""

    def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
        board = app._board(board_key, caller, Role.ADMIN)
        if story_id(key) in app.repository:
            raise ValidationError(f"story {key} exists already", field="key")
        creation = StoryCreation.on(app, board, stamp)
        story = creation.new_story(fields, points, assignee, None, stamp, app.policy.limits, kept_key=key)
        return story.key, creation.changed()

    args = dict(board_key=board_key, key=key, fields=fields, points=points, assignee=assignee)
    return app._execute("importStory", caller, args, run)
