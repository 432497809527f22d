"""The placement: WIP limits, distinct and totally ordered ranks, and columns that hold stories."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from storyline_domain import rules
from storyline_domain.errors import InvalidTransitionError, ValidationError, WipLimitError
from storyline_domain.placement import Placement, distinct_ranks, placement_id
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
    replay,
)


def wip_kit(clock: Clock, limit: int = 2) -> Kit:
    columns = [column("TODO", "TODO"), column("DOING", "IN_PROGRESS", "Doing", limit), column("DONE", "DONE")]
    return new_kit(clock, columns=columns)


def test_a_new_board_has_an_empty_placement_with_its_columns_limits(clock: Clock) -> None:
    kit = wip_kit(clock, limit=3)
    assert kit.placement.id == placement_id("PAY")
    assert kit.placement.limits == {"TODO": None, "DOING": 3, "DONE": None}
    assert kit.placement.spots == {}


def test_new_stories_are_placed_at_the_bottom_of_the_first_todo_column(kit: Kit) -> None:
    stamp = kit.clock.stamp()
    first = rules.create_story(kit.board, kit.keys, kit.placement, {"title": "One"}, None, None, None, stamp)
    placed = recorded(kit.placement)
    assert event_types(placed) == [Placement.StoryPlaced]
    assert_stamped(placed, stamp)
    assert (placed[0].story_key, placed[0].column, placed[0].rank) == ("PAY-1", "TODO", first.rank)
    second = kit.story("Two")
    assert kit.placement.spots == {"PAY-1": ["TODO", first.rank], "PAY-2": ["TODO", second.rank]}
    assert first.rank < second.rank and kit.keys.last_rank == second.rank


def test_a_new_story_goes_below_a_story_ranked_to_the_bottom(kit: Kit) -> None:
    """The sequence's last issued rank is not the bottom once a story is ranked below it."""
    one, two = kit.story("One"), kit.story("Two")
    rules.rank_story(kit.placement, one, None, two.rank, kit.clock.stamp())
    three = kit.story("Three")
    assert two.rank < one.rank < three.rank


def test_move_records_on_the_story_and_the_placement(kit: Kit) -> None:
    story = kit.story()
    stamp = kit.clock.stamp()
    rules.move_story(kit.board, kit.placement, story, "IN_PROGRESS", stamp)
    moved = recorded(kit.placement)
    assert event_types(moved) == [Placement.StoryMoved] and event_types(recorded(story)) == [Story.Moved]
    assert_stamped(moved, stamp)
    assert kit.placement.column_of(story.key) == story.column == "IN_PROGRESS"


def test_a_move_to_the_storys_own_column_is_refused_and_records_nothing(kit: Kit) -> None:
    story = kit.story()
    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="toColumn",
        match="PAY-1 is already in To Do",
        untouched=[story, kit.placement],
    ):
        rules.move_story(kit.board, kit.placement, story, "TODO", kit.clock.stamp())


def test_a_move_to_an_unknown_column_is_refused(kit: Kit) -> None:
    story = kit.story()
    with refused(
        ValidationError,
        code="VALIDATION",
        field="toColumn",
        match="board PAY has no column QA",
        untouched=[story, kit.placement],
    ):
        rules.move_story(kit.board, kit.placement, story, "QA", kit.clock.stamp())


def test_the_placement_decides_on_its_own_columns_not_a_stale_boards(kit: Kit) -> None:
    """A board loaded before its columns changed still names the old column: the placement refuses."""
    story = kit.story()
    kit.placement.configure([column("TODO", "TODO"), column("DONE", "DONE")], kit.clock.stamp())
    drain(kit.placement)
    assert kit.board.column("IN_PROGRESS") is not None  # this copy of the board has not heard of it
    with refused(
        ValidationError,
        code="VALIDATION",
        field="toColumn",
        match="no column IN_PROGRESS",
        untouched=[story, kit.placement],
    ):
        rules.move_story(kit.board, kit.placement, story, "IN_PROGRESS", kit.clock.stamp())


def test_a_move_into_a_column_at_its_wip_limit_is_refused(clock: Clock) -> None:
    kit = wip_kit(clock, limit=2)
    kit.move(kit.story(), "DOING")
    second = kit.story()
    kit.move(second, "DOING")  # below the limit: allowed
    story = kit.story()
    drain(kit.placement)
    with refused(
        WipLimitError,
        code="WIP_LIMIT",
        field="toColumn",
        match="Doing is at its WIP limit of 2",
        untouched=[story, kit.placement],
    ):
        rules.move_story(kit.board, kit.placement, story, "DOING", kit.clock.stamp())
    kit.move(second, "DONE")  # room again
    kit.move(story, "DOING")
    assert kit.placement.count_in("DOING") == 2


def test_columns_without_a_limit_take_any_number(kit: Kit) -> None:
    for _ in range(30):
        kit.move(kit.story(), "DONE")
    assert kit.placement.count_in("DONE") == 30


def test_a_new_story_is_refused_when_its_first_column_is_full(clock: Clock) -> None:
    columns = [column("TODO", "TODO", "Inbox", 1), column("DONE", "DONE")]
    kit = new_kit(clock, columns=columns)
    kit.story()
    with refused(
        WipLimitError,
        code="WIP_LIMIT",
        field="boardKey",
        match="Inbox is at its WIP limit of 1",
        untouched=[kit.keys, kit.placement],
    ):
        rules.create_story(
            kit.board, kit.keys, kit.placement, {"title": "x"}, None, None, None, kit.clock.stamp()
        )


def test_a_wip_limit_below_what_a_column_holds_is_refused(clock: Clock) -> None:
    kit = wip_kit(clock, limit=3)
    for _ in range(3):
        kit.move(kit.story(), "DOING")
    drain(kit.placement)
    columns = [column("TODO", "TODO"), column("DOING", "IN_PROGRESS", "Doing", 2), column("DONE", "DONE")]
    with refused(
        ValidationError,
        code="VALIDATION",
        field="columns.1.wipLimit",
        match="DOING holds 3 stories, more than a WIP limit of 2",
        untouched=[kit.board, kit.placement],
    ):
        rules.configure_columns(kit.board, kit.placement, columns, kit.clock.stamp())


def test_archived_stories_leave_the_placement(kit: Kit) -> None:
    story = kit.story()
    rules.archive_story(story, None, kit.placement, kit.clock.stamp())
    assert event_types(recorded(kit.placement)) == [Placement.StoryArchived]
    assert kit.placement.spots == {}


def test_move_with_a_rank_is_one_change_and_a_bad_rank_records_nothing(kit: Kit) -> None:
    one, two, three = kit.story("One"), kit.story("Two"), kit.story("Three")
    stamp = kit.clock.stamp()
    rules.move_story(kit.board, kit.placement, three, "IN_PROGRESS", stamp, (one.rank, None))
    assert event_types(recorded(kit.placement)) == [Placement.StoryMoved, Placement.StoryRanked]
    assert event_types(recorded(three)) == [Story.Moved, Story.Ranked]
    assert three.rank < one.rank < two.rank
    with refused(
        ValidationError,
        code="VALIDATION",
        field="before",
        match="'after' must rank above 'before'",
        untouched=[one, kit.placement],
    ):
        rules.move_story(kit.board, kit.placement, one, "DONE", kit.clock.stamp(), (three.rank, two.rank))


def test_ranking_between_distant_stories_takes_a_rank_no_one_has(kit: Kit) -> None:
    """Between 'after' PAY-1 and 'before' PAY-3 with PAY-2 in between, it goes just above PAY-3."""
    one, two, three, four = (kit.story(t) for t in ("One", "Two", "Three", "Four"))
    rules.rank_story(kit.placement, four, three.rank, one.rank, kit.clock.stamp())
    assert one.rank < two.rank < four.rank < three.rank


def test_ranking_to_where_a_story_already_is_records_nothing(kit: Kit) -> None:
    one, two = kit.story("One"), kit.story("Two")
    drain(kit.placement)
    rules.rank_story(kit.placement, one, two.rank, None, kit.clock.stamp())
    assert recorded(kit.placement) == [] and recorded(one) == []


def test_placement_events_replay_to_the_same_state(kit: Kit) -> None:
    kit.placement.collect_events()
    clock = kit.clock
    placement = Placement.create("OPS", kit.board.columns, {}, clock.stamp(), lists_every_sprint=True)
    placement.place("OPS-1", "TODO", "a0", "To Do", clock.stamp())
    placement.place("OPS-2", "TODO", "a1", "To Do", clock.stamp())
    placement.move("OPS-1", "DONE", "Done", clock.stamp())
    placement.rank("OPS-2", "a0", None, clock.stamp())
    placement.archive("OPS-1", clock.stamp())
    events = recorded(placement)
    assert replay(placement, events) == placement
    assert placement.spots == {"OPS-2": ["TODO", placement.rank_of("OPS-2")]}


def test_tied_ranks_are_made_distinct_in_the_boards_order() -> None:
    spots = {
        "PAY-1": ["TODO", "a0"],
        "PAY-2": ["TODO", "a2"],
        "PAY-3": ["DONE", "a2"],
        "PAY-4": ["TODO", "a2"],
    }
    numbers = {"PAY-1": 1, "PAY-2": 2, "PAY-3": 3, "PAY-4": 4}
    changed = distinct_ranks(spots, numbers)
    assert set(changed) == {"PAY-3", "PAY-4"}
    ranks = {key: changed.get(key, spot[1]) for key, spot in spots.items()}
    assert ranks["PAY-1"] < ranks["PAY-2"] < ranks["PAY-3"] < ranks["PAY-4"]


rank_commands = st.lists(
    st.tuples(st.integers(0, 30), st.integers(0, 30), st.sampled_from(["before", "after", "both"])),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(initial=st.integers(2, 8), commands=rank_commands, creates_between=st.integers(0, 3))
def test_any_sequence_of_ranks_keeps_ranks_distinct_and_places_the_story_as_asked(
    initial: int, commands: list[tuple[int, int, str]], creates_between: int
) -> None:
    kit = new_kit(Clock())
    stories = [kit.story(f"S{n}") for n in range(initial)]
    for step, (mover, anchor, side) in enumerate(commands):
        if creates_between and step % (creates_between + 3) == 0:
            stories.append(kit.story(f"new {step}"))
        story, other = stories[mover % len(stories)], stories[anchor % len(stories)]
        if story is other:
            continue
        order = sorted(stories, key=lambda s: s.rank)
        if side == "before":
            rules.rank_story(kit.placement, story, other.rank, None, kit.clock.stamp())
        elif side == "after":
            rules.rank_story(kit.placement, story, None, other.rank, kit.clock.stamp())
        else:
            position = order.index(other)
            if position == 0:
                continue
            below = order[position - 1] if order[position - 1] is not story else None
            if below is None:
                continue
            rules.rank_story(kit.placement, story, other.rank, below.rank, kit.clock.stamp())
        ranks = [s.rank for s in stories]
        assert len(set(ranks)) == len(ranks)
        assert {s.key: ["TODO", s.rank] for s in stories} == kit.placement.spots
        if side in ("before", "both"):
            assert story.rank < other.rank
            assert not [s for s in stories if story.rank < s.rank < other.rank]
        else:
            assert other.rank < story.rank
            assert not [s for s in stories if other.rank < s.rank < story.rank]
