"""The Storyline application: one method per use case, each recording one atomic change."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.persistence import JSONTranscoder, RecordConflictError, Transcoding
from eventsourcing.utils import strtobool
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from storyline_domain import rules
from storyline_domain.base import Stamp, StorylineAggregate
from storyline_domain.board import (
    Board,
    KeySequence,
    Role,
    as_columns,
    board_id,
    key_sequence_id,
    role_allows,
)
from storyline_domain.epic import Epic, epic_id
from storyline_domain.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
)
from storyline_domain.placement import Placement
from storyline_domain.quota import BoardQuota, board_quota_id
from storyline_domain.sprint import Sprint
from storyline_domain.story import EDITABLE_FIELDS as STORY_EDITABLE_FIELDS
from storyline_domain.story import Story, clean_assignee, story_id
from storyline_domain.text import check_text
from storyline_service.batching import Batch, BatchingRepository, current_batch
from storyline_service.guards import BACKFILL_NEEDS_IMPORT, Policy
from storyline_service.placing import TURNS, StoryCreation, load_placement
from storyline_service.receipts import CommandReceipt, receipt_id

A = TypeVar("A", bound=StorylineAggregate)


@dataclass(frozen=True)
class Caller:
    """Who runs a command, and the request-level metadata that goes on its events."""

    actor: str
    correlation_id: str = field(default_factory=lambda: uuid4().hex)
    idempotency_key: str | None = None
    occurred_at: datetime | None = None  # backfill; None means now
    superuser: bool = False  # the bootstrap admin, ADMIN on every board


class RaceLost(ConflictError):
    """Another command changed the same aggregate between our read and our write."""


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


# Commands on one board contend for its placement; backing off at random spreads
# sixteen and more writers out, so each gets through in a few attempts.
retry_lost_race = retry(
    retry=retry_if_exception_type(RaceLost),
    stop=stop_after_attempt(60),
    wait=wait_random_exponential(multiplier=0.002, max=0.2),
    reraise=True,
)


class Storyline(Application[UUID]):
    name = "Storyline"
    # Long-lived aggregates load from their latest snapshot plus the events after it.
    snapshotting_intervals = {Story: 50, Board: 50, Sprint: 50, KeySequence: 50, Placement: 50}

    def __init__(self, env: dict[str, str] | None = None, *, policy: Policy | None = None) -> None:
        super().__init__(env)
        self.policy = policy or Policy()
        # Called with the last notification id of each save (read-your-writes).
        self.on_recorded: Callable[[int], None] | None = None

    def construct_repository(self) -> Repository[UUID]:
        """eventsourcing's repository, configured as it does, that also knows batches."""
        cache_maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return BatchingRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(cache_maxsize) if cache_maxsize else None,
            fastforward=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD, "y")),
            fastforward_skipping=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD_SKIPPING, "n")),
            deepcopy_from_cache=strtobool(self.env.get(self.DEEPCOPY_FROM_AGGREGATE_CACHE, "y")),
        )

    @contextmanager
    def batched(self) -> Iterator[Batch]:
        """Commands run inside see each other's changes and are saved together, in one
        transaction, when it ends; nothing is saved if it ends with an error."""
        batch = Batch()
        token = current_batch.set(batch)
        try:
            yield batch
        finally:
            current_batch.reset(token)
        # The events first, in command order; then the aggregates, for snapshots and the cache.
        recordings = self.save(*batch.events, *batch.aggregates.values())
        if recordings and self.on_recorded is not None:
            self.on_recorded(recordings[-1].notification.id)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # ----- boards -----

    @retry_lost_race  # a lost race is for the key (taken on retry) or for the creator's quota
    def create_board(
        self, caller: Caller, key: str, name: str, columns: list[dict[str, Any]] | None = None
    ) -> str:
        def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
            self.policy.check_board_creator(caller.superuser, stamp.backfilled)
            if board_id(key) in self.repository:
                raise ValidationError(f"board key {key} is taken", field="key")
            board = Board.create(
                key, name, None if columns is None else as_columns(columns), stamp, self.policy.limits
            )
            placement = Placement.create(board.key, board.columns, {}, stamp, lists_every_sprint=True)
            changed: list[StorylineAggregate] = [board, KeySequence.create(board.key, stamp), placement]
            if not caller.superuser:  # admin tokens set up and import boards for everyone
                quota = self._board_quota(caller.actor, stamp)
                quota.count_board(board.key, stamp, self.policy.max_boards_per_user)
                changed.append(quota)
            return board.key, changed

        return self._execute("createBoard", caller, dict(key=key, name=name, columns=columns), run)

    def _board_quota(self, user: str, stamp: Stamp) -> BoardQuota:
        try:
            return self._get(BoardQuota, board_quota_id(user), f"board quota of {user}")
        except NotFoundError:
            return BoardQuota.create(user, stamp)

    @retry_lost_race
    def configure_columns(
        self,
        caller: Caller,
        board_key: str,
        columns: list[dict[str, Any]],
        expected_version: int | None = None,
    ) -> str:
        def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
            board = self._board(board_key, caller, Role.MANAGER, expected_version)
            placement = load_placement(self, board, stamp)
            rules.configure_columns(board, placement, as_columns(columns), stamp, self.policy.limits)
            return board.key, [board, placement]

        return self._execute("configureColumns", caller, dict(board_key=board_key, columns=columns), run)

    def grant_role(self, caller: Caller, board_key: str, user: str, role: str) -> str:
        def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
            board = self._board(board_key, caller, Role.ADMIN, archived_too=True)
            board.grant_role(user, Role(role), stamp)
            return board.key, [board]

        return self._execute("grantRole", caller, dict(board_key=board_key, user=user, role=role), run)

    def revoke_role(self, caller: Caller, board_key: str, user: str) -> str:
        def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
            board = self._board(board_key, caller, Role.ADMIN, archived_too=True)
            board.revoke_role(user, stamp)
            return board.key, [board]

        return self._execute("revokeRole", caller, dict(board_key=board_key, user=user), run)

    # ----- stories -----

    @retry_lost_race
    def create_story(
        self,
        caller: Caller,
        board_key: str,
        title: str,
        description: str | None = None,
        type: str = "STORY",
        priority: str = "MEDIUM",
        labels: list[str] | None = None,
        points: float | None = None,
        assignee: str | None = None,
        epic_key: str | None = None,
        sprint_id: str | None = None,
    ) -> str:
        """With ``sprint_id`` (a PLANNED or ACTIVE sprint of the board) also adds the story to it."""
        item = dict(
            title=title,
            description=description,
            type=type,
            priority=priority,
            labels=labels,
            points=points,
            assignee=assignee,
            epic_key=epic_key,
        )
        args: dict[str, Any] = dict(board_key=board_key, **item)
        if sprint_id is not None:  # fingerprints of commands without a sprint stay as they were
            args["sprint_id"] = sprint_id

        def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
            board = self._board(board_key, caller, Role.MEMBER)
            sprint = self._sprint_for_new_stories(sprint_id, caller, board) if sprint_id else None
            creation = StoryCreation.on(self, board, stamp)
            story = self._new_story(creation, item, sprint, stamp)
            return story.key, [*creation.changed(), sprint] if sprint else creation.changed()

        return self._execute("createStory", caller, args, run)

    def update_story(
        self, caller: Caller, story_key: str, changes: dict[str, Any], expected_version: int | None = None
    ) -> str:
        return self._story_command(
            "updateStory",
            caller,
            story_key,
            expected_version,
            {"changes": changes},
            lambda story, stamp: story.update(changes, stamp, self.policy.limits),
        )

    def estimate_story(
        self, caller: Caller, story_key: str, points: float | None, expected_version: int | None = None
    ) -> str:
        return self._story_command(
            "estimateStory",
            caller,
            story_key,
            expected_version,
            {"points": points},
            lambda story, stamp: story.estimate(points, stamp),
        )

    def assign_story(
        self, caller: Caller, story_key: str, assignee: str | None, expected_version: int | None = None
    ) -> str:
        def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
            story, board = self._story_on_board(story_key, caller, Role.MEMBER, expected_version)
            board.check_member(clean_assignee(assignee), field="assignee")
            story.assign(assignee, stamp)
            return story.key, [story]

        return self._execute("assignStory", caller, {"story_key": story_key, "assignee": assignee}, run)

    @retry_lost_race
    def move_story(
        self,
        caller: Caller,
        story_key: str,
        to_column: str,
        expected_version: int | None = None,
        before: str | None = None,
        after: str | None = None,
    ) -> str:
        """Moves the story; with ``before`` and/or ``after`` also ranks it, in the same change."""

        def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
            story, board = self._story_on_board(story_key, caller, Role.MEMBER, expected_version)
            placement = load_placement(self, board, stamp)
            if not story.archived and placement.spots.get(story.key, [story.column])[0] != story.column:
                # Moved by another command after the story was read: decide again on both as they are.
                raise RaceLost("someone else moved this story at the same moment; reload and try again")
            ranked = before is not None or after is not None
            rank = self._neighbour_ranks(story, placement, before, after) if ranked else None
            rules.move_story(board, placement, story, to_column, stamp, rank)
            return story.key, [story, placement]

        args: dict[str, str | None] = {"story_key": story_key, "to_column": to_column}
        if before is not None or after is not None:  # fingerprints of plain moves stay as they were
            args |= {"before": before, "after": after}
        return self._execute("moveStory", caller, args, run)

    @retry_lost_race
    def rank_story(
        self,
        caller: Caller,
        story_key: str,
        before: str | None = None,
        after: str | None = None,
        expected_version: int | None = None,
    ) -> str:
        """Ranks the story just above ``before`` and/or just below ``after``."""

        def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
            story, board = self._story_on_board(story_key, caller, Role.MEMBER, expected_version)
            placement = load_placement(self, board, stamp)
            ranks = self._neighbour_ranks(story, placement, before, after)
            rules.rank_story(placement, story, *ranks, stamp)
            return story.key, [story, placement]

        return self._execute(
            "rankStory", caller, {"story_key": story_key, "before": before, "after": after}, run
        )

    def block_story(
        self, caller: Caller, story_key: str, reason: str, expected_version: int | None = None
    ) -> str:
        return self._story_command(
            "blockStory",
            caller,
            story_key,
            expected_version,
            {"reason": reason},
            lambda story, stamp: story.block(reason, stamp),
        )

    def unblock_story(self, caller: Caller, story_key: str, expected_version: int | None = None) -> str:
        return self._story_command(
            "unblockStory", caller, story_key, expected_version, {}, lambda story, stamp: story.unblock(stamp)
        )

    @retry_lost_race
    def archive_story(self, caller: Caller, story_key: str, expected_version: int | None = None) -> str:
        def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
            story, board = self._story_on_board(story_key, caller, Role.MEMBER, expected_version)
            sprint = self._get(Sprint, story.sprint_id, "sprint") if story.sprint_id else None
            placement = load_placement(self, board, stamp)
            rules.archive_story(story, sprint, placement, stamp)
            return story.key, [story, placement, sprint] if sprint else [story, placement]

        return self._execute("archiveStory", caller, dict(story_key=story_key), run)

    def set_story_epic(
        self, caller: Caller, story_key: str, epic_key: str | None, expected_version: int | None = None
    ) -> str:
        def set_epic(story: Story, stamp: Stamp) -> None:
            if epic_key is not None:
                self._epic_of_board(epic_key, story.board_key)
            story.set_epic(epic_key, stamp)

        return self._story_command(
            "setStoryEpic", caller, story_key, expected_version, {"epic_key": epic_key}, set_epic
        )

    # ----- epics -----

    @retry_lost_race
    def create_epic(self, caller: Caller, board_key: str, title: str, target_date: date | None = None) -> str:
        def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
            self._board(board_key, caller, Role.MANAGER)
            sequence = self._get(KeySequence, key_sequence_id(board_key), board_key)
            key = sequence.issue_epic_key(stamp, self.policy.limits)
            epic = Epic.create(board_key, key, title, target_date, stamp, self.policy.limits)
            return epic.key, [sequence, epic]

        args = dict(board_key=board_key, title=title, target_date=target_date)
        return self._execute("createEpic", caller, args, run)

    # ----- sprints -----

    @retry_lost_race  # a lost race is for the board's placement
    def create_sprint(
        self,
        caller: Caller,
        board_key: str,
        name: str,
        start_date: date,
        end_date: date,
        goal: str | None = None,
    ) -> str:
        def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
            board = self._board(board_key, caller, Role.MANAGER)
            # A fresh id per attempt; an idempotent retry replays the first one.
            sprint = Sprint.create(
                uuid4(), board_key, name, goal, start_date, end_date, stamp, self.policy.limits
            )
            # Listed on the placement, which archiveBoard also saves: see board_archive.
            placement = load_placement(self, board, stamp)
            placement.plan_sprint(sprint.id, stamp)
            return str(sprint.id), [sprint, placement]

        args = dict(board_key=board_key, name=name, start_date=start_date, end_date=end_date, goal=goal)
        return self._execute("createSprint", caller, args, run)

    def update_sprint(
        self, caller: Caller, sprint_id: str, changes: dict[str, Any], expected_version: int | None = None
    ) -> str:
        def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
            sprint = self._sprint(sprint_id, caller, Role.MANAGER, expected_version)
            sprint.update(dict(changes), stamp, self.policy.limits)
            return sprint_id, [sprint]

        return self._execute("updateSprint", caller, dict(sprint_id=sprint_id, changes=changes), run)

    def add_story_to_sprint(self, caller: Caller, sprint_id: str, story_key: str) -> str:
        def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
            sprint = self._sprint(sprint_id, caller, Role.MEMBER)
            story = self._story(story_key, caller, Role.MEMBER)
            current = None
            if story.sprint_id is not None:
                current = (
                    sprint if story.sprint_id == sprint.id else self._get(Sprint, story.sprint_id, "sprint")
                )
            rules.add_story_to_sprint(story, sprint, current, stamp)
            return sprint_id, [sprint, story]

        return self._execute("addStoryToSprint", caller, dict(sprint_id=sprint_id, story_key=story_key), run)

    def remove_story_from_sprint(self, caller: Caller, sprint_id: str, story_key: str) -> str:
        def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
            sprint = self._sprint(sprint_id, caller, Role.MEMBER)
            story = self._story(story_key, caller, Role.MEMBER)
            rules.remove_story_from_sprint(story, sprint, stamp)
            return sprint_id, [sprint, story]

        args = dict(sprint_id=sprint_id, story_key=story_key)
        return self._execute("removeStoryFromSprint", caller, args, run)

    def start_sprint(self, caller: Caller, sprint_id: str, expected_version: int | None = None) -> str:
        def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
            sprint = self._sprint(sprint_id, caller, Role.MANAGER, expected_version)
            board = self._get(Board, board_id(sprint.board_key), sprint.board_key)
            members = [self._get(Story, story_id(key), key) for key in sprint.members]
            rules.start_sprint(board, sprint, members, stamp)
            return sprint_id, [sprint, board]

        return self._execute("startSprint", caller, dict(sprint_id=sprint_id), run)

    def complete_sprint(
        self,
        caller: Caller,
        sprint_id: str,
        carry_over_to: str | None = None,
        expected_version: int | None = None,
    ) -> str:
        def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
            sprint = self._sprint(sprint_id, caller, Role.MANAGER, expected_version)
            board = self._get(Board, board_id(sprint.board_key), sprint.board_key)
            members = [self._get(Story, story_id(key), key) for key in sprint.members]
            target = None
            if carry_over_to is not None:
                target = self._get(
                    Sprint, parse_uuid(carry_over_to, "carryOverTo"), "sprint", field="carryOverTo"
                )
                if target.board_key != sprint.board_key:  # said exactly as for a missing sprint
                    raise not_found("sprint", "carryOverTo")
            rules.complete_sprint(board, sprint, members, target, stamp)
            changed: list[StorylineAggregate] = [sprint, board, *members]
            return sprint_id, [*changed, target] if target else changed

        return self._execute(
            "completeSprint", caller, dict(sprint_id=sprint_id, carry_over_to=carry_over_to), run
        )

    # ----- plumbing -----

    def _execute(
        self,
        command: str,
        caller: Caller,
        args: dict[str, Any],
        run: Callable[[Stamp], tuple[str, list[StorylineAggregate]]],
    ) -> str:
        stamp = self._stamp(caller)
        # A retry repeats the command exactly, including its business time.
        fingerprint = fingerprint_of({**args, "occurred_at": caller.occurred_at})
        receipt = self._receipt(caller)
        if receipt is not None:
            return receipt.replay(command, fingerprint)
        with TURNS.command():
            result, changed = run(stamp)
            if caller.idempotency_key is not None:
                changed.append(CommandReceipt.create(command, fingerprint, result, stamp))
            batch = current_batch.get()
            if batch is not None:
                batch.add(changed)
                return result
            try:
                recordings = self.save(*changed)
            except RecordConflictError:
                receipt = self._receipt(caller)
                if receipt is not None:
                    return receipt.replay(command, fingerprint)
                raise RaceLost("someone else changed this at the same moment; reload and try again") from None
        if recordings and self.on_recorded is not None:
            self.on_recorded(recordings[-1].notification.id)
        return result

    def _stamp(self, caller: Caller) -> Stamp:
        now = datetime.now(UTC)
        check_text(caller.actor, "actor")
        self.policy.check_idempotency_key(caller.idempotency_key)
        return Stamp(
            caller.actor,
            self.policy.business_time(caller.occurred_at, now),
            now,
            caller.correlation_id,
            caller.idempotency_key,
            backfilled=caller.occurred_at is not None,
        )

    def _receipt(self, caller: Caller) -> CommandReceipt | None:
        if caller.idempotency_key is None:
            return None
        try:
            receipt: Any = self.repository.get(receipt_id(caller.actor, caller.idempotency_key))
        except AggregateNotFoundError:
            return None
        assert isinstance(receipt, CommandReceipt)
        return receipt

    def _get(
        self, cls: type[A], aggregate_id: UUID, label: str, *, field: str | None = None, copy: bool = True
    ) -> A:
        """``copy=False``: the cached aggregate itself, for reading only (the copy is a command's
        largest cost after its statements)."""
        try:
            aggregate: Any = self.repository.get(aggregate_id, deepcopy_from_cache=copy)
        except AggregateNotFoundError:
            raise not_found(label, field) from None
        if not isinstance(aggregate, cls):
            raise not_found(label, field)
        return aggregate

    def _authorize(self, caller: Caller, board: Board, needed: Role, unseen: NotFoundError) -> None:
        """``unseen``: what a caller without a role on the board is told, the very error of a
        missing object, so that other boards' objects cannot be told from missing ones."""
        if caller.superuser:
            return
        role = board.roles.get(caller.actor)
        if role is None:
            raise unseen
        if not role_allows(role, needed):
            raise ForbiddenError(f"this needs the {needed.value} role on {board.key}")
        if caller.occurred_at is not None and role != Role.ADMIN:
            raise ForbiddenError(BACKFILL_NEEDS_IMPORT, field="occurredAt")

    def _board(
        self,
        key: str,
        caller: Caller,
        needed: Role,
        expected_version: int | None = None,
        *,
        archived_too: bool = False,
    ) -> Board:
        """``archived_too``: the command may change an archived board (its roles); others are refused."""
        board = self._get(Board, board_id(key), f"board {key}", field="boardKey")
        self._authorize(caller, board, needed, not_found(f"board {key}", "boardKey"))
        if not archived_too:
            board.check_not_archived("boardKey")
        check_version(board, expected_version)
        return board

    def _new_story(
        self, creation: StoryCreation, item: dict[str, Any], sprint: Sprint | None, stamp: Stamp
    ) -> Story:
        """A story from createStory's fields (None: the default), added to ``sprint`` if given."""
        if item["epic_key"] is not None:
            self._epic_of_board(item["epic_key"], creation.board.key)
        fields = {name: item[name] for name in STORY_EDITABLE_FIELDS if item.get(name) is not None}
        story = creation.new_story(
            fields, item["points"], item["assignee"], item["epic_key"], stamp, self.policy.limits
        )
        if sprint is not None:
            rules.add_story_to_sprint(story, sprint, None, stamp)
        return story

    def _sprint_for_new_stories(self, sprint_id: str, caller: Caller, board: Board) -> Sprint:
        """A PLANNED or ACTIVE sprint of ``board``, as addStoryToSprint would take it."""
        sprint = self._sprint(sprint_id, caller, Role.MEMBER)
        if sprint.board_key != board.key:  # said exactly as for a missing sprint
            raise not_found("sprint", "sprintId")
        sprint.check_open()
        return sprint

    def _story(self, key: str, caller: Caller, needed: Role, expected_version: int | None = None) -> Story:
        return self._story_on_board(key, caller, needed, expected_version)[0]

    def _story_on_board(
        self, key: str, caller: Caller, needed: Role, expected_version: int | None = None
    ) -> tuple[Story, Board]:
        """The story, and its board as loaded to authorize the caller (for commands that need both;
        none of them changes the board, which is therefore not copied)."""
        story = self._get(Story, story_id(key), f"story {key}", field="storyKey")
        board = self._get(Board, board_id(story.board_key), story.board_key, copy=False)
        self._authorize(caller, board, needed, not_found(f"story {key}", "storyKey"))
        board.check_not_archived("storyKey")
        check_version(story, expected_version)
        if caller.occurred_at is not None and story.sprint_id is not None:
            # A story still attached to a closed sprint was done in it: its past is in those books.
            self._get(Sprint, story.sprint_id, "sprint", copy=False).check_books_open(caller.occurred_at)
        return story, board

    def _sprint(
        self, sprint_id: str, caller: Caller, needed: Role, expected_version: int | None = None
    ) -> Sprint:
        sprint = self._get(Sprint, parse_uuid(sprint_id, "sprintId"), "sprint", field="sprintId")
        board = self._get(Board, board_id(sprint.board_key), sprint.board_key)
        self._authorize(caller, board, needed, not_found("sprint", "sprintId"))
        board.check_not_archived("sprintId")
        check_version(sprint, expected_version)
        return sprint

    def _epic_of_board(self, epic_key: str, board_key: str) -> Epic:
        epic = self._get(Epic, epic_id(epic_key), f"epic {epic_key}", field="epicKey")
        if epic.board_key != board_key:  # said exactly as for a missing epic
            raise not_found(f"epic {epic_key}", "epicKey")
        return epic

    def _neighbour(self, story: Story, key: str | None, field: str) -> Story | None:
        if key is None:
            return None
        other = self._get(Story, story_id(key), f"story {key}", field=field)
        if other.board_key != story.board_key:  # said exactly as for a missing story
            raise not_found(f"story {key}", field)
        return other

    def _neighbour_ranks(
        self, story: Story, placement: Placement, before: str | None, after: str | None
    ) -> tuple[str | None, str | None]:
        """The ranks of the stories named as ``before`` and ``after``, as the placement has them
        (an archived story is not on it and keeps its last rank)."""
        if story.key in (before, after):
            raise ValidationError("a story cannot rank against itself", field="before")
        upper, lower = self._neighbour(story, before, "before"), self._neighbour(story, after, "after")
        return (
            (placement.rank_of(upper.key) or upper.rank) if upper else None,
            (placement.rank_of(lower.key) or lower.rank) if lower else None,
        )

    def _story_command(
        self,
        command: str,
        caller: Caller,
        story_key: str,
        expected_version: int | None,
        args: dict[str, Any],
        change: Callable[[Story, Stamp], None],
    ) -> str:
        def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
            story = self._story(story_key, caller, Role.MEMBER, expected_version)
            change(story, stamp)
            return story.key, [story]

        return self._execute(command, caller, {"story_key": story_key, **args}, run)


def not_found(label: str, field: str | None) -> NotFoundError:
    return NotFoundError(f"{label} not found", field=field)


def check_version(aggregate: StorylineAggregate, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != aggregate.version:
        raise ConflictError(
            f"expected version {expected_version}, but it is at {aggregate.version}; reload and retry",
            field="expectedVersion",
        )


def parse_uuid(value: str, field: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise not_found("sprint", field) from None


def fingerprint_of(args: dict[str, Any]) -> str:
    canonical = json.dumps(args, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
