"""KeySequence: gap-free story and epic keys, bottom ranks for new stories; rank_between."""

from __future__ import annotations

import pytest

from storyline_domain.board import KeySequence, key_sequence_id
from storyline_domain.epic import Epic, epic_id
from storyline_domain.errors import ValidationError
from storyline_domain.ranking import rank_after, rank_between
from storyline_domain.story import Story, story_id
from tests.domain.conftest import Clock, Kit, assert_stamped, event_types, recorded, refused


def test_key_sequence_is_created_empty(clock: Clock) -> None:
    stamp = clock.stamp()
    keys = KeySequence.create("PAY", stamp)
    events = recorded(keys)
    assert event_types(events) == [KeySequence.Created]
    assert_stamped(events, stamp)
    assert keys.id == key_sequence_id("PAY")
    assert (keys.board_key, keys.last_story_number, keys.last_epic_number, keys.last_rank) == (
        "PAY",
        0,
        0,
        None,
    )


def test_story_keys_are_issued_gap_free_with_one_event_each(kit: Kit) -> None:
    stamps = [kit.clock.stamp() for _ in range(5)]
    issued = [kit.keys.issue_story_key(stamp) for stamp in stamps]

    assert [key for key, _ in issued] == ["PAY-1", "PAY-2", "PAY-3", "PAY-4", "PAY-5"]
    events = recorded(kit.keys)
    assert event_types(events) == [KeySequence.StoryNumberIssued] * 5
    assert [event.number for event in events] == [1, 2, 3, 4, 5]
    assert [event.rank for event in events] == [rank for _, rank in issued]
    for event, stamp in zip(events, stamps, strict=True):
        assert_stamped([event], stamp)
    assert kit.keys.last_story_number == 5


def test_new_stories_rank_below_previous_ones(kit: Kit) -> None:
    ranks = [kit.keys.issue_story_key(kit.clock.stamp())[1] for _ in range(30)]
    assert ranks == sorted(ranks)
    assert len(set(ranks)) == len(ranks)
    assert kit.keys.last_rank == ranks[-1]


def test_epic_keys_are_numbered_apart_from_story_keys(kit: Kit) -> None:
    kit.keys.issue_story_key(kit.clock.stamp())
    stamp = kit.clock.stamp()
    assert kit.keys.issue_epic_key(stamp) == "PAY-E1"
    assert kit.keys.issue_epic_key(kit.clock.stamp()) == "PAY-E2"
    assert kit.keys.issue_story_key(kit.clock.stamp())[0] == "PAY-2"

    events = recorded(kit.keys)
    assert event_types(events) == [
        KeySequence.StoryNumberIssued,
        KeySequence.EpicNumberIssued,
        KeySequence.EpicNumberIssued,
        KeySequence.StoryNumberIssued,
    ]
    assert [event.number for event in events] == [1, 1, 2, 2]
    assert_stamped(events[1:2], stamp)


def test_stories_get_ids_from_their_keys(kit: Kit) -> None:
    story = kit.story()
    assert (story.key, story.id) == ("PAY-1", story_id("PAY-1"))


def test_epic_is_created_with_title_and_target_date(kit: Kit) -> None:
    epic = kit.epic(" Payments ")
    assert (epic.key, epic.id, epic.title, epic.board_key) == ("PAY-E1", epic_id("PAY-E1"), "Payments", "PAY")
    with refused(ValidationError, code="VALIDATION", field="title", match="epic title must be 1 to 200"):
        Epic.create("PAY", "PAY-E2", " ", None, kit.clock.stamp())


def test_story_created_event_carries_the_issued_rank(kit: Kit) -> None:
    first, second = kit.story("One"), kit.story("Two")
    assert first.rank < second.rank


def test_rank_between_orders_strictly_between_neighbours() -> None:
    a = rank_after(None)
    c = rank_after(a)
    b = rank_between(a, c)
    assert a < b < c
    top = rank_between(None, a)
    bottom = rank_between(c, None)
    assert top < a and c < bottom
    assert rank_between(None, None)


def test_repeated_rank_between_never_collides() -> None:
    lower, upper = rank_after(None), rank_after(rank_after(None))
    for _ in range(50):
        middle = rank_between(lower, upper)
        assert lower < middle < upper
        upper = middle


@pytest.mark.parametrize("same", [True, False])
def test_rank_between_refuses_lower_not_below_upper(same: bool) -> None:
    a = rank_after(None)
    b = rank_after(a)
    lower, upper = (a, a) if same else (b, a)
    with refused(ValidationError, code="VALIDATION", field="before", match="must rank above"):
        rank_between(lower, upper)


def test_rerank_records_one_event_and_no_renumbering(kit: Kit) -> None:
    first, second, third = kit.story("One"), kit.story("Two"), kit.story("Three")
    stamp = kit.clock.stamp()
    new_rank = rank_between(first.rank, second.rank)
    third.rerank(new_rank, stamp)

    events = recorded(third)
    assert event_types(events) == [Story.Ranked]
    assert_stamped(events, stamp)
    assert (events[0].previous, events[0].rank) == (kit.keys.last_rank, new_rank)
    assert sorted([first, second, third], key=lambda s: s.rank) == [first, third, second]
    assert recorded(first) == recorded(second) == []

    third.rerank(new_rank, kit.clock.stamp())
    assert recorded(third) == []
