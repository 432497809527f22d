"""Archiving a board: recorded on the board, its placement and each open story, in one change."""

from __future__ import annotations

from storyline_domain import rules
from storyline_domain.board import Board
from storyline_domain.errors import InvalidTransitionError
from storyline_domain.placement import Placement
from storyline_domain.story import Story
from tests.domain.conftest import Clock, Kit, assert_stamped, drain, event_types, recorded, refused


def test_archive_records_on_board_placement_and_every_open_story(clock: Clock, kit: Kit) -> None:
    first, second = kit.story("Pay by card"), kit.story("Refunds")
    stamp = clock.stamp("alice")

    rules.archive_board(kit.board, kit.placement, [first, second], stamp)

    board_events, placement_events = recorded(kit.board), recorded(kit.placement)
    story_events = [recorded(first), recorded(second)]
    assert event_types(board_events) == [Board.Archived]
    assert event_types(placement_events) == [Placement.BoardArchived]
    assert [event_types(events) for events in story_events] == [[Story.BoardArchived]] * 2
    for events in (board_events, placement_events, *story_events):
        assert_stamped(events, stamp)
    assert kit.board.archived and kit.placement.archived and first.board_archived


def test_an_archived_board_refuses_a_second_archive_and_says_so(clock: Clock, kit: Kit) -> None:
    rules.archive_board(kit.board, kit.placement, [], clock.stamp())
    drain(kit.board, kit.placement)

    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="boardKey",
        match="board PAY is archived",
        untouched=[kit.board, kit.placement],
    ):
        rules.archive_board(kit.board, kit.placement, [], clock.stamp())
    with refused(InvalidTransitionError, code="INVALID_TRANSITION", field="storyKey", match="archived"):
        kit.board.check_not_archived("storyKey")


def test_a_board_snapshotted_before_archiving_existed_counts_as_not_archived(kit: Kit) -> None:
    state = vars(kit.board)
    assert "archived" not in state  # a class default: older snapshots lack it
    assert kit.board.archived is False and kit.placement.archived is False
