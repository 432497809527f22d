"""Rules that span aggregates. Callers load the aggregates, these decide, and
the caller saves everything that changed in one atomic save."""

from __future__ import annotations

from typing import Any

from storyline_domain.base import Stamp, StorylineAggregate, check_occurred_at
from storyline_domain.board import Board, Column, KeySequence, StatusCategory, validate_columns
from storyline_domain.errors import ValidationError
from storyline_domain.limits import DEFAULT_LIMITS, Limits
from storyline_domain.placement import Placement, check_rank_request
from storyline_domain.sprint import Sprint, SprintState
from storyline_domain.story import Story

RankRequest = tuple[str | None, str | None] | None  # the ranks of 'before' and 'after'


def _column_name(board: Board, key: str) -> str:
    column = board.column(key)
    return column["name"] if column else key


def _check_times(stamp: Stamp, *aggregates: StorylineAggregate | None) -> None:
    """Checks business time on every aggregate first, so a refusal records nothing anywhere."""
    for aggregate in aggregates:
        check_occurred_at(aggregate, stamp)


def _same_board(story: Story, sprint: Sprint) -> None:
    if story.board_key != sprint.board_key:
        raise ValidationError(f"{story.key} and the sprint belong to different boards", field="storyKey")


def add_story_to_sprint(story: Story, sprint: Sprint, current: Sprint | None, stamp: Stamp) -> None:
    """``current`` is the sprint the story last belonged to, if any."""
    _same_board(story, sprint)
    sprint.check_open()
    story.check_open()
    _check_times(stamp, story, sprint)
    if current is not None and current.id == sprint.id and story.key in sprint.members:
        raise ValidationError(f"{story.key} is already in sprint {sprint.name}", field="storyKey")
    if current is not None and current.state != SprintState.CLOSED:
        raise ValidationError(
            f"{story.key} is already in {current.state.lower()} sprint {current.name}", field="storyKey"
        )
    sprint.add_story(story.key, story.points, None, stamp)
    story.change_sprint(sprint.id, stamp)


def remove_story_from_sprint(story: Story, sprint: Sprint, stamp: Stamp) -> None:
    _same_board(story, sprint)
    _check_times(stamp, story, sprint)
    sprint.remove_story(story.key, story.points, stamp)
    story.change_sprint(None, stamp)


def create_story(
    board: Board,
    sequence: KeySequence,
    placement: Placement,
    fields: dict[str, Any],
    points: float | None,
    assignee: str | None,
    epic_key: str | None,
    stamp: Stamp,
    limits: Limits = DEFAULT_LIMITS,
    kept_key: str | None = None,
) -> Story:
    """A new story with the board's next key (or ``kept_key``, an imported story's own), at the
    bottom of the ranks in its first TODO column."""
    column = board.first_column(StatusCategory.TODO)
    key, rank = kept_key or sequence.next_story_key, placement.bottom_rank()
    story = Story.create(board, key, rank, fields, points, assignee, epic_key, stamp, limits)  # checks fields
    placement.place(key, column, rank, _column_name(board, column), stamp)
    if kept_key is None:
        sequence.issue_story_key(stamp, rank)
    else:
        sequence.keep_story_key(kept_key, stamp, rank)
    return story


def move_story(
    board: Board, placement: Placement, story: Story, to_column: str, stamp: Stamp, rank: RankRequest = None
) -> None:
    """Moves the story, and with ``rank`` (before, after) ranks it in the same change."""
    story.check_open()
    _check_times(stamp, story)
    if rank is not None:
        check_rank_request(*rank)  # before anything is recorded
    placement.move(story.key, to_column, _column_name(board, to_column), stamp)
    story.move(to_column, stamp)
    if rank is not None:
        rank_story(placement, story, *rank, stamp)


def rank_story(
    placement: Placement, story: Story, before: str | None, after: str | None, stamp: Stamp
) -> None:
    """Ranks the story just above the rank ``before`` and/or just below the rank ``after``."""
    story.check_open()
    _check_times(stamp, story)
    story.rerank(placement.rank(story.key, before, after, stamp), stamp)


def configure_columns(
    board: Board, placement: Placement, columns: list[Column], stamp: Stamp, limits: Limits = DEFAULT_LIMITS
) -> None:
    cleaned = validate_columns(columns, limits)
    _check_times(stamp, board)
    placement.configure(cleaned, stamp)
    board.configure_columns(cleaned, stamp, limits)


def archive_story(story: Story, sprint: Sprint | None, placement: Placement, stamp: Stamp) -> None:
    """Archived stories leave their open sprint and the board's ranks but keep their history."""
    _check_times(stamp, story, sprint)
    story.archive(stamp)
    placement.archive(story.key, stamp)
    if sprint is not None and sprint.state != SprintState.CLOSED and story.key in sprint.members:
        sprint.remove_story(story.key, story.points, stamp)
        story.change_sprint(None, stamp)


def archive_board(
    board: Board, placement: Placement, open_stories: list[Story], sprints: list[Sprint], stamp: Stamp
) -> None:
    """Archives the board. ``open_stories`` are the stories on its placement, ``sprints`` the
    board's sprints: each open story and each planned or active sprint records that its board
    was archived, so that a command that read one of them before cannot save after."""
    open_sprints = [sprint for sprint in sprints if sprint.state != SprintState.CLOSED]
    _check_times(stamp, board, *open_stories, *open_sprints)
    board.archive(stamp)
    placement.archive_board(stamp)
    for story in open_stories:
        story.note_board_archived(stamp)
    for sprint in open_sprints:
        sprint.note_board_archived(stamp)


def start_sprint(board: Board, sprint: Sprint, members: list[Story], stamp: Stamp) -> None:
    """``members`` are the sprint's stories, whose current points become the commitment."""
    _check_times(stamp, board, sprint)
    if sprint.state == SprintState.PLANNED:  # otherwise sprint.start explains the refusal
        board.check_no_active_sprint()
    sprint.start({story.key: story.points for story in members}, stamp)
    board.activate_sprint(sprint.id, stamp)


def complete_sprint(
    board: Board, sprint: Sprint, members: list[Story], carry_to: Sprint | None, stamp: Stamp
) -> None:
    """Closes the sprint: stories in a DONE column count as done, the rest go
    to ``carry_to`` (a planned sprint of the same board) or back to the backlog."""
    if carry_to is not None:
        if carry_to.board_key != sprint.board_key:
            raise ValidationError(
                "stories can only carry over to a sprint of the same board", field="carryOverTo"
            )
        if carry_to.state != SprintState.PLANNED:
            raise ValidationError(f"sprint {carry_to.name} is not planned", field="carryOverTo")
    _check_times(stamp, board, sprint, carry_to, *members)
    done = [s for s in members if board.category_of(s.column) == StatusCategory.DONE]
    unfinished = [s for s in members if board.category_of(s.column) != StatusCategory.DONE]
    sprint.complete(
        {s.key: s.points for s in done},
        {s.key: s.points for s in unfinished},
        carry_to.id if carry_to is not None else None,
        stamp,
    )
    board.deactivate_sprint(sprint.id, stamp)
    for story in unfinished:
        if carry_to is not None:
            carry_to.add_story(story.key, story.points, sprint.id, stamp)
        story.change_sprint(carry_to.id if carry_to is not None else None, stamp)
