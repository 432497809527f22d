"""Archiving a board: recorded on the board, its placement, each open story and each open sprint,
in one change."""

from __future__ import annotations

from storyline_domain import rules
from storyline_domain.board import Board
from storyline_domain.errors import InvalidTransitionError
from storyline_domain.placement import Placement
from storyline_domain.sprint import Sprint
from storyline_domain.story import Story
from tests.domain.conftest import Clock, Kit, assert_stamped, drain, event_types, recorded, refused


def test_archive_records_on_board_placement_and_every_open_story(clock: Clock, kit: Kit) -> None:
    first, second = kit.story("Pay by card"), kit.story("Refunds")
    stamp = clock.stamp("alice")

    rules.archive_board(kit.board, kit.placement, [first, second], [], stamp)

    board_events, placement_events = recorded(kit.board), recorded(kit.placement)
    story_events = [recorded(first), recorded(second)]
    assert event_types(board_events) == [Board.Archived]
    assert event_types(placement_events) == [Placement.BoardArchived]
    assert [event_types(events) for events in story_events] == [[Story.BoardArchived]] * 2
    for events in (board_events, placement_events, *story_events):
        assert_stamped(events, stamp)
    assert kit.board.archived and kit.placement.archived and first.board_archived


def test_an_archived_board_refuses_a_second_archive_and_says_so(clock: Clock, kit: Kit) -> None:
    rules.archive_board(kit.board, kit.placement, [], [], clock.stamp())
    drain(kit.board, kit.placement)

    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="boardKey",
        match="board PAY is archived",
        untouched=[kit.board, kit.placement],
    ):
        rules.archive_board(kit.board, kit.placement, [], [], clock.stamp())
    with refused(InvalidTransitionError, code="INVALID_TRANSITION", field="storyKey", match="archived"):
        kit.board.check_not_archived("storyKey")


def test_a_board_snapshotted_before_archiving_existed_counts_as_not_archived(kit: Kit) -> None:
    state = vars(kit.board)
    assert "archived" not in state  # a class default: older snapshots lack it
    assert kit.board.archived is False and kit.placement.archived is False


def test_archive_records_on_every_planned_or_active_sprint_but_not_a_closed_one(
    clock: Clock, kit: Kit
) -> None:
    planned, active, closed = kit.sprint("Planned"), kit.sprint("Active"), kit.sprint("Closed")
    rules.start_sprint(kit.board, closed, [], clock.stamp())
    rules.complete_sprint(kit.board, closed, [], None, clock.stamp())
    rules.start_sprint(kit.board, active, [], clock.stamp())
    drain(kit.board, active, closed)
    stamp = clock.stamp("alice")

    rules.archive_board(kit.board, kit.placement, [], [planned, active, closed], stamp)

    sprint_events = [recorded(planned), recorded(active)]
    assert [event_types(events) for events in sprint_events] == [[Sprint.BoardArchived]] * 2
    for events in sprint_events:
        assert_stamped(events, stamp)
    assert recorded(closed) == []
    assert planned.board_archived and active.board_archived and not closed.board_archived


def test_planning_a_sprint_lists_it_on_the_placement_until_the_board_is_archived(
    clock: Clock, kit: Kit
) -> None:
    sprint = kit.sprint()
    stamp = clock.stamp("alice")

    kit.placement.plan_sprint(sprint.id, stamp)

    events = recorded(kit.placement)
    assert event_types(events) == [Placement.SprintPlanned]
    assert_stamped(events, stamp)
    assert list(kit.placement.sprint_ids) == [sprint.id] and kit.placement.lists_every_sprint
    rules.archive_board(kit.board, kit.placement, [], [sprint], clock.stamp())
    drain(kit.board, kit.placement, sprint)
    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="boardKey",
        match="board PAY is archived",
        untouched=[kit.placement],
    ):
        kit.placement.plan_sprint(kit.sprint("Late").id, clock.stamp())


def test_a_placement_recorded_before_it_listed_sprints_says_it_may_miss_some(clock: Clock, kit: Kit) -> None:
    fresh = Placement.create("OLD", kit.board.columns, {}, clock.stamp(), lists_every_sprint=True)
    [created] = recorded(fresh)
    state = {name: value for name, value in vars(created).items() if name != "lists_every_sprint"}
    older = object.__new__(Placement.Created)  # as the event store decodes an event stored before
    object.__setattr__(older, "__dict__", state)
    replayed = older.mutate(None)
    assert isinstance(replayed, Placement)
    assert replayed.lists_every_sprint is False and list(replayed.sprint_ids) == []
    snapshot_state = vars(kit.placement)
    for name in ("sprint_ids", "lists_every_sprint"):
        snapshot_state.pop(name, None)  # as a snapshot taken before they existed
    assert list(kit.placement.sprint_ids) == [] and kit.placement.lists_every_sprint is False
    assert Sprint.board_archived is False
