"""Replay: every aggregate rebuilt from its events equals the one that recorded them."""

from __future__ import annotations

from datetime import date
from typing import Any

from eventsourcing.application import project_aggregate

from storyline_domain import rules
from storyline_domain.board import Board, KeySequence, Role
from storyline_domain.epic import Epic
from storyline_domain.placement import Placement
from storyline_domain.sprint import Sprint
from storyline_domain.story import Story
from tests.domain.conftest import Clock, column, recorded, replay, sprint_id


def test_every_aggregate_replays_to_equal_state(clock: Clock) -> None:
    history: dict[str, list[Any]] = {}

    def keep(name: str, aggregate: Any) -> None:
        history.setdefault(name, []).extend(recorded(aggregate))

    board = Board.create("PAY", "Payments", None, clock.stamp())
    keys = KeySequence.create("PAY", clock.stamp())
    placement = Placement.create("PAY", board.columns, {}, clock.stamp(), lists_every_sprint=True)
    board.grant_role("bob", Role.MANAGER, clock.stamp())
    board.grant_role("carol", Role.MEMBER, clock.stamp())
    board.revoke_role("carol", clock.stamp())
    columns = [
        column("TODO", "TODO", "To Do"),
        column("DOING", "IN_PROGRESS", wip_limit=3),
        column("DONE", "DONE"),
    ]
    rules.configure_columns(board, placement, columns, clock.stamp())

    def new_story(title: str, points: float | None) -> Story:
        fields = {"title": title, "labels": ["api"]}
        return rules.create_story(board, keys, placement, fields, points, None, None, clock.stamp("bob"))

    one, two = new_story("One", 3), new_story("Two", None)
    epic = Epic.create("PAY", keys.issue_epic_key(clock.stamp()), "Payments", None, clock.stamp())
    one.update({"title": "One, renamed", "priority": "HIGH", "labels": ["ux", "api"]}, clock.stamp())
    one.assign("bob", clock.stamp())
    one.set_epic(epic.key, clock.stamp())
    one.block("bank", clock.stamp())
    one.unblock(clock.stamp())
    rules.rank_story(placement, two, one.rank, None, clock.stamp())
    two.estimate(5, clock.stamp())

    start, end = date(2024, 3, 4), date(2024, 3, 15)
    sprint = Sprint.create(sprint_id("one"), "PAY", "Sprint 1", "Cards", start, end, clock.stamp())
    following = Sprint.create(sprint_id("two"), "PAY", "Sprint 2", None, start, end, clock.stamp())
    rules.add_story_to_sprint(one, sprint, None, clock.stamp())
    rules.add_story_to_sprint(two, sprint, None, clock.stamp())
    rules.start_sprint(board, sprint, [one, two], clock.stamp())
    rules.move_story(board, placement, one, "DONE", clock.stamp())
    rules.move_story(board, placement, two, "DOING", clock.stamp())
    rules.complete_sprint(board, sprint, [one, two], following, clock.stamp())
    rules.archive_story(two, following, placement, clock.stamp())

    aggregates: dict[str, Any] = {
        "board": board,
        "keys": keys,
        "placement": placement,
        "one": one,
        "two": two,
        "epic": epic,
        "sprint": sprint,
        "following": following,
    }
    for name, aggregate in aggregates.items():
        keep(name, aggregate)
    assert len(history["one"]) > 5 and len(history["board"]) > 5

    for name, aggregate in aggregates.items():
        events = history[name]
        rebuilt = replay(aggregate, events)
        assert rebuilt == aggregate, name
        assert rebuilt.version == aggregate.version == len(events)
        assert project_aggregate(None, events) == aggregate, name


def test_replay_of_a_prefix_gives_the_state_at_that_version(clock: Clock) -> None:
    board = Board.create("PAY", "Payments", None, clock.stamp())
    keys = KeySequence.create("PAY", clock.stamp())
    key, rank = keys.issue_story_key(clock.stamp())
    story = Story.create(board, key, rank, {"title": "One"}, None, None, None, clock.stamp())
    story.estimate(3, clock.stamp())
    story.estimate(8, clock.stamp())
    events = recorded(story)

    at_v2 = replay(story, events[:2])
    assert (at_v2.version, at_v2.points) == (2, 3.0)
    assert replay(story, events).points == 8.0
