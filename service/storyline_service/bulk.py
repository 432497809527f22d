"""Bulk commands: many stories created, or added to a sprint, in one command and one transaction.

All or nothing: every item is checked, and if any breaks a rule nothing is recorded and
the command answers one error per failing item, its field naming the item (``stories.3.title``,
``storyKeys.2``). Created stories take their keys and ranks from the board's placement, in the
one save that also records them, so concurrent creators never share a key or a rank.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from storyline_domain import rules
from storyline_domain.base import Stamp, StorylineAggregate
from storyline_domain.board import Role
from storyline_domain.errors import DomainError, ItemErrors, ValidationError
from storyline_domain.sprint import Sprint
from storyline_service.application import Caller, Storyline, retry_lost_race
from storyline_service.placing import StoryCreation

T = TypeVar("T")

# The fields of one item of createStories, as createStory takes them, and as errors name them.
STORY_FIELDS = ("title", "description", "type", "priority", "labels", "points", "assignee", "epic_key")
ITEM_FIELDS = ("title", "description", "type", "priority", "labels", "points", "assignee", "epicKey")


def check_item_count(items: Sequence[Any], field: str, most: int) -> None:
    if not 1 <= len(items) <= most:
        raise ValidationError(f"give 1 to {most} items (got {len(items)})", field=field)


def each_item(
    items: Sequence[T], field: str, check: Callable[[int, T], None], own_fields: Sequence[str] = ()
) -> None:
    """Runs ``check`` on every item; raises one :class:`ItemErrors` for all that broke a rule.

    An error on one of ``own_fields`` names it under the item (``stories.3.title``); any
    other names the item itself (``storyKeys.2``)."""
    errors: list[DomainError] = []
    for index, item in enumerate(items):
        try:
            check(index, item)
        except DomainError as error:
            own = error.field in own_fields
            at = f"{field}.{index}.{error.field}" if own else f"{field}.{index}"
            errors.append(type(error)(error.message, field=at))
    if errors:
        raise ItemErrors(errors)


@retry_lost_race
def create_stories(
    app: Storyline,
    caller: Caller,
    board_key: str,
    items: list[dict[str, Any]],
    sprint_id: str | None = None,
) -> list[str]:
    """Creates the stories, in order, at the bottom of the board (and in ``sprint_id``'s sprint);
    returns their keys."""
    check_item_count(items, "stories", app.policy.limits.max_bulk_items)
    items = [{name: item.get(name) for name in STORY_FIELDS} for item in items]

    def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
        board = app._board(board_key, caller, Role.MEMBER)
        sprint = app._sprint_for_new_stories(sprint_id, caller, board) if sprint_id else None
        creation = StoryCreation.on(app, board, stamp)

        def create(_: int, item: dict[str, Any]) -> None:
            app._new_story(creation, item, sprint, stamp)

        each_item(items, "stories", create, ITEM_FIELDS)
        keys = ",".join(story.key for story in creation.stories)
        return keys, [*creation.changed(), sprint] if sprint else creation.changed()

    args = dict(board_key=board_key, stories=items, sprint_id=sprint_id)
    return app._execute("createStories", caller, args, run).split(",")


def add_stories_to_sprint(app: Storyline, caller: Caller, sprint_id: str, story_keys: list[str]) -> str:
    """Adds the stories to the sprint, as addStoryToSprint would one by one; returns the sprint id."""
    check_item_count(story_keys, "storyKeys", app.policy.limits.max_bulk_items)

    def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
        sprint = app._sprint(sprint_id, caller, Role.MEMBER)
        sprint.check_open()
        changed: list[StorylineAggregate] = [sprint]
        seen: set[str] = set()

        def add(_: int, key: str) -> None:
            if key in seen:
                raise ValidationError(f"{key} is given twice")
            seen.add(key)
            story = app._story(key, caller, Role.MEMBER)
            current = None
            if story.sprint_id is not None and story.sprint_id != sprint.id:
                current = app._get(Sprint, story.sprint_id, "sprint")
            elif story.sprint_id is not None:
                current = sprint
            rules.add_story_to_sprint(story, sprint, current, stamp)
            changed.append(story)

        each_item(story_keys, "storyKeys", add)
        return sprint_id, changed

    return app._execute("addStoriesToSprint", caller, dict(sprint_id=sprint_id, story_keys=story_keys), run)
