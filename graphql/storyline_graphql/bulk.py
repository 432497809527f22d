"""Bulk mutations: many stories created, or added to a sprint, in one change.

All or nothing: if any item breaks a rule, nothing is recorded and `errors` holds
one error per failing item, its `field` naming the item (`stories.3.title`, `storyKeys.2`).
"""

from __future__ import annotations

from typing import Any

import strawberry

from storyline_graphql.common import BackfillInput, UserError, run_command
from storyline_graphql.context import Info
from storyline_graphql.enums import Priority, StoryType
from storyline_graphql.sprints import Sprint, SprintPayload, load_sprint, sprint_payload
from storyline_graphql.stories import Story
from storyline_service.application import Caller
from storyline_service.bulk import add_stories_to_sprint, create_stories


@strawberry.input(description="One story of `createStories`: the fields of `createStory`.")
class CreateStoryItem:
    title: str
    description: str | None = None
    type: StoryType | None = StoryType.STORY
    priority: Priority | None = Priority.MEDIUM
    labels: list[str] | None = None
    points: float | None = None
    assignee: str | None = None
    epic_key: str | None = None

    def fields(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "description": self.description,
            "type": (self.type or StoryType.STORY).value,
            "priority": (self.priority or Priority.MEDIUM).value,
            "labels": self.labels,
            "points": self.points,
            "assignee": self.assignee,
            "epic_key": self.epic_key,
        }


@strawberry.input
class CreateStoriesInput(BackfillInput):
    board_key: str
    stories: list[CreateStoryItem] = strawberry.field(
        description="1 to STORYLINE_MAX_BULK_ITEMS (100) stories, created in this order at the bottom of the "
        "backlog."
    )
    sprint_id: strawberry.ID | None = strawberry.field(
        default=None, description="Also adds every new story to this PLANNED or ACTIVE sprint of the board."
    )


@strawberry.input
class AddStoriesToSprintInput(BackfillInput):
    sprint_id: strawberry.ID
    story_keys: list[str] = strawberry.field(description="1 to STORYLINE_MAX_BULK_ITEMS (100) stories.")


@strawberry.type
class CreateStoriesPayload:
    errors: list[UserError] = strawberry.field(
        description="One per failing item (`field`: `stories.3.title`), or one for the whole input."
    )
    client_mutation_id: str | None
    story_keys: strawberry.Private[list[str]]
    sprint_id: strawberry.Private[str | None]

    @strawberry.field(description="The new stories, in the order given. Empty on failure.")
    async def stories(self, info: Info) -> list[Story]:
        rows = await info.context.loaders.story.load_many(self.story_keys)
        return [Story.from_row(row) for row in rows if row is not None]

    @strawberry.field(description="The sprint the stories joined, if `sprintId` was given.")
    async def sprint(self, info: Info) -> Sprint | None:
        return await load_sprint(info, self.sprint_id) if self.sprint_id else None


@strawberry.type
class BulkMutations:
    @strawberry.mutation(
        description="Creates many stories in one change: all of them, or none and an error per failing item."
    )
    async def create_stories(self, info: Info, input: CreateStoriesInput) -> CreateStoriesPayload:
        items = [item.fields() for item in input.stories]

        def command(caller: Caller) -> str:
            keys = create_stories(info.context.app, caller, input.board_key, items, input.sprint_id)
            return ",".join(keys)

        keys, errors = await run_command(info, input, command)
        return CreateStoriesPayload(
            errors=errors,
            client_mutation_id=input.client_mutation_id,
            story_keys=keys.split(",") if keys else [],
            sprint_id=input.sprint_id if keys else None,
        )

    @strawberry.mutation(
        description="Adds many stories to a sprint in one change: all of them, or none and an error per "
        "failing item. `stories` in the payload are the stories added."
    )
    async def add_stories_to_sprint(self, info: Info, input: AddStoriesToSprintInput) -> SprintPayload:
        return await sprint_payload(
            info,
            input,
            lambda caller: add_stories_to_sprint(info.context.app, caller, input.sprint_id, input.story_keys),
            input.story_keys,
        )
