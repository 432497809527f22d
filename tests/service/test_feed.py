"""A projector worker picks up events that another process recorded."""

from __future__ import annotations

import threading
import time

import pytest

from storyline_service.bootstrap import bootstrap
from storyline_service.projections.feed import run_projector
from storyline_service.projections.leases import ProjectionLeases
from storyline_service.queries import StoryCriteria
from storyline_service.settings import Settings
from tests.conftest import POSTGRES_URL
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


@pytest.mark.postgres
def test_postgresql_probes_every_session_holding_a_lock_so_a_vanished_host_frees_it(
    postgres_schema: str,
) -> None:
    """A host that vanished never closes its sockets: PostgreSQL must probe the sessions that hold
    projection and webhook locks itself, or keep them, and block every standby, for two hours."""
    settings = Settings(database_url=POSTGRES_URL, database_schema=postgres_schema)  # type: ignore[arg-type]
    runtime = bootstrap(settings, read_your_writes=False)
    leases = ProjectionLeases(settings)
    try:
        assert leases.conn is not None
        lease_session = leases.conn.execute(PROBES).fetchone()
        with runtime.engine.connect() as conn:  # webhook locks and every pooled session
            pooled_session = tuple(conn.exec_driver_sql(PROBES).one())
        assert lease_session == pooled_session == ("5", "2", "3")
    finally:
        leases.close()
        runtime.close()


PROBES = (
    "SELECT current_setting('tcp_keepalives_idle'), current_setting('tcp_keepalives_interval'),"
    " current_setting('tcp_keepalives_count')"
)
