"""Story: fields, points, labels, moves and WIP limits, blocking, archiving."""

from __future__ import annotations

import math
from typing import Any

import pytest

from storyline_domain.board import Role, StatusCategory
from storyline_domain.errors import InvalidTransitionError, ValidationError
from storyline_domain.story import Story
from tests.domain.conftest import (
    Clock,
    Kit,
    assert_stamped,
    column,
    drain,
    event_types,
    new_kit,
    recorded,
    refused,
)

# ----- creation -----


def test_a_story_is_assigned_only_to_a_member_of_its_board(kit: Kit) -> None:
    stamp = kit.clock.stamp()
    key, rank = kit.keys.issue_story_key(stamp)
    with refused(ValidationError, code="VALIDATION", field="assignee", match="mallory is not a member"):
        Story.create(kit.board, key, rank, {"title": "T"}, None, " mallory ", None, stamp)


def test_create_story_records_created_with_defaults(kit: Kit) -> None:
    kit.board.grant_role("bob", Role.MEMBER, kit.clock.stamp())
    stamp = kit.clock.stamp("bob")
    key, rank = kit.keys.issue_story_key(stamp)
    story = Story.create(kit.board, key, rank, {"title": "  Pay by card  "}, 3, " bob ", None, stamp)

    events = recorded(story)
    assert event_types(events) == [Story.Created]
    assert_stamped(events, stamp)
    created = events[0]
    assert (created.key, created.board_key, created.title) == ("PAY-1", "PAY", "Pay by card")
    assert (created.type, created.priority, created.labels, created.description) == (
        "STORY",
        "MEDIUM",
        [],
        "",
    )
    assert (created.points, created.assignee, created.column, created.rank) == (3.0, "bob", "TODO", rank)
    assert created.epic_key is None
    assert story.sprint_id is None and not story.blocked and not story.archived


def test_story_starts_in_the_first_todo_column(clock: Clock) -> None:
    kit = new_kit(
        clock, columns=[column("DOING", "IN_PROGRESS"), column("INBOX", "TODO"), column("X", "DONE")]
    )
    assert kit.story().column == "INBOX"
    assert kit.board.first_column(StatusCategory.TODO) == "INBOX"


@pytest.mark.parametrize("title", ["", "   ", "x" * 201, " " + "x" * 201])
def test_title_must_be_1_to_200_characters_after_trimming(kit: Kit, title: str) -> None:
    with refused(ValidationError, code="VALIDATION", field="title", match="title must be 1 to 200"):
        kit.story(title)


@pytest.mark.parametrize("title", ["x", "x" * 200, "   " + "x" * 200 + "   "])
def test_title_at_the_bounds_is_accepted(kit: Kit, title: str) -> None:
    assert kit.story(title).title == title.strip()


def test_title_is_required(kit: Kit) -> None:
    stamp = kit.clock.stamp()
    with refused(ValidationError, code="VALIDATION", field="title", match="title is required"):
        Story.create(kit.board, "PAY-9", "a0", {}, None, None, None, stamp)


@pytest.mark.parametrize("points", [-1, -0.5, 1000.5, math.nan, math.inf, -math.inf])
def test_points_must_be_finite_between_0_and_1000(kit: Kit, points: float) -> None:
    with refused(ValidationError, code="VALIDATION", field="points", match="points must be between 0"):
        kit.story(points=points)


@pytest.mark.parametrize("points", [None, 0, 0.5, 13, 1000])
def test_points_of_zero_or_more_or_none_are_accepted(kit: Kit, points: float | None) -> None:
    story = kit.story(points=points)
    assert story.points == points
    assert points is None or isinstance(story.points, float)


@pytest.mark.parametrize(("field", "value"), [("type", "EPIC"), ("priority", "URGENT"), ("type", "story")])
def test_type_and_priority_must_be_known(kit: Kit, field: str, value: str) -> None:
    with refused(ValidationError, code="VALIDATION", field=field, match=f"unknown {field} '{value}'"):
        kit.story(**{field: value})


def test_known_type_and_priority_are_recorded(kit: Kit) -> None:
    story = kit.story(type="BUG", priority="HIGHEST")
    assert (story.type, story.priority) == ("BUG", "HIGHEST")


def test_labels_are_trimmed_deduplicated_and_sorted(kit: Kit) -> None:
    story = kit.story(labels=[" ux ", "api", "ux", "  ", "api"])
    assert story.labels == ["api", "ux"]


def test_label_longer_than_50_characters_is_refused(kit: Kit) -> None:
    with refused(ValidationError, code="VALIDATION", field="labels", match="at most 50"):
        kit.story(labels=["x" * 51])


# ----- update, estimate, assign -----


def test_update_records_only_changed_fields_as_before_after(kit: Kit) -> None:
    story = kit.story("Pay by card", type="STORY")
    stamp = kit.clock.stamp()
    story.update({"title": " Pay by card v2 ", "type": "STORY", "labels": ["b", "a"]}, stamp)

    events = recorded(story)
    assert event_types(events) == [Story.Updated]
    assert_stamped(events, stamp)
    assert events[0].changes == {"title": ["Pay by card", "Pay by card v2"], "labels": [[], ["a", "b"]]}
    assert (story.title, story.labels) == ("Pay by card v2", ["a", "b"])


@pytest.mark.parametrize(
    ("changes", "field", "match"),
    [
        ({"title": " "}, "title", "title must be 1 to 200"),
        ({"priority": "P1"}, "priority", "unknown priority"),
        ({"description": "x" * 20_001}, "description", "at most 20000"),
        ({"column": "DONE"}, "column", "column cannot be edited"),
        ({"labels": ["ok", "y" * 51]}, "labels", "at most 50"),
    ],
)
def test_invalid_update_is_refused_whole(kit: Kit, changes: dict[str, Any], field: str, match: str) -> None:
    story = kit.story()
    with refused(ValidationError, code="VALIDATION", field=field, match=match, untouched=[story]):
        story.update({"description": "fine", **changes}, kit.clock.stamp())


def test_estimate_and_assign_record_previous_values(kit: Kit) -> None:
    story = kit.story(points=None)
    first, second = kit.clock.stamp(), kit.clock.stamp()
    story.estimate(5, first)
    story.assign("bob", second)
    estimated, assigned = recorded(story)
    assert type(estimated) is Story.Estimated and (estimated.previous, estimated.points) == (None, 5.0)
    assert type(assigned) is Story.Assigned and (assigned.previous, assigned.assignee) == (None, "bob")
    assert_stamped([estimated], first)
    assert_stamped([assigned], second)

    story.estimate(None, kit.clock.stamp())
    story.assign("  ", kit.clock.stamp())
    cleared = recorded(story)
    assert [(type(e), e.previous) for e in cleared] == [(Story.Estimated, 5.0), (Story.Assigned, "bob")]
    assert (story.points, story.assignee) == (None, None)


@pytest.mark.parametrize("points", [-1, math.nan, math.inf])
def test_estimate_refuses_invalid_points(kit: Kit, points: float) -> None:
    story = kit.story(points=2)
    with refused(ValidationError, code="VALIDATION", field="points", match="points", untouched=[story]):
        story.estimate(points, kit.clock.stamp())


def test_commands_that_change_nothing_record_nothing(kit: Kit) -> None:
    story = kit.story("Same", points=3, labels=["a"])
    story.assign("bob", kit.clock.stamp())
    story.set_epic("PAY-E1", kit.clock.stamp())
    drain(story)
    version = story.version

    story.update({"title": " Same ", "labels": ["a", "a"], "type": "STORY"}, kit.clock.stamp())
    story.estimate(3.0, kit.clock.stamp())
    story.assign(" bob ", kit.clock.stamp())
    story.rerank(story.rank, kit.clock.stamp())
    story.set_epic("PAY-E1", kit.clock.stamp())

    assert recorded(story) == []
    assert story.version == version


def test_set_epic_records_previous(kit: Kit) -> None:
    story = kit.story()
    stamp = kit.clock.stamp()
    story.set_epic("PAY-E1", stamp)
    story.set_epic(None, kit.clock.stamp())
    linked, unlinked = recorded(story)
    assert_stamped([linked], stamp)
    assert (type(linked), linked.previous, linked.epic_key) == (Story.EpicChanged, None, "PAY-E1")
    assert (unlinked.previous, unlinked.epic_key) == ("PAY-E1", None)


# ----- moves (WIP limits and columns: test_placement.py) -----


def test_move_records_from_and_to_column(kit: Kit) -> None:
    story = kit.story()
    stamp = kit.clock.stamp()
    story.move("IN_PROGRESS", stamp)
    events = recorded(story)
    assert event_types(events) == [Story.Moved]
    assert_stamped(events, stamp)
    assert (events[0].from_column, events[0].to_column) == ("TODO", "IN_PROGRESS")
    assert story.column == "IN_PROGRESS"


# ----- blocking -----


def test_block_and_unblock_record_the_reason(kit: Kit) -> None:
    story = kit.story()
    stamp = kit.clock.stamp()
    story.block("  waiting on the bank  ", stamp)
    assert story.blocked and story.blocked_reason == "waiting on the bank"
    story.unblock(kit.clock.stamp())
    blocked, unblocked = recorded(story)
    assert_stamped([blocked], stamp)
    assert (type(blocked), blocked.reason) == (Story.Blocked, "waiting on the bank")
    assert (type(unblocked), unblocked.reason) == (Story.Unblocked, "waiting on the bank")
    assert not story.blocked and story.blocked_reason is None


def test_blocking_a_blocked_story_is_refused(kit: Kit) -> None:
    story = kit.story()
    story.block("bank", kit.clock.stamp())
    drain(story)
    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="storyKey",
        match="PAY-1 is already blocked",
        untouched=[story],
    ):
        story.block("another reason", kit.clock.stamp())


def test_unblocking_an_unblocked_story_is_refused(kit: Kit) -> None:
    story = kit.story()
    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="storyKey",
        match="PAY-1 is not blocked",
        untouched=[story],
    ):
        story.unblock(kit.clock.stamp())


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_block_needs_a_reason_of_1_to_500_characters(kit: Kit, reason: str) -> None:
    story = kit.story()
    with refused(
        ValidationError, code="VALIDATION", field="reason", match="reason must be 1 to 500", untouched=[story]
    ):
        story.block(reason, kit.clock.stamp())


# ----- archiving -----


def test_archive_records_archived(kit: Kit) -> None:
    story = kit.story()
    stamp = kit.clock.stamp()
    story.archive(stamp)
    events = recorded(story)
    assert event_types(events) == [Story.Archived]
    assert_stamped(events, stamp)
    assert story.archived


@pytest.mark.parametrize(
    "command",
    [
        "update",
        "estimate",
        "assign",
        "move",
        "rerank",
        "block",
        "unblock",
        "archive",
        "set_epic",
    ],
)
def test_archived_story_refuses_changes(kit: Kit, command: str) -> None:
    story = kit.story()
    story.block("bank", kit.clock.stamp())
    story.archive(kit.clock.stamp())
    drain(story)
    stamp = kit.clock.stamp()
    calls = {
        "update": lambda: story.update({"title": "New"}, stamp),
        "estimate": lambda: story.estimate(8, stamp),
        "assign": lambda: story.assign("bob", stamp),
        "move": lambda: story.move("DONE", stamp),
        "rerank": lambda: story.rerank("zz", stamp),
        "block": lambda: story.block("again", stamp),
        "unblock": lambda: story.unblock(stamp),
        "archive": lambda: story.archive(stamp),
        "set_epic": lambda: story.set_epic("PAY-E1", stamp),
    }
    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="storyKey",
        match="PAY-1 is archived",
        untouched=[story],
    ):
        calls[command]()
