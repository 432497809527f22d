"""Commands on one board take turns for its placement within a process, on both backends: writers
in one process do not throw work away by racing each other, and a stuck turn is not waited for
for ever (the event store still decides)."""

from __future__ import annotations

import threading
from typing import Any

from eventsourcing.persistence import RecordConflictError

from storyline_service.application import Storyline
from storyline_service.bootstrap import Runtime
from storyline_service.placing import Turns
from storyline_service.settings import Settings
from tests.helpers import ALICE
from tests.service.test_boundary import WRITERS, assert_invariants, concurrently


class CountingStoryline(Storyline):
    """Counts the saves that lost to another writer's."""

    name = Storyline.name  # the same event store

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.eventsourcing_env())
        self.lost = 0

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        try:
            return super().save(*objs, **kwargs)
        except RecordConflictError:
            self.lost += 1
            raise


def test_sixteen_writers_in_one_process_move_stories_of_one_board_without_redoing_any(
    runtime: Runtime, settings: Settings
) -> None:
    runtime.app.create_board(ALICE, "PAY", "Payments")
    keys = [runtime.app.create_story(ALICE, "PAY", f"story {n}") for n in range(WRITERS)]
    app = CountingStoryline(settings)
    try:
        outcomes = concurrently([lambda key=key: app.move_story(ALICE, key, "IN_PROGRESS") for key in keys])
        assert outcomes == keys
        assert app.lost == 0
    finally:
        app.close()
    runtime.projector.catch_up()
    assert_invariants(runtime, "PAY")


def test_a_turn_held_too_long_is_not_waited_for() -> None:
    turns = Turns(wait_seconds=0.05)
    holding, done = threading.Event(), threading.Event()

    def stuck() -> None:
        with turns.command():
            turns.take("PAY")
            holding.set()
            done.wait(5)

    thread = threading.Thread(target=stuck)
    thread.start()
    try:
        holding.wait(5)
        with turns.command():
            turns.take("PAY")  # returns after wait_seconds, without the turn
            assert getattr(turns.local, "held", None) is None
    finally:
        done.set()
        thread.join()
    with turns.command():
        turns.take("PAY")  # given up by the stuck command when it ended
        assert turns.local.held is not None
