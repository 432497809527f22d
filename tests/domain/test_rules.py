"""Rules across aggregates: one active sprint per board, one open sprint per story,
same board, archiving, starting and completing sprints with carry-over."""

from __future__ import annotations

from storyline_domain import rules
from storyline_domain.board import Board
from storyline_domain.errors import InvalidTransitionError, ValidationError
from storyline_domain.sprint import Sprint, SprintState
from storyline_domain.story import Story
from tests.domain.conftest import Kit, assert_stamped, drain, event_types, new_kit, recorded, refused

# ----- adding stories to sprints -----


def test_add_story_to_sprint_records_on_both(kit: Kit) -> None:
    story, sprint = kit.story(points=3), kit.sprint()
    stamp = kit.clock.stamp()
    rules.add_story_to_sprint(story, sprint, None, stamp)

    sprint_events, story_events = recorded(sprint), recorded(story)
    assert event_types(sprint_events) == [Sprint.StoryAdded]
    assert event_types(story_events) == [Story.SprintChanged]
    assert_stamped(sprint_events + story_events, stamp)
    assert (sprint_events[0].story_key, sprint_events[0].points, sprint_events[0].carried_from) == (
        "PAY-1",
        3.0,
        None,
    )
    assert (story_events[0].previous, story_events[0].sprint_id) == (None, sprint.id)
    assert (sprint.members, story.sprint_id) == (["PAY-1"], sprint.id)


def test_a_story_is_in_at_most_one_planned_or_active_sprint(kit: Kit) -> None:
    story, first, second = kit.story(), kit.sprint("Sprint 1"), kit.sprint("Sprint 2")
    rules.add_story_to_sprint(story, first, None, kit.clock.stamp())
    drain(story, first)

    with refused(
        ValidationError,
        code="VALIDATION",
        field="storyKey",
        match="PAY-1 is already in planned sprint Sprint 1",
        untouched=[story, first, second],
    ):
        rules.add_story_to_sprint(story, second, first, kit.clock.stamp())

    rules.start_sprint(kit.board, first, [story], kit.clock.stamp())
    drain(story, first, kit.board)
    with refused(
        ValidationError,
        code="VALIDATION",
        field="storyKey",
        match="PAY-1 is already in active sprint Sprint 1",
        untouched=[story, first, second],
    ):
        rules.add_story_to_sprint(story, second, first, kit.clock.stamp())


def test_adding_a_story_to_its_own_sprint_again_is_refused(kit: Kit) -> None:
    story, sprint = kit.story(), kit.sprint()
    rules.add_story_to_sprint(story, sprint, None, kit.clock.stamp())
    drain(story, sprint)
    with refused(
        ValidationError,
        code="VALIDATION",
        field="storyKey",
        match="PAY-1 is already in sprint Sprint 1",
        untouched=[story, sprint],
    ):
        rules.add_story_to_sprint(story, sprint, sprint, kit.clock.stamp())


def test_a_story_done_in_a_closed_sprint_may_join_another(kit: Kit) -> None:
    story, first, second = kit.story(), kit.sprint("Sprint 1"), kit.sprint("Sprint 2")
    rules.add_story_to_sprint(story, first, None, kit.clock.stamp())
    rules.start_sprint(kit.board, first, [story], kit.clock.stamp())
    kit.move(story, "DONE")
    rules.complete_sprint(kit.board, first, [story], None, kit.clock.stamp())
    assert story.sprint_id == first.id  # a done story stays with its closed sprint
    drain(story, first, second)

    stamp = kit.clock.stamp()
    rules.add_story_to_sprint(story, second, first, stamp)
    (changed,) = recorded(story)
    assert (changed.previous, changed.sprint_id) == (first.id, second.id)
    assert second.members == ["PAY-1"]


def test_story_and_sprint_must_belong_to_the_same_board(kit: Kit) -> None:
    other = new_kit(kit.clock, "OPS")
    story, sprint = kit.story(), other.sprint("Ops sprint")
    with refused(
        ValidationError,
        code="VALIDATION",
        field="storyKey",
        match="PAY-1 and the sprint belong to different boards",
        untouched=[story, sprint],
    ):
        rules.add_story_to_sprint(story, sprint, None, kit.clock.stamp())
    with refused(
        ValidationError,
        code="VALIDATION",
        field="storyKey",
        match="different boards",
        untouched=[story, sprint],
    ):
        rules.remove_story_from_sprint(story, sprint, kit.clock.stamp())


def test_no_adding_to_a_closed_sprint(kit: Kit) -> None:
    story, sprint = kit.story(), kit.sprint()
    rules.start_sprint(kit.board, sprint, [], kit.clock.stamp())
    rules.complete_sprint(kit.board, sprint, [], None, kit.clock.stamp())
    drain(sprint, kit.board)
    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="sprintId",
        match="sprint Sprint 1 is closed",
        untouched=[story, sprint],
    ):
        rules.add_story_to_sprint(story, sprint, None, kit.clock.stamp())


def test_an_archived_story_cannot_join_a_sprint(kit: Kit) -> None:
    story, sprint = kit.story(), kit.sprint()
    story.archive(kit.clock.stamp())
    drain(story)
    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="storyKey",
        match="PAY-1 is archived",
        untouched=[story, sprint],
    ):
        rules.add_story_to_sprint(story, sprint, None, kit.clock.stamp())


def test_remove_story_from_sprint_records_on_both(kit: Kit) -> None:
    story, sprint = kit.story(points=2), kit.sprint()
    rules.add_story_to_sprint(story, sprint, None, kit.clock.stamp())
    drain(story, sprint)
    stamp = kit.clock.stamp()
    rules.remove_story_from_sprint(story, sprint, stamp)
    sprint_events, story_events = recorded(sprint), recorded(story)
    assert event_types(sprint_events + story_events) == [Sprint.StoryRemoved, Story.SprintChanged]
    assert_stamped(sprint_events + story_events, stamp)
    assert (sprint.members, story.sprint_id) == ([], None)


# ----- archiving -----


def test_archiving_a_story_removes_it_from_its_open_sprint(kit: Kit) -> None:
    story, sprint = kit.story(points=5), kit.sprint()
    rules.add_story_to_sprint(story, sprint, None, kit.clock.stamp())
    drain(story, sprint)
    stamp = kit.clock.stamp()
    rules.archive_story(story, sprint, kit.placement, stamp)

    story_events, sprint_events = recorded(story), recorded(sprint)
    assert event_types(story_events) == [Story.Archived, Story.SprintChanged]
    assert event_types(sprint_events) == [Sprint.StoryRemoved]
    assert_stamped(story_events + sprint_events, stamp)
    assert (sprint_events[0].story_key, sprint_events[0].points) == ("PAY-1", 5.0)
    assert (story.archived, story.sprint_id, sprint.members) == (True, None, [])


def test_archiving_a_story_keeps_it_in_its_closed_sprint(kit: Kit) -> None:
    story, sprint = kit.story(), kit.sprint()
    rules.add_story_to_sprint(story, sprint, None, kit.clock.stamp())
    rules.start_sprint(kit.board, sprint, [story], kit.clock.stamp())
    kit.move(story, "DONE")
    rules.complete_sprint(kit.board, sprint, [story], None, kit.clock.stamp())
    drain(story, sprint)

    rules.archive_story(story, sprint, kit.placement, kit.clock.stamp())
    assert event_types(recorded(story)) == [Story.Archived]
    assert recorded(sprint) == []
    assert (story.sprint_id, sprint.members) == (sprint.id, ["PAY-1"])


def test_archiving_a_story_outside_sprints(kit: Kit) -> None:
    story = kit.story()
    rules.archive_story(story, None, kit.placement, kit.clock.stamp())
    assert event_types(recorded(story)) == [Story.Archived]


def test_archiving_an_archived_story_is_refused(kit: Kit) -> None:
    story, sprint = kit.story(), kit.sprint()
    rules.add_story_to_sprint(story, sprint, None, kit.clock.stamp())
    story.archive(kit.clock.stamp())
    drain(story, sprint)
    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="storyKey",
        match="PAY-1 is archived",
        untouched=[story, sprint],
    ):
        rules.archive_story(story, sprint, kit.placement, kit.clock.stamp())


# ----- starting: one active sprint per board, commitment -----


def test_start_sprint_records_commitment_and_activates_on_the_board(kit: Kit) -> None:
    one, two = kit.story("One", points=3), kit.story("Two")
    sprint = kit.sprint()
    rules.add_story_to_sprint(one, sprint, None, kit.clock.stamp())
    rules.add_story_to_sprint(two, sprint, None, kit.clock.stamp())
    one.estimate(8, kit.clock.stamp())  # the estimate at the start is what counts
    drain(one, two, sprint)

    stamp = kit.clock.stamp()
    rules.start_sprint(kit.board, sprint, [one, two], stamp)

    sprint_events, board_events = recorded(sprint), recorded(kit.board)
    assert event_types(sprint_events) == [Sprint.Started]
    assert event_types(board_events) == [Board.SprintActivated]
    assert_stamped(sprint_events + board_events, stamp)
    assert sprint_events[0].commitment == {"PAY-1": 8.0, "PAY-2": None}
    assert board_events[0].sprint_id == sprint.id
    assert (sprint.state, kit.board.active_sprint_id) == (SprintState.ACTIVE, sprint.id)

    one.estimate(13, kit.clock.stamp())  # later estimates leave the commitment alone
    assert sprint.commitment == {"PAY-1": 8.0, "PAY-2": None}


def test_at_most_one_active_sprint_per_board(kit: Kit) -> None:
    first, second = kit.sprint("Sprint 1"), kit.sprint("Sprint 2")
    rules.start_sprint(kit.board, first, [], kit.clock.stamp())
    drain(first, kit.board)

    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="sprintId",
        match="board PAY already has an active sprint",
        untouched=[kit.board, first, second],
    ):
        rules.start_sprint(kit.board, second, [], kit.clock.stamp())
    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="sprintId",
        match="already has an active sprint",
        untouched=[kit.board],
    ):
        kit.board.activate_sprint(second.id, kit.clock.stamp())


def test_the_next_sprint_may_start_once_the_active_one_completes(kit: Kit) -> None:
    first, second = kit.sprint("Sprint 1"), kit.sprint("Sprint 2")
    rules.start_sprint(kit.board, first, [], kit.clock.stamp())
    rules.complete_sprint(kit.board, first, [], None, kit.clock.stamp())
    rules.start_sprint(kit.board, second, [], kit.clock.stamp())
    assert event_types(recorded(kit.board)) == [
        Board.SprintActivated,
        Board.SprintDeactivated,
        Board.SprintActivated,
    ]
    assert kit.board.active_sprint_id == second.id


def test_a_closed_sprint_cannot_start(kit: Kit) -> None:
    sprint = kit.sprint()
    rules.start_sprint(kit.board, sprint, [], kit.clock.stamp())
    rules.complete_sprint(kit.board, sprint, [], None, kit.clock.stamp())
    drain(sprint, kit.board)
    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="sprintId",
        match="sprint Sprint 1 is closed, only a planned sprint can start",
        untouched=[kit.board, sprint],
    ):
        rules.start_sprint(kit.board, sprint, [], kit.clock.stamp())


def test_the_active_sprint_cannot_start_again(kit: Kit) -> None:
    sprint = kit.sprint()
    rules.start_sprint(kit.board, sprint, [], kit.clock.stamp())
    drain(sprint, kit.board)
    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="sprintId",
        match="sprint Sprint 1 is active, only a planned sprint can start",
        untouched=[kit.board, sprint],
    ):
        rules.start_sprint(kit.board, sprint, [], kit.clock.stamp())


def test_sprints_on_different_boards_may_be_active_together(kit: Kit) -> None:
    other = new_kit(kit.clock, "OPS")
    rules.start_sprint(kit.board, kit.sprint("Pay sprint"), [], kit.clock.stamp())
    rules.start_sprint(other.board, other.sprint("Ops sprint"), [], kit.clock.stamp())
    assert kit.board.active_sprint_id is not None and other.board.active_sprint_id is not None


# ----- completing: done versus carried over -----


def started_sprint(kit: Kit) -> tuple[Sprint, Story, Story, Story]:
    """An active sprint with PAY-1 done, PAY-2 in progress and PAY-3 to do."""
    done, doing, todo = kit.story("Done", points=3), kit.story("Doing", points=5), kit.story("Todo")
    sprint = kit.sprint("Sprint 1")
    for story in (done, doing, todo):
        rules.add_story_to_sprint(story, sprint, None, kit.clock.stamp())
    rules.start_sprint(kit.board, sprint, [done, doing, todo], kit.clock.stamp())
    kit.move(done, "DONE")
    kit.move(doing, "IN_PROGRESS")
    drain(sprint, kit.board, done, doing, todo)
    return sprint, done, doing, todo


def test_complete_sprint_sends_unfinished_stories_to_the_backlog(kit: Kit) -> None:
    sprint, done, doing, todo = started_sprint(kit)
    stamp = kit.clock.stamp()
    rules.complete_sprint(kit.board, sprint, [done, doing, todo], None, stamp)

    sprint_events, board_events = recorded(sprint), recorded(kit.board)
    assert event_types(sprint_events) == [Sprint.Completed]
    assert event_types(board_events) == [Board.SprintDeactivated]
    completed = sprint_events[0]
    assert completed.completed == {"PAY-1": 3.0}
    assert completed.carried_over == {"PAY-2": 5.0, "PAY-3": None}
    assert completed.carried_to is None
    story_events = recorded(doing) + recorded(todo)
    assert [(type(e), e.previous, e.sprint_id) for e in story_events] == [
        (Story.SprintChanged, sprint.id, None),
        (Story.SprintChanged, sprint.id, None),
    ]
    assert recorded(done) == []
    assert_stamped(sprint_events + board_events + story_events, stamp)
    assert (sprint.state, sprint.members, kit.board.active_sprint_id) == (SprintState.CLOSED, ["PAY-1"], None)


def test_complete_sprint_carries_unfinished_stories_to_a_planned_sprint(kit: Kit) -> None:
    sprint, done, doing, todo = started_sprint(kit)
    following = kit.sprint("Sprint 2")
    stamp = kit.clock.stamp()
    rules.complete_sprint(kit.board, sprint, [done, doing, todo], following, stamp)

    (completed,) = recorded(sprint)
    assert completed.carried_to == following.id
    added = recorded(following)
    assert [(type(e), e.story_key, e.points, e.carried_from) for e in added] == [
        (Sprint.StoryAdded, "PAY-2", 5.0, sprint.id),
        (Sprint.StoryAdded, "PAY-3", None, sprint.id),
    ]
    assert_stamped([completed, *added], stamp)
    assert (doing.sprint_id, todo.sprint_id, done.sprint_id) == (following.id, following.id, sprint.id)
    assert following.members == ["PAY-2", "PAY-3"]


def test_carry_over_to_a_sprint_that_is_not_planned_is_refused(kit: Kit) -> None:
    sprint, done, doing, todo = started_sprint(kit)
    closed = kit.sprint("Old")
    closed.start({}, kit.clock.stamp())
    closed.complete({}, {}, None, kit.clock.stamp())
    drain(closed)
    with refused(
        ValidationError,
        code="VALIDATION",
        field="carryOverTo",
        match="sprint Old is not planned",
        untouched=[kit.board, sprint, closed, done, doing, todo],
    ):
        rules.complete_sprint(kit.board, sprint, [done, doing, todo], closed, kit.clock.stamp())


def test_carry_over_to_another_boards_sprint_is_refused(kit: Kit) -> None:
    sprint, done, doing, todo = started_sprint(kit)
    foreign = new_kit(kit.clock, "OPS").sprint("Ops sprint")
    with refused(
        ValidationError,
        code="VALIDATION",
        field="carryOverTo",
        match="only carry over to a sprint of the same board",
        untouched=[kit.board, sprint, foreign, done, doing, todo],
    ):
        rules.complete_sprint(kit.board, sprint, [done, doing, todo], foreign, kit.clock.stamp())


def test_a_planned_sprint_cannot_complete(kit: Kit) -> None:
    sprint = kit.sprint()
    with refused(
        InvalidTransitionError,
        code="INVALID_TRANSITION",
        field="sprintId",
        match="only an active sprint can complete",
        untouched=[kit.board, sprint],
    ):
        rules.complete_sprint(kit.board, sprint, [], None, kit.clock.stamp())
