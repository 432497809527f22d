"""Sprint on its own: dates, PLANNED → ACTIVE → CLOSED, commitment, completion."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from storyline_domain.errors import InvalidTransitionError, ValidationError
from storyline_domain.sprint import Sprint, SprintState
from tests.domain.conftest import Kit, assert_stamped, drain, event_types, recorded, refused, sprint_id


def test_create_sprint_records_created(kit: Kit) -> None:
    stamp = kit.clock.stamp()
    sprint = Sprint.create(
        sprint_id("s1"), "PAY", " Sprint 1 ", "  ", date(2024, 3, 4), date(2024, 3, 4), stamp
    )
    events = recorded(sprint)
    assert event_types(events) == [Sprint.Created]
    assert_stamped(events, stamp)
    created = events[0]
    assert (created.originator_id, created.board_key, created.name, created.goal) == (
        sprint_id("s1"),
        "PAY",
        "Sprint 1",
        None,
    )
    assert (created.start_date, created.end_date) == (date(2024, 3, 4), date(2024, 3, 4))
    assert (sprint.state, sprint.members, sprint.commitment) == (SprintState.PLANNED, [], {})


def test_sprint_cannot_end_before_it_starts(kit: Kit) -> None:
    with refused(ValidationError, code="VALIDATION", field="endDate", match="cannot end before it starts"):
        Sprint.create(
            sprint_id("s1"), "PAY", "S1", None, date(2024, 3, 4), date(2024, 3, 3), kit.clock.stamp()
        )


def test_sprint_name_is_required(kit: Kit) -> None:
    with refused(ValidationError, code="VALIDATION", field="name", match="sprint name must be 1 to 100"):
        Sprint.create(
            sprint_id("s1"), "PAY", "  ", None, date(2024, 3, 4), date(2024, 3, 8), kit.clock.stamp()
        )


def test_update_records_changed_fields_while_planned(kit: Kit) -> None:
    sprint = kit.sprint()
    stamp = kit.clock.stamp()
    sprint.update(
        {"name": " Sprint One ", "end_date": date(2024, 3, 22), "goal": "Ship card payments"}, stamp
    )
    events = recorded(sprint)
    assert event_types(events) == [Sprint.Updated]
    assert_stamped(events, stamp)
    assert events[0].changes == {
        "name": ["Sprint 1", "Sprint One"],
        "end_date": [date(2024, 3, 15), date(2024, 3, 22)],
    }
    assert (sprint.name, sprint.end_date) == ("Sprint One", date(2024, 3, 22))


def test_update_refuses_end_before_start(kit: Kit) -> None:
    sprint = kit.sprint()
    with refused(
        ValidationError, code="VALIDATION", field="endDate", match="cannot end before", untouched=[sprint]
    ):
        sprint.update({"start_date": date(2024, 3, 16)}, kit.clock.stamp())


@pytest.mark.parametrize(("field", "api_field"), [("start_date", "startDate"), ("end_date", "endDate")])
def test_dates_change_only_while_planned(kit: Kit, field: str, api_field: str) -> None:
    sprint = kit.sprint()
    sprint.start({}, kit.clock.stamp())
    drain(sprint)
    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field=api_field,
        match="dates can only change while a sprint is planned",
        untouched=[sprint],
    ):
        sprint.update({field: date(2024, 3, 10)}, kit.clock.stamp())


def test_an_active_sprint_may_change_name_and_goal(kit: Kit) -> None:
    sprint = kit.sprint()
    sprint.start({}, kit.clock.stamp())
    drain(sprint)
    sprint.update({"goal": "Ship refunds too"}, kit.clock.stamp())
    assert event_types(recorded(sprint)) == [Sprint.Updated]


@pytest.mark.parametrize("changes", [{"name": "Renamed"}, {"goal": "x"}, {"end_date": date(2024, 4, 1)}])
def test_a_closed_sprint_refuses_updates(kit: Kit, changes: dict[str, Any]) -> None:
    sprint = kit.sprint()
    sprint.start({}, kit.clock.stamp())
    sprint.complete({}, {}, None, kit.clock.stamp())
    drain(sprint)
    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="sprintId",
        match="sprint Sprint 1 is closed",
        untouched=[sprint],
    ):
        sprint.update(changes, kit.clock.stamp())


def test_update_without_changes_records_nothing(kit: Kit) -> None:
    sprint = kit.sprint()
    sprint.update({"name": "Sprint 1", "start_date": date(2024, 3, 4)}, kit.clock.stamp())
    assert recorded(sprint) == []


def test_update_refuses_fields_that_are_not_editable(kit: Kit) -> None:
    sprint = kit.sprint()
    with refused(
        ValidationError, code="VALIDATION", field="state", match="state cannot be edited", untouched=[sprint]
    ):
        sprint.update({"state": SprintState.CLOSED}, kit.clock.stamp())


def test_lifecycle_planned_active_closed(kit: Kit) -> None:
    sprint = kit.sprint()
    sprint.add_story("PAY-1", 3, None, kit.clock.stamp())
    sprint.add_story("PAY-2", None, None, kit.clock.stamp())
    drain(sprint)
    start, finish = kit.clock.stamp(), kit.clock.stamp()

    sprint.start({"PAY-1": 5.0, "PAY-2": None, "PAY-9": 8.0}, start)
    (started,) = recorded(sprint)
    assert type(started) is Sprint.Started
    assert_stamped([started], start)
    assert started.commitment == {"PAY-1": 5.0, "PAY-2": None}
    assert (sprint.state, sprint.commitment, sprint.started_at) == (
        SprintState.ACTIVE,
        {"PAY-1": 5.0, "PAY-2": None},
        start.occurred_at,
    )

    sprint.complete({"PAY-1": 5.0}, {"PAY-2": 2.0}, None, finish)
    (completed,) = recorded(sprint)
    assert type(completed) is Sprint.Completed
    assert_stamped([completed], finish)
    assert (completed.completed, completed.carried_over, completed.carried_to) == (
        {"PAY-1": 5.0},
        {"PAY-2": 2.0},
        None,
    )
    assert (sprint.state, sprint.members, sprint.completed_at) == (
        SprintState.CLOSED,
        ["PAY-1"],
        finish.occurred_at,
    )


@pytest.mark.parametrize("state", ["ACTIVE", "CLOSED"])
def test_only_a_planned_sprint_can_start(kit: Kit, state: str) -> None:
    sprint = kit.sprint()
    sprint.start({}, kit.clock.stamp())
    if state == "CLOSED":
        sprint.complete({}, {}, None, kit.clock.stamp())
    drain(sprint)
    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="sprintId",
        match=f"sprint Sprint 1 is {state.lower()}, only a planned sprint can start",
        untouched=[sprint],
    ):
        sprint.start({}, kit.clock.stamp())


@pytest.mark.parametrize("state", ["PLANNED", "CLOSED"])
def test_only_an_active_sprint_can_complete(kit: Kit, state: str) -> None:
    sprint = kit.sprint()
    if state == "CLOSED":
        sprint.start({}, kit.clock.stamp())
        sprint.complete({}, {}, None, kit.clock.stamp())
    drain(sprint)
    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="sprintId",
        match=f"is {state.lower()}, only an active sprint can complete",
        untouched=[sprint],
    ):
        sprint.complete({}, {}, None, kit.clock.stamp())


def test_add_and_remove_story_record_points(kit: Kit) -> None:
    sprint = kit.sprint()
    add, remove = kit.clock.stamp(), kit.clock.stamp()
    sprint.add_story("PAY-1", 3.0, None, add)
    sprint.remove_story("PAY-1", 3.0, remove)
    added, removed = recorded(sprint)
    assert_stamped([added], add)
    assert_stamped([removed], remove)
    assert (type(added), added.story_key, added.points, added.carried_from) == (
        Sprint.StoryAdded,
        "PAY-1",
        3.0,
        None,
    )
    assert (type(removed), removed.story_key, removed.points) == (Sprint.StoryRemoved, "PAY-1", 3.0)
    assert sprint.members == []


def test_removing_a_story_that_is_not_a_member_is_refused(kit: Kit) -> None:
    sprint = kit.sprint()
    with refused(
        ValidationError,
        code="VALIDATION",
        field="storyKey",
        match="PAY-7 is not in sprint Sprint 1",
        untouched=[sprint],
    ):
        sprint.remove_story("PAY-7", None, kit.clock.stamp())


def test_no_adding_to_a_closed_sprint(kit: Kit) -> None:
    sprint = kit.sprint()
    sprint.start({}, kit.clock.stamp())
    sprint.complete({}, {}, None, kit.clock.stamp())
    drain(sprint)
    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="sprintId",
        match="sprint Sprint 1 is closed",
        untouched=[sprint],
    ):
        sprint.add_story("PAY-1", None, None, kit.clock.stamp())
