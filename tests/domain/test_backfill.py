"""Backfill: business time on an aggregate never runs backwards."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from storyline_domain import rules
from storyline_domain.base import Stamp, StorylineAggregate
from storyline_domain.board import Role
from storyline_domain.errors import ValidationError
from tests.domain.conftest import Kit, assert_stamped, drain, recorded, refused

MINUTE = timedelta(minutes=1)


def commands(kit: Kit) -> dict[str, tuple[StorylineAggregate, Callable[[Stamp], None]]]:
    """One command per aggregate type, each on an aggregate with some history."""
    story, sprint = kit.story(), kit.sprint()
    return {
        "board": (kit.board, lambda stamp: kit.board.grant_role("bob", Role.MEMBER, stamp)),
        "keys": (kit.keys, lambda stamp: kit.keys.issue_story_key(stamp) and None),
        "story": (story, lambda stamp: story.estimate(3, stamp)),
        "sprint": (sprint, lambda stamp: sprint.update({"goal": "Refunds"}, stamp)),
    }


@pytest.mark.parametrize("which", ["board", "keys", "story", "sprint"])
def test_backfill_before_the_last_change_is_refused(kit: Kit, which: str) -> None:
    aggregate, command = commands(kit)[which]
    earlier = aggregate.last_occurred_at - timedelta(microseconds=1)
    with refused(
        ValidationError,
        code="VALIDATION",
        field="occurredAt",
        match=re.escape(
            f"occurredAt {earlier.isoformat()} is earlier than the last recorded change "
            f"({aggregate.last_occurred_at.isoformat()})"
        ),
        untouched=[aggregate],
    ):
        command(kit.clock.stamp(occurred_at=earlier))


@pytest.mark.parametrize("which", ["board", "keys", "story", "sprint"])
@pytest.mark.parametrize("offset", [timedelta(0), MINUTE])
def test_backfill_at_or_after_the_last_change_is_accepted(kit: Kit, which: str, offset: timedelta) -> None:
    aggregate, command = commands(kit)[which]
    stamp = kit.clock.stamp(occurred_at=aggregate.last_occurred_at + offset)
    command(stamp)
    events = recorded(aggregate)
    assert len(events) == 1
    assert_stamped(events, stamp)
    assert aggregate.last_occurred_at == stamp.occurred_at


def test_backfill_may_lie_before_the_recording_time(kit: Kit) -> None:
    story = kit.story()
    stamp = kit.clock.stamp(occurred_at=story.last_occurred_at + MINUTE)
    assert stamp.recorded_at > stamp.occurred_at
    story.estimate(5, stamp)
    (event,) = recorded(story)
    assert (event.occurred_at, event.timestamp) == (stamp.occurred_at, stamp.recorded_at)


def test_a_live_stamp_behind_the_last_change_never_moves_business_time_back(kit: Kit) -> None:
    story = kit.story()
    lagging = kit.clock.stamp()
    story.estimate(3, kit.clock.stamp())
    last = story.last_occurred_at
    story.estimate(5, lagging)  # a live clock a little behind: not refused, but not backwards
    _, event = recorded(story)
    assert event.occurred_at == last == story.last_occurred_at


def test_a_refused_backfill_across_aggregates_records_nothing_on_any(kit: Kit) -> None:
    story, sprint = kit.story(), kit.sprint()
    story.estimate(3, kit.clock.stamp())
    drain(story)
    between = sprint.last_occurred_at + timedelta(seconds=1)  # after the sprint's, before the story's
    assert sprint.last_occurred_at < between < story.last_occurred_at
    with refused(
        ValidationError,
        code="VALIDATION",
        field="occurredAt",
        match="earlier than the last",
        untouched=[story, sprint],
    ):
        rules.add_story_to_sprint(story, sprint, None, kit.clock.stamp(occurred_at=between))


def test_a_refused_backfill_on_start_records_nothing_on_the_sprint(kit: Kit) -> None:
    sprint = kit.sprint()
    kit.board.grant_role("bob", Role.MEMBER, kit.clock.stamp())
    drain(kit.board)
    between = sprint.last_occurred_at + timedelta(seconds=1)
    with refused(
        ValidationError,
        code="VALIDATION",
        field="occurredAt",
        match="earlier than the last",
        untouched=[kit.board, sprint],
    ):
        rules.start_sprint(kit.board, sprint, [], kit.clock.stamp(occurred_at=between))


def test_a_refused_backfill_on_complete_records_nothing_anywhere(kit: Kit) -> None:
    story, sprint = kit.story(), kit.sprint()
    rules.add_story_to_sprint(story, sprint, None, kit.clock.stamp())
    rules.start_sprint(kit.board, sprint, [story], kit.clock.stamp())
    story.estimate(8, kit.clock.stamp())
    drain(story, sprint, kit.board)
    between = sprint.last_occurred_at + timedelta(seconds=1)
    with refused(
        ValidationError,
        code="VALIDATION",
        field="occurredAt",
        match="earlier than the last",
        untouched=[kit.board, sprint, story],
    ):
        rules.complete_sprint(kit.board, sprint, [story], None, kit.clock.stamp(occurred_at=between))


def test_a_refused_backfill_on_archive_records_nothing_on_the_story(kit: Kit) -> None:
    story, sprint = kit.story(), kit.sprint()
    rules.add_story_to_sprint(story, sprint, None, kit.clock.stamp())
    sprint.update({"goal": "Later"}, kit.clock.stamp())
    drain(story, sprint)
    between = story.last_occurred_at + timedelta(seconds=1)
    with refused(
        ValidationError,
        code="VALIDATION",
        field="occurredAt",
        match="earlier than the last",
        untouched=[story, sprint],
    ):
        rules.archive_story(story, sprint, kit.placement, kit.clock.stamp(occurred_at=between))
