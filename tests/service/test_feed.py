"""A projector worker picks up events that another process recorded."""

from __future__ import annotations

import threading
import time

from storyline_service.bootstrap import bootstrap
from storyline_service.projections.feed import run_projector
from storyline_service.queries import StoryCriteria
from storyline_service.settings import Settings
from tests.helpers import ALICE


def test_a_worker_projects_what_another_writer_recorded(settings: Settings) -> None:
    writer = bootstrap(settings, read_your_writes=False)
    worker = bootstrap(settings, read_your_writes=False)
    stop = threading.Event()
    thread = threading.Thread(target=run_projector, args=(worker.projector, settings, stop, 0.2))
    thread.start()
    try:
        writer.app.create_board(ALICE, "PAY", "Payments")
        for n in range(5):
            writer.app.create_story(ALICE, "PAY", f"story {n}")
        head = writer.projector.head()
        deadline = time.monotonic() + 20
        while min(worker.projector.positions().values()) < head and time.monotonic() < deadline:
            time.sleep(0.05)
        positions = {
            "current": head,
            "history": head,
            "audit": head,
            "control": head,
            "members": head,
            "chain": head,
        }
        assert worker.projector.positions() == positions
        assert worker.reads.story_counts(["column"], [("TODO",)], StoryCriteria()) == {("TODO",): 5}
    finally:
        stop.set()
        thread.join()
        writer.close()
        worker.close()
