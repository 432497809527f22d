"""Bulk commands, createStory into a sprint, and archived boards, on both backends."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from storyline_domain.board import Board, KeySequence
from storyline_domain.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidTransitionError,
    ItemErrors,
    NotFoundError,
    ValidationError,
)
from storyline_domain.placement import Placement, placement_id
from storyline_domain.sprint import Sprint
from storyline_domain.story import Story, story_id
from storyline_service.application import Caller, Storyline
from storyline_service.board_archive import archive_board
from storyline_service.bootstrap import Runtime
from storyline_service.bulk import add_stories_to_sprint, create_stories
from storyline_service.queries import Seek
from tests.helpers import ALICE

BOB = Caller("bob")


def story(app: Storyline, key: str) -> Story:
    found = app.repository.get(story_id(key))
    assert isinstance(found, Story)
    return found


def sprint_of(app: Storyline, sprint_id: str) -> Sprint:
    found = app.repository.get(uuid.UUID(sprint_id))
    assert isinstance(found, Sprint)
    return found


def new_sprint(app: Storyline, board: str = "PAY", name: str = "Sprint 1") -> str:
    return app.create_sprint(ALICE, board, name, date(2026, 11, 2), date(2026, 11, 13))


def head(runtime: Runtime) -> int:
    return runtime.projector.head()


def errors_of(raised: pytest.ExceptionInfo[ItemErrors]) -> list[tuple[str, str | None]]:
    return [(error.code, error.field) for error in raised.value.errors]


def test_create_story_into_a_planned_or_active_sprint_in_one_change(runtime: Runtime) -> None:
    app = runtime.app
    app.create_board(ALICE, "PAY", "Payments")
    planned = new_sprint(app)
    key = app.create_story(ALICE, "PAY", "Pay by card", points=3, sprint_id=planned)
    assert story(app, key).sprint_id is not None and str(story(app, key).sprint_id) == planned
    assert sprint_of(app, planned).members == [key]
    app.start_sprint(ALICE, planned)
    second = app.create_story(ALICE, "PAY", "Refunds", sprint_id=planned)
    assert sprint_of(app, planned).members == [key, second]


@pytest.mark.parametrize("problem", ["closed", "other board", "not an id", "missing"])
def test_create_story_into_an_invalid_sprint_records_nothing(runtime: Runtime, problem: str) -> None:
    app = runtime.app
    app.create_board(ALICE, "PAY", "Payments")
    app.create_board(ALICE, "OPS", "Operations")
    sprint = new_sprint(app, "OPS" if problem == "other board" else "PAY")
    if problem == "closed":
        app.start_sprint(ALICE, sprint)
        app.complete_sprint(ALICE, sprint)
    sprint = {"not an id": "nope", "missing": "00000000-0000-0000-0000-000000000000"}.get(problem, sprint)
    before = head(runtime)
    with pytest.raises(DomainError) as raised:
        app.create_story(ALICE, "PAY", "Pay by card", sprint_id=sprint)
    expected = "INVALID_TRANSITION" if problem == "closed" else "NOT_FOUND"
    assert (raised.value.code, raised.value.field) == (expected, "sprintId")
    assert head(runtime) == before


def test_create_stories_gives_keys_and_ranks_in_order_and_joins_the_sprint(runtime: Runtime) -> None:
    app = runtime.app
    app.create_board(ALICE, "PAY", "Payments")
    app.create_story(ALICE, "PAY", "Already there")
    sprint = new_sprint(app)
    items: list[dict[str, Any]] = [
        {"title": "Cards", "points": 3, "labels": ["web"]},
        {"title": "Refunds", "type": "BUG", "priority": "HIGH", "assignee": "alice"},
        {"title": "Wallets", "description": "Apple and Google"},
    ]
    before = head(runtime)
    keys = create_stories(app, ALICE, "PAY", items, sprint)
    assert keys == ["PAY-2", "PAY-3", "PAY-4"]
    stories = [story(app, key) for key in ["PAY-1", *keys]]
    ranks = [s.rank for s in stories]
    assert ranks == sorted(ranks) and len(set(ranks)) == 4
    assert (stories[1].points, stories[1].labels, stories[2].type, stories[2].assignee) == (
        3.0,
        ["web"],
        "BUG",
        "alice",
    )
    assert sprint_of(app, sprint).members == keys
    # One transaction: the key sequence, the placement, the sprint and three stories, in one save.
    notifications = app.recorder.select_notifications(before + 1, 100)
    assert len({n.id for n in notifications}) == len(notifications) > 3
    assert {n.originator_id for n in notifications} >= {s.id for s in stories[1:]}


def test_create_stories_with_invalid_items_records_nothing_and_names_each(runtime: Runtime) -> None:
    app = runtime.app
    app.create_board(ALICE, "PAY", "Payments")
    items: list[dict[str, Any]] = [
        {"title": "Fine"},
        {"title": "   "},
        {"title": "Fine too"},
        {"title": "Epic-less", "epic_key": "PAY-E9"},
        {"title": "Bad points", "points": -1},
        {"title": "Outsider", "assignee": "mallory"},
    ]
    before = head(runtime)
    with pytest.raises(ItemErrors) as raised:
        create_stories(app, ALICE, "PAY", items)
    assert errors_of(raised) == [
        ("VALIDATION", "stories.1.title"),
        ("NOT_FOUND", "stories.3.epicKey"),
        ("VALIDATION", "stories.4.points"),
        ("VALIDATION", "stories.5.assignee"),
    ]
    assert head(runtime) == before
    assert create_stories(app, ALICE, "PAY", [{"title": "Fine"}]) == ["PAY-1"]  # no key was used up


def test_bulk_commands_bound_their_item_count_by_the_setting(runtime: Runtime) -> None:
    app = runtime.app
    app.policy = replace(app.policy, limits=replace(app.policy.limits, max_bulk_items=3))
    app.create_board(ALICE, "PAY", "Payments")
    sprint = new_sprint(app)
    for items in ([], [{"title": f"s{n}"} for n in range(4)]):
        with pytest.raises(DomainError) as raised:
            create_stories(app, ALICE, "PAY", items)
        assert (raised.value.code, raised.value.field) == ("VALIDATION", "stories")
        assert "1 to 3" in raised.value.message
    with pytest.raises(DomainError) as raised:
        add_stories_to_sprint(app, ALICE, sprint, ["PAY-1", "PAY-2", "PAY-3", "PAY-4"])
    assert raised.value.field == "storyKeys"
    assert len(create_stories(app, ALICE, "PAY", [{"title": f"s{n}"} for n in range(3)])) == 3


def test_bulk_commands_replay_with_the_same_client_mutation_id(runtime: Runtime) -> None:
    app = runtime.app
    app.create_board(ALICE, "PAY", "Payments")
    sprint = new_sprint(app)
    once = Caller("alice", idempotency_key="bulk-1")
    keys = create_stories(app, once, "PAY", [{"title": "a"}, {"title": "b"}])
    recorded = head(runtime)
    assert create_stories(app, once, "PAY", [{"title": "a"}, {"title": "b"}]) == keys
    assert head(runtime) == recorded
    again = Caller("alice", idempotency_key="bulk-2")
    assert add_stories_to_sprint(app, again, sprint, keys) == sprint
    recorded = head(runtime)
    assert add_stories_to_sprint(app, again, sprint, keys) == sprint
    assert head(runtime) == recorded
    assert sprint_of(app, sprint).members == keys
    with pytest.raises(ValidationError, match="already used") as raised:
        create_stories(app, once, "PAY", [{"title": "different"}])
    assert raised.value.field == "clientMutationId"


def test_add_stories_to_sprint_all_or_nothing_with_an_error_per_item(runtime: Runtime) -> None:
    app = runtime.app
    app.create_board(ALICE, "PAY", "Payments")
    app.create_board(BOB, "OPS", "Operations")
    keys = create_stories(app, ALICE, "PAY", [{"title": f"s{n}"} for n in range(3)])
    other = app.create_story(BOB, "OPS", "Elsewhere")
    first, second = new_sprint(app), new_sprint(app, name="Sprint 2")
    app.add_story_to_sprint(ALICE, second, keys[2])
    before = head(runtime)
    with pytest.raises(ItemErrors) as raised:
        add_stories_to_sprint(app, ALICE, first, [keys[0], "PAY-99", keys[0], keys[2], other])
    assert errors_of(raised) == [
        ("NOT_FOUND", "storyKeys.1"),
        ("VALIDATION", "storyKeys.2"),
        ("VALIDATION", "storyKeys.3"),
        ("NOT_FOUND", "storyKeys.4"),  # a board alice has no role on: as if missing
    ]
    assert head(runtime) == before
    assert add_stories_to_sprint(app, ALICE, first, keys[:2]) == first
    assert sprint_of(app, first).members == keys[:2]
    assert all(str(story(app, key).sprint_id) == first for key in keys[:2])


def test_sixteen_concurrent_bulk_creators_get_distinct_keys_and_ranks(runtime: Runtime) -> None:
    app = runtime.app
    app.create_board(ALICE, "PAY", "Payments")
    created: list[list[str]] = []
    failures: list[BaseException] = []

    def create(writer: int) -> None:
        try:
            created.append(create_stories(app, ALICE, "PAY", [{"title": f"{writer}-{n}"} for n in range(5)]))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=create, args=(w,)) for w in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    keys = [key for batch in created for key in batch]
    assert sorted(keys, key=lambda k: int(k.split("-")[1])) == [f"PAY-{n}" for n in range(1, 81)]
    for batch in created:  # each batch is consecutive: one command, one transaction
        numbers = [int(key.split("-")[1]) for key in batch]
        assert numbers == list(range(numbers[0], numbers[0] + 5))
    ranks = [story(app, key).rank for key in keys]
    assert len(set(ranks)) == 80


def test_an_archived_board_refuses_story_and_sprint_commands_but_keeps_roles(runtime: Runtime) -> None:
    app = runtime.app
    app.create_board(ALICE, "PAY", "Payments")
    app.grant_role(ALICE, "PAY", "bob", "MEMBER")
    key = app.create_story(ALICE, "PAY", "Pay by card")
    sprint = new_sprint(app)
    with pytest.raises(ForbiddenError):
        archive_board(app, BOB, "PAY")
    assert archive_board(app, ALICE, "PAY") == "PAY"
    refusals = {
        "createStory": lambda: app.create_story(ALICE, "PAY", "More"),
        "createStories": lambda: create_stories(app, ALICE, "PAY", [{"title": "More"}]),
        "updateStory": lambda: app.update_story(ALICE, key, {"title": "New"}),
        "moveStory": lambda: app.move_story(ALICE, key, "DONE"),
        "archiveStory": lambda: app.archive_story(ALICE, key),
        "addStoryToSprint": lambda: app.add_story_to_sprint(ALICE, sprint, key),
        "addStoriesToSprint": lambda: add_stories_to_sprint(app, ALICE, sprint, [key]),
        "startSprint": lambda: app.start_sprint(ALICE, sprint),
        "createSprint": lambda: new_sprint(app),
        "archiveBoard": lambda: archive_board(app, ALICE, "PAY"),
    }
    before = head(runtime)
    for name, command in refusals.items():
        with pytest.raises(InvalidTransitionError, match="archived"):
            command()
        assert head(runtime) == before, name
    app.grant_role(ALICE, "PAY", "carol", "VIEWER")  # who may read its history still changes
    runtime.projector.catch_up()
    assert [row.key for row in runtime.reads.boards(10, Seek(), None)] == []
    assert [row.key for row in runtime.reads.boards(10, Seek(), None, archived=True)] == ["PAY"]


def test_archive_racing_story_commands_leaves_no_change_after_it(runtime: Runtime) -> None:
    app = runtime.app
    app.create_board(ALICE, "PAY", "Payments")
    keys = create_stories(app, ALICE, "PAY", [{"title": f"s{n}"} for n in range(8)])
    outcomes: list[str] = []
    start = threading.Barrier(9)

    def edit(key: str) -> None:
        start.wait()
        for n in range(10):
            try:
                if n % 2:
                    app.update_story(ALICE, key, {"title": f"{key} v{n}"})
                else:
                    app.move_story(ALICE, key, "IN_PROGRESS" if n % 4 == 0 else "TODO")
                outcomes.append("ok")
            except (InvalidTransitionError, ConflictError, NotFoundError) as error:
                outcomes.append(error.code)

    def archive() -> None:
        start.wait()
        archive_board(app, ALICE, "PAY")
        outcomes.append("archived")

    threads = [threading.Thread(target=edit, args=(key,)) for key in keys] + [
        threading.Thread(target=archive)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert "archived" in outcomes and set(outcomes) <= {"ok", "archived", "INVALID_TRANSITION", "CONFLICT"}
    # Nothing of the board's stories was recorded after the archive.
    events = app.recorder.select_notifications(1, 100_000)
    archived_at = next(n.id for n in events if n.topic.endswith("Board.Archived"))
    ids = {story(app, key).id for key in keys}
    assert [
        n for n in events if n.originator_id in ids and n.id > archived_at and "BoardArchived" not in n.topic
    ] == []
    assert all(story(app, key).board_archived for key in keys)


@pytest.mark.parametrize(
    "command",
    ["updateStory", "assignStory", "moveStory", "createStory", "startSprint", "createSprint", "updateSprint"],
)
def test_a_command_that_read_the_board_before_the_archive_cannot_save_after_it(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    app = runtime.app
    app.create_board(ALICE, "PAY", "Payments")
    key = app.create_story(ALICE, "PAY", "Pay by card")
    sprint = new_sprint(app)
    run = {
        "updateStory": lambda: app.update_story(ALICE, key, {"title": "Late edit"}),
        "assignStory": lambda: app.assign_story(ALICE, key, "alice"),
        "moveStory": lambda: app.move_story(ALICE, key, "DONE"),
        "createStory": lambda: app.create_story(ALICE, "PAY", "Late story"),
        "startSprint": lambda: app.start_sprint(ALICE, sprint),
        "createSprint": lambda: new_sprint(app, name="Sprint 2"),
        "updateSprint": lambda: app.update_sprint(ALICE, sprint, {"goal": "Late goal"}),
    }[command]
    save, archived = app.save, []

    def archive_first(*aggregates: Any, **kwargs: Any) -> Any:
        # The command has read and decided; the archive commits before the command saves.
        if not archived:
            archived.append(True)
            archive_board(app, ALICE, "PAY")
        return save(*aggregates, **kwargs)

    monkeypatch.setattr(app, "save", archive_first)
    with pytest.raises((ConflictError, InvalidTransitionError)):
        run()
    monkeypatch.setattr(app, "save", save)
    events = app.recorder.select_notifications(1, 100_000)
    archived_at = max(
        n.id for n in events if n.topic.endswith("Archived") and "Story.Archived" not in n.topic
    )
    assert [n.topic for n in events if n.id > archived_at] == []  # the archive's change was the last
    assert story(app, key).title == "Pay by card" and story(app, key).column == "TODO"


def archive_before_next_save(app: Storyline, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next command reads and decides; the archive of PAY commits just before it saves."""
    save = app.save

    def archive_first(*aggregates: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(app, "save", save)
        archive_board(app, ALICE, "PAY")
        return save(*aggregates, **kwargs)

    monkeypatch.setattr(app, "save", archive_first)


def test_a_sprint_planned_as_the_board_is_archived_is_refused_and_not_recorded(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = runtime.app
    app.create_board(ALICE, "PAY", "Payments")
    first = new_sprint(app)
    archive_before_next_save(app, monkeypatch)
    before = head(runtime)

    with pytest.raises(InvalidTransitionError, match="archived") as refused:
        new_sprint(app, name="Sprint 2")  # lost to the archive on the placement; retried, refused

    assert refused.value.code == "INVALID_TRANSITION"
    events = app.recorder.select_notifications(before + 1, 100)
    assert [n.topic.rsplit(".", 1)[-1] for n in events] == ["Archived", "BoardArchived", "BoardArchived"]
    assert {n.originator_id for n in events if n.topic.endswith("Sprint.BoardArchived")} == {uuid.UUID(first)}
    runtime.projector.catch_up()
    assert runtime.reads.sprint_counts(("board_key",), [("PAY",)], None) == {("PAY",): 1}
    assert sprint_of(app, first).board_archived


def test_a_sprint_edit_decided_before_the_archive_loses_and_is_refused_when_retried(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = runtime.app
    app.create_board(ALICE, "PAY", "Payments")
    planned, active = new_sprint(app), new_sprint(app, name="Sprint 2")
    app.start_sprint(ALICE, active)
    archive_before_next_save(app, monkeypatch)

    with pytest.raises(ConflictError) as lost:
        app.update_sprint(ALICE, active, {"goal": "Late goal"})
    assert lost.value.code == "CONFLICT"
    recorded = head(runtime)
    for sprint in (planned, active):
        with pytest.raises(InvalidTransitionError, match="archived") as refused:
            app.update_sprint(ALICE, sprint, {"goal": "Late goal"})
        assert (refused.value.code, refused.value.field) == ("INVALID_TRANSITION", "sprintId")
    assert head(runtime) == recorded
    assert sprint_of(app, active).goal is None
    assert sprint_of(app, planned).board_archived and sprint_of(app, active).board_archived
    runtime.projector.catch_up()
    rows = runtime.reads.sprints_by_id([planned, active])
    for sprint in (planned, active):  # the read model follows the sprint to its last version
        assert rows[sprint].version == sprint_of(app, sprint).version


def test_archiving_a_board_recorded_before_placements_listed_sprints_closes_its_older_sprints(
    runtime: Runtime,
) -> None:
    app = runtime.app
    # A board and a sprint as the service recorded them before placements listed sprints:
    # no placement, the sprint saved alone.
    stamp = app._stamp(ALICE)
    app.save(Board.create("PAY", "Payments", None, stamp), KeySequence.create("PAY", stamp))
    older = Sprint.create(
        uuid.uuid4(), "PAY", "Sprint 0", None, date(2026, 10, 19), date(2026, 10, 30), stamp
    )
    app.save(older)
    newer = new_sprint(app)  # derives the board's placement, which cannot list the older sprint
    placement = app.repository.get(placement_id("PAY"))
    assert isinstance(placement, Placement) and not placement.lists_every_sprint
    assert list(placement.sprint_ids) == [uuid.UUID(newer)]
    done = new_sprint(app, name="Done")
    app.start_sprint(ALICE, done)
    app.complete_sprint(ALICE, done)

    archive_board(app, ALICE, "PAY")

    assert sprint_of(app, str(older.id)).board_archived and sprint_of(app, newer).board_archived
    assert not sprint_of(app, done).board_archived  # a closed sprint takes no changes anyway
    with pytest.raises(InvalidTransitionError, match="archived"):
        app.update_sprint(ALICE, str(older.id), {"goal": "Late goal"})
