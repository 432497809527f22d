"""Board: key, name, workflow columns and roles."""

from __future__ import annotations

import pytest

from storyline_domain import rules
from storyline_domain.board import DEFAULT_COLUMNS, Board, Role, board_id
from storyline_domain.errors import ValidationError
from tests.domain.conftest import Clock, Kit, assert_stamped, column, drain, event_types, recorded, refused

TODO, DOING, DONE = "TODO", "IN_PROGRESS", "DONE"


# ----- creation: key and name -----


def test_create_board_records_created_with_defaults_and_stamp(clock: Clock) -> None:
    stamp = clock.stamp("alice")
    board = Board.create("PAY", "  Payments  ", None, stamp)

    events = recorded(board)
    assert event_types(events) == [Board.Created]
    assert_stamped(events, stamp)
    created = events[0]
    assert created.originator_id == board.id == board_id("PAY")
    assert (created.key, created.name) == ("PAY", "Payments")
    assert created.columns == DEFAULT_COLUMNS
    assert [(c["key"], c["name"], c["category"]) for c in board.columns] == [
        ("TODO", "To Do", "TODO"),
        ("IN_PROGRESS", "In Progress", "IN_PROGRESS"),
        ("DONE", "Done", "DONE"),
    ]
    assert board.roles == {"alice": "ADMIN"}
    assert board.active_sprint_id is None
    assert board.last_occurred_at == stamp.occurred_at
    assert board.version == 1


@pytest.mark.parametrize("key", ["PA", "PAY", "ABCDEFGHIJ"])
def test_board_key_of_2_to_10_upper_case_letters_is_accepted(clock: Clock, key: str) -> None:
    assert Board.create(key, "Board", None, clock.stamp()).key == key


@pytest.mark.parametrize("key", ["P", "ABCDEFGHIJK", "pay", "Pay", "PA1", "PA-Y", "", " PAY", "PÄY"])
def test_board_key_must_be_2_to_10_upper_case_letters(clock: Clock, key: str) -> None:
    with refused(ValidationError, code="VALIDATION", field="key", match="2 to 10 upper-case letters"):
        Board.create(key, "Board", None, clock.stamp())


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_board_name_must_be_1_to_100_characters(clock: Clock, name: str) -> None:
    with refused(ValidationError, code="VALIDATION", field="name", match="board name must be 1 to 100"):
        Board.create("PAY", name, None, clock.stamp())


def test_board_name_of_100_characters_is_accepted(clock: Clock) -> None:
    assert Board.create("PAY", "x" * 100, None, clock.stamp()).name == "x" * 100


# ----- creation: columns -----


def test_custom_columns_are_cleaned_and_recorded(clock: Clock) -> None:
    columns = [
        column("BACKLOG", TODO, " Backlog "),
        column("REVIEW", DOING, "Review", wip_limit=1),
        column("SHIPPED", DONE, "Shipped"),
    ]
    board = Board.create("PAY", "Payments", columns, clock.stamp())

    (created,) = recorded(board)
    assert created.columns[0] == {"key": "BACKLOG", "name": "Backlog", "category": TODO, "wip_limit": None}
    assert created.columns[1]["wip_limit"] == 1
    assert board.columns == created.columns


@pytest.mark.parametrize(
    ("columns", "missing"),
    [
        ([column("A", DOING), column("B", DONE)], "TODO"),
        ([column("A", TODO), column("B", DOING)], "DONE"),
        ([], "both"),
    ],
)
def test_workflow_needs_a_todo_and_a_done_column(clock: Clock, columns: list, missing: str) -> None:
    with refused(
        ValidationError, code="VALIDATION", field="columns", match="at least one TODO and one DONE column"
    ):
        Board.create("PAY", "Payments", columns, clock.stamp())


def test_duplicate_column_keys_are_refused(clock: Clock) -> None:
    columns = [column("TODO", TODO), column("DONE", DONE), column("TODO", DOING)]
    with refused(ValidationError, code="VALIDATION", field="columns.2.key", match="TODO appears twice"):
        Board.create("PAY", "Payments", columns, clock.stamp())


@pytest.mark.parametrize("limit", [0, -1])
def test_wip_limit_below_one_is_refused(clock: Clock, limit: int) -> None:
    columns = [column("TODO", TODO), column("DOING", DOING, wip_limit=limit), column("DONE", DONE)]
    with refused(ValidationError, code="VALIDATION", field="columns.1.wipLimit", match="at least 1"):
        Board.create("PAY", "Payments", columns, clock.stamp())


def test_unknown_column_category_is_refused(clock: Clock) -> None:
    columns = [column("TODO", TODO), column("QA", "TESTING"), column("DONE", DONE)]
    with refused(ValidationError, code="VALIDATION", field="columns.1.category", match="'TESTING'"):
        Board.create("PAY", "Payments", columns, clock.stamp())


@pytest.mark.parametrize("key", ["todo", "1TODO", "TO DO", "X" * 31])
def test_malformed_column_key_is_refused(clock: Clock, key: str) -> None:
    columns = [column(key, TODO), column("DONE", DONE)]
    with refused(ValidationError, code="VALIDATION", field="columns.0.key", match="upper-case"):
        Board.create("PAY", "Payments", columns, clock.stamp())


def test_blank_column_name_is_refused(clock: Clock) -> None:
    columns = [column("TODO", TODO, name="  "), column("DONE", DONE)]
    with refused(ValidationError, code="VALIDATION", field="columns.0.name", match="column name"):
        Board.create("PAY", "Payments", columns, clock.stamp())


# ----- configure columns -----


def test_configure_columns_records_new_and_previous(kit: Kit) -> None:
    board = kit.board
    previous = board.columns
    columns = [column("TODO", TODO, "To Do"), column("REVIEW", DOING, wip_limit=2), column("DONE", DONE)]
    stamp = kit.clock.stamp()

    rules.configure_columns(board, kit.placement, columns, stamp)

    events = recorded(board)
    assert event_types(events) == [Board.ColumnsConfigured]
    assert_stamped(events, stamp)
    assert events[0].previous == previous
    assert [c["key"] for c in events[0].columns] == ["TODO", "REVIEW", "DONE"]
    assert board.column("REVIEW") == {"key": "REVIEW", "name": "Review", "category": DOING, "wip_limit": 2}
    assert board.column("IN_PROGRESS") is None


def test_configure_columns_refuses_to_drop_columns_that_hold_stories(kit: Kit) -> None:
    kit.move(kit.story(), "IN_PROGRESS")
    drain(kit.placement)
    columns = [column("TODO", TODO), column("DONE", DONE)]
    with refused(
        ValidationError,
        code="VALIDATION",
        field="columns",
        match="IN_PROGRESS still hold stories",
        untouched=[kit.board, kit.placement],
    ):
        rules.configure_columns(kit.board, kit.placement, columns, kit.clock.stamp())


def test_configure_columns_may_drop_empty_columns(kit: Kit) -> None:
    kit.move(kit.story(), "DONE")
    rules.configure_columns(
        kit.board, kit.placement, [column("TODO", TODO), column("DONE", DONE)], kit.clock.stamp()
    )
    assert [c["key"] for c in kit.board.columns] == ["TODO", "DONE"]
    assert kit.placement.limits == {"TODO": None, "DONE": None}


def test_configure_columns_validates_like_create(kit: Kit) -> None:
    columns = [column("TODO", TODO), column("DOING", DOING, wip_limit=0), column("DONE", DONE)]
    with refused(
        ValidationError, code="VALIDATION", field="columns.1.wipLimit", match="WIP", untouched=[kit.board]
    ):
        rules.configure_columns(kit.board, kit.placement, columns, kit.clock.stamp())
    with refused(ValidationError, code="VALIDATION", field="columns", match="TODO", untouched=[kit.board]):
        rules.configure_columns(kit.board, kit.placement, [column("DONE", DONE)], kit.clock.stamp())


# ----- roles -----


def test_creator_is_admin(clock: Clock) -> None:
    board = Board.create("PAY", "Payments", None, clock.stamp("carol"))
    assert board.roles == {"carol": Role.ADMIN.value}


def test_grant_role_records_role_and_previous(kit: Kit) -> None:
    stamp = kit.clock.stamp()
    kit.board.grant_role(" bob ", Role.MEMBER, stamp)
    events = recorded(kit.board)
    assert event_types(events) == [Board.RoleGranted]
    assert_stamped(events, stamp)
    assert (events[0].user, events[0].role, events[0].previous) == ("bob", "MEMBER", None)

    kit.board.grant_role("bob", Role.MANAGER, kit.clock.stamp())
    (promoted,) = recorded(kit.board)
    assert (promoted.role, promoted.previous) == ("MANAGER", "MEMBER")
    assert kit.board.roles == {"alice": "ADMIN", "bob": "MANAGER"}


def test_granting_the_same_role_again_records_nothing(kit: Kit) -> None:
    kit.board.grant_role("bob", Role.MEMBER, kit.clock.stamp())
    drain(kit.board)
    kit.board.grant_role("bob", Role.MEMBER, kit.clock.stamp())
    assert recorded(kit.board) == []


def test_grant_role_to_blank_user_is_refused(kit: Kit) -> None:
    with refused(ValidationError, code="VALIDATION", field="user", match="user name", untouched=[kit.board]):
        kit.board.grant_role("  ", Role.MEMBER, kit.clock.stamp())


def test_revoke_role_records_previous_role(kit: Kit) -> None:
    kit.board.grant_role("bob", Role.MANAGER, kit.clock.stamp())
    drain(kit.board)
    stamp = kit.clock.stamp()
    kit.board.revoke_role("bob", stamp)
    events = recorded(kit.board)
    assert event_types(events) == [Board.RoleRevoked]
    assert_stamped(events, stamp)
    assert (events[0].user, events[0].previous) == ("bob", "MANAGER")
    assert kit.board.roles == {"alice": "ADMIN"}


def test_revoking_a_user_without_a_role_is_refused(kit: Kit) -> None:
    with refused(
        ValidationError,
        code="VALIDATION",
        field="user",
        match="dave has no role on PAY",
        untouched=[kit.board],
    ):
        kit.board.revoke_role("dave", kit.clock.stamp())


def test_last_admin_cannot_be_revoked(kit: Kit) -> None:
    with refused(
        ValidationError,
        code="VALIDATION",
        field="user",
        match="alice is the last admin of PAY",
        untouched=[kit.board],
    ):
        kit.board.revoke_role("alice", kit.clock.stamp())


def test_an_admin_can_be_revoked_while_another_admin_remains(kit: Kit) -> None:
    kit.board.grant_role("bob", Role.ADMIN, kit.clock.stamp())
    kit.board.revoke_role("alice", kit.clock.stamp())
    assert event_types(recorded(kit.board)) == [Board.RoleGranted, Board.RoleRevoked]
    assert kit.board.roles == {"bob": "ADMIN"}
    with refused(
        ValidationError, code="VALIDATION", field="user", match="bob is the last admin", untouched=[kit.board]
    ):
        kit.board.revoke_role("bob", kit.clock.stamp())


def test_last_admin_cannot_be_demoted_by_a_grant(kit: Kit) -> None:
    with refused(
        ValidationError,
        code="VALIDATION",
        field="user",
        match="alice is the last admin of PAY",
        untouched=[kit.board],
    ):
        kit.board.grant_role("alice", Role.MEMBER, kit.clock.stamp())
