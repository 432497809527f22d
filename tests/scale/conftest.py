"""Several Storyline processes on one PostgreSQL schema: `storyline serve --no-projector` API
processes and `storyline projector` workers, on loopback, each test with a fresh schema."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.projections.leases import lock_key
from storyline_service.settings import Settings
from tests.conftest import POSTGRES_URL
from tests.graphql.conftest import ADMIN_TOKEN, Server, start_server

STORYLINE = str(Path(sys.executable).parent / "storyline")
WAIT_SECONDS = 180  # the longest any condition below is waited for: a bound, not a measure of speed


def eventually(condition: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)


@dataclass
class Cluster:
    folder: Path
    settings: Settings
    runtime: Runtime  # the test's own view of the database
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def serve(
        self, name: str, *options: str, env: dict[str, str] | None = None
    ) -> tuple[Server, subprocess.Popen[bytes]]:
        """An API process: `storyline serve --no-projector`, unless other ``options`` are given."""
        log = self.folder / f"{name}.log"
        serve = list(options or ["--no-projector"])
        process, url = start_server(self.settings, {**self.env, **(env or {})}, log, serve, WAIT_SECONDS)
        self.processes.append(process)
        return Server(url, self.settings, self.runtime, log), process

    def two_apis_and_a_projector(self) -> tuple[Server, Server]:
        """Two `serve --no-projector` processes and a `projector` worker, once it projects."""
        a, _ = self.serve("api-a")
        b, _ = self.serve("api-b")
        self.projector("projector")
        self.wait_for_projectors()
        return a, b

    def projector(self, name: str) -> subprocess.Popen[bytes]:
        with (self.folder / f"{name}.log").open("wb") as out:
            process = subprocess.Popen(
                [STORYLINE, "projector"], env={**os.environ, **self.env}, stdout=out, stderr=subprocess.STDOUT
            )
        self.processes.append(process)
        return process

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [STORYLINE, *args], env={**os.environ, **self.env}, capture_output=True, text=True, timeout=300
        )

    def lock_holders(self) -> dict[str, set[int]]:
        """Each projection's advisory lock: the OS process ids of the connections holding it."""
        keys = {lock_key(self.settings, p.name): p.name for p in self.runtime.projector.projections}
        holders: dict[str, set[int]] = {name: set() for name in keys.values()}
        with psycopg.connect(POSTGRES_URL) as conn:
            rows = conn.execute(
                "SELECT (l.classid::bigint << 32) | l.objid::bigint, a.application_name"
                " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted"
            ).fetchall()
        for key, application in rows:
            signed = key - (1 << 64) if key >= 1 << 63 else key
            if signed in keys:
                holders[keys[signed]].add(int(application.rsplit("pid=", 1)[1]))
        return holders

    def wait_for_projectors(self) -> None:
        """Until every projection's lock is held: the workers have started."""
        eventually(lambda: all(self.lock_holders().values()), "the projector workers hold every projection")

    def projected(self) -> bool:
        head = self.runtime.projector.head()
        return all(position == head for position in self.runtime.projector.positions().values())

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def cluster(postgres_schema: str, tmp_path: Path) -> Iterator[Cluster]:
    settings = Settings(database_url=POSTGRES_URL, database_schema=postgres_schema)
    runtime = bootstrap(settings, read_your_writes=False)  # creates the tables before any process starts
    env = {
        "STORYLINE_DATABASE_URL": POSTGRES_URL,
        "STORYLINE_DATABASE_SCHEMA": postgres_schema,
        "STORYLINE_ADMIN_TOKEN": ADMIN_TOKEN,
        "STORYLINE_RATE_LIMIT": "1000000",
        "STORYLINE_PROJECTION_WAIT_SECONDS": "30",  # generous on a busy shared machine
    }
    cluster = Cluster(tmp_path, settings, runtime, env)
    try:
        yield cluster
    finally:
        cluster.close()
        runtime.close()
