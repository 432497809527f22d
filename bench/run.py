"""`python -m bench [--quick]`: generates the data, measures, prints one JSON object per line.

Every figure is a ratio against a baseline measured in the same run: a physical
ceiling, the same operation another way, or the same query on a small log.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from importlib.metadata import version
from multiprocessing import get_context
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import psycopg

from bench import baselines, cached_reads, history, pgcopy, scenarios
from bench.churn import write_churned
from bench.data import Shape, Summary, generate
from bench.measure import OUT, Latency, Report, alternating, back_to_back, concurrently, paired, rate
from bench.server import Server, projector, serve, web_problem
from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.settings import Settings

SEED = 8
QUICK_JIRA_ISSUES = 300  # of the TIMOB archive in quick mode; the whole of it in full mode
POSTGRES_URL = os.environ.get("STORYLINE_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
BOARD = "BA"  # the measured board: board 0 of every log
UNLIMITED = 10**9  # the per-token rate limit would throttle the bench's one client
# Settings here turn the result cache off: repeated reads are measured executing (cold); the warm
# figures (bench/cached_reads.py) turn it on.


@dataclass(frozen=True)
class Sizes:
    mode: str
    sprints: int  # of each board; the small log is the measured board alone
    boards: int  # in the big log, the measured one included
    reps: int  # per latency figure
    write_seconds: float
    write_stories: int
    baseline_seconds: float
    churn_stories: int  # in the sprint reported on with few and many moves per story


QUICK = Sizes(
    "quick",
    sprints=2,
    boards=2,
    reps=30,
    write_seconds=1,
    write_stories=24,
    baseline_seconds=0.5,
    churn_stories=30,
)
FULL = Sizes(
    "full",
    sprints=15,
    boards=50,
    reps=200,
    write_seconds=5,
    write_stories=400,
    baseline_seconds=3,
    churn_stories=100,
)


@dataclass(frozen=True)
class ReadPaths:
    """The measured reads on one log, ready to call."""

    events: int
    board_view: scenarios.Call
    via: str
    stories: int
    report: scenarios.Call | None
    as_of: scenarios.Call


# ----- storage -----


def postgres_problem() -> str | None:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return f"PostgreSQL at {POSTGRES_URL} is unreachable: {error}".strip()


@contextmanager
def postgres_schema() -> Iterator[Settings]:
    """Settings for a fresh PostgreSQL schema, dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield Settings(
            database_url=POSTGRES_URL, database_schema=schema, rate_limit=UNLIMITED, result_cache_size=0
        )
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def sqlite_settings(path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{path}", rate_limit=UNLIMITED, result_cache_size=0)


@contextmanager
def runtime_of(settings: Settings, *, read_your_writes: bool = True) -> Iterator[Runtime]:
    runtime = bootstrap(settings, read_your_writes=read_your_writes)
    try:
        yield runtime
    finally:
        runtime.close()


@contextmanager
def writer(settings: Settings) -> Iterator[Runtime]:
    """A runtime for bulk generation: no read-your-writes, and an aggregate cache big enough for every
    aggregate the generator touches (the default size suits a server's working set)."""
    bulk = settings.model_copy(update={"aggregate_cache_size": 100_000})
    with runtime_of(bulk, read_your_writes=False) as runtime:
        yield runtime


PARALLEL = max(1, min(os.cpu_count() or 1, 4))  # processes generating the big log's other boards


def generate_part(path: Path, boards: list[int], shape: Shape) -> Summary:
    """In a worker process: writes the given boards into a log of their own."""
    summary = Summary()
    with writer(sqlite_settings(path)) as runtime:
        for index in boards:
            summary.add(generate(runtime.app, SEED, 1, shape, first=index))
    return summary


# ----- phases -----


class Bench:
    def __init__(self, sizes: Sizes, report: Report, tmp: Path) -> None:
        self.sizes = sizes
        self.report = report
        self.tmp = tmp
        self.web_problem = web_problem()
        self.pg_problem = postgres_problem()
        self.bare: dict[str, float] = {}
        self.tokens: dict[str, str] = {}

    def emit_machine(self) -> None:
        memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
        packages = ["eventsourcing", "sqlalchemy", "sqlmodel", "strawberry-graphql", "fastapi", "uvicorn"]
        self.report.note(
            "machine",
            mode=self.sizes.mode,
            cores=os.cpu_count(),
            memory_gb=round(memory_kb / 1024 / 1024, 1),
            python=platform.python_version(),
            sqlite=__import__("sqlite3").sqlite_version,
            versions={name: version(name) for name in packages},
            load_average=[round(load, 2) for load in os.getloadavg()],  # the machine is shared
            sizes=self.sizes.__dict__,
        )
        if self.sizes.mode == "quick":
            self.report.note("quick mode: small logs and few repetitions; figures are indicative only")

    # physical ceilings

    def physical(self) -> None:
        with runtime_of(sqlite_settings(self.tmp / "probe.db"), read_your_writes=False) as runtime:
            synchronous = baselines.sqlite_synchronous(runtime.app)
        seconds = self.sizes.baseline_seconds
        self.bare["sqlite"] = baselines.sqlite_commits(self.tmp / "bare.db", synchronous, seconds)
        self.report.emit(
            "baseline.single_row_commit",
            self.bare["sqlite"],
            "commits/s",
            backend="sqlite",
            note=f"sqlite3, WAL, synchronous={synchronous} (what eventsourcing's connections use)",
        )
        if self.pg_problem:
            return
        with postgres_schema() as settings:
            schema = settings.database_schema or ""
            one = baselines.postgres_commits(POSTGRES_URL, schema, 1, seconds)
            eight = baselines.postgres_commits(POSTGRES_URL, schema, 8, seconds)
        self.bare["postgres"] = one
        self.report.emit("baseline.single_row_commit", one, "commits/s", backend="postgres", note="psycopg")
        self.report.emit(
            "baseline.single_row_commit.8_clients", eight, "commits/s", baseline=one, backend="postgres"
        )

    # writes

    def writes(self, backend: str, settings: Settings) -> None:
        """The direct call against 8 clients (in alternating slices), and against HTTP (before and
        after it: the server's own projector would compete with direct calls made while it runs)."""
        sizes = self.sizes
        with runtime_of(settings) as runtime:
            board = scenarios.write_board(runtime.app, sizes.write_stories)
            token = scenarios.bench_token(runtime)
            events = runtime.projector.head()
            direct = scenarios.move_direct(runtime.app, board)
            if backend == "postgres":
                eight = partial(scenarios.concurrent_moves, runtime.app, board, 8)
                one, many = alternating(back_to_back(direct), eight, sizes.write_seconds)
                self.report.emit(
                    "write.move_story.8_clients",
                    many,
                    "commands/s",
                    baseline=one,
                    backend=backend,
                    events=runtime.projector.head(),
                    target="ratio >= 2.5",
                    note="8 threads on one Application, different stories; baseline: one client, alternating",
                )
            before = rate(direct, sizes.write_seconds / 2)
            library_before = self.library(backend, settings)
            http = None if self.web_problem else self.http_moves(backend, settings, token, board)
            if backend == "postgres" and not self.web_problem:
                self.scaled_out_moves(settings, token, board)
            one = (before + rate(direct, sizes.write_seconds / 2)) / 2
            library = (library_before + self.library(backend, settings)) / 2
        self.report.emit(
            "baseline.library_command",
            library,
            "commands/s",
            baseline=self.bare.get(backend),
            backend=backend,
            note="eventsourcing alone, same storage and settings: get an aggregate, trigger one event, save;"
            " before and after the HTTP figure; baseline: bare commits",
        )
        self.report.emit(
            "write.move_story.direct",
            one,
            "commands/s",
            baseline=self.bare.get(backend),
            backend=backend,
            events=events,
            note="Application.move_story with read-your-writes, one client, before and after the HTTP"
            " figure; baseline: bare commits",
        )
        if self.web_problem:
            self.report.note(f"write.move_story.http skipped: {self.web_problem}", backend=backend)
        elif http is not None:
            self.report.emit(
                "write.move_story.http",
                http,
                "commands/s",
                baseline=one,
                backend=backend,
                events=events,
                target="ratio >= 0.5",
                note="storyline serve, one keep-alive client; baseline: the direct call, same storage",
            )
            self.report.emit(
                "write.move_story.http.vs_library",
                http,
                "commands/s",
                baseline=library,
                backend=backend,
                events=events,
                target="ratio >= 0.25",
                note="storyline serve, one keep-alive client, read-your-writes; baseline: the library's"
                " get + event + save on the same storage",
            )

    def library(self, backend: str, settings: Settings) -> float:
        """The library's own commands per second, in a database (or schema) of their own."""
        seconds = self.sizes.write_seconds / 2
        if backend == "sqlite":
            env = {**settings.eventsourcing_env(), "SQLITE_DBNAME": str(self.tmp / "library.db")}
            return baselines.library_commands(env, seconds)
        with postgres_schema() as fresh:
            return baselines.library_commands(fresh.eventsourcing_env(), seconds)

    def http_moves(
        self, backend: str, settings: Settings, token: str, board: scenarios.WriteBoard
    ) -> float | None:
        try:
            with serve(settings, self.tmp / f"write-{backend}.log", token) as server:

                def move(index: int) -> None:
                    key, target = board.next_move(index)
                    result = server.graphql(scenarios.MOVE_STORY, {"key": key, "to": target})
                    if result["moveStory"]["errors"]:
                        raise RuntimeError(f"moveStory refused: {result['moveStory']['errors']}")

                return rate(move, self.sizes.write_seconds)
        except RuntimeError as error:  # report it and go on with the other figures
            self.report.note(f"write.move_story.http failed: {error}", backend=backend)
            return None

    def scaled_out_moves(self, settings: Settings, token: str, board: scenarios.WriteBoard) -> None:
        """8 HTTP clients through two API processes (`serve --no-projector`) and a projector worker,
        against one client through the same processes, in alternating slices: first all on the
        write board, where every move contends for the board's placement; then each client on a
        board of its own, as 8 teams would be."""
        clients = 8
        with runtime_of(settings, read_your_writes=False) as runtime:
            spread = scenarios.write_boards(runtime.app, clients, self.sizes.write_stories // clients)
        shapes = {
            "write.move_story.http.8_clients": (
                board,
                [board.keys[n::clients] for n in range(clients)],
                "one board (every move contends for its placement)",
            ),
            "write.move_story.http.8_clients.8_boards": (
                spread,
                [spread.keys[n::clients] for n in range(clients)],
                "a board of its own for each client",
            ),
        }
        figures: dict[str, tuple[float, float]] = {}
        try:
            with ExitStack() as stack:
                stack.enter_context(projector(settings, self.tmp / "projector.log"))
                servers = [
                    stack.enter_context(serve(settings, self.tmp / f"api-{n}.log", token, "--no-projector"))
                    for n in range(2)
                ]
                for metric, (moved, shares, _) in shapes.items():
                    figures[metric] = self.moves_through(servers, moved, shares)
        except RuntimeError as error:  # report it and go on with the other figures
            self.report.note(f"write.move_story.http.8_clients failed: {error}", backend="postgres")
        for metric, (one, many) in figures.items():
            self.report.emit(
                metric,
                many,
                "commands/s",
                baseline=one,
                backend="postgres",
                target="ratio >= 2.5",
                note=f"8 HTTP clients, different stories, {shapes[metric][2]}, through 2 API processes"
                " (serve --no-projector) and a projector worker; baseline: one client moving the same"
                " stories through the same processes, alternating",
            )

    def moves_through(
        self, servers: list[Server], board: scenarios.WriteBoard, shares: list[list[str]]
    ) -> tuple[float, float]:
        """(one client, len(shares) clients) moves per second, in alternating slices; client n moves
        the stories of ``shares[n]`` through ``servers[n % len(servers)]``."""

        def move(n: int, index: int, keys: list[str] | None = None) -> None:
            key, target = board.next_move(index, keys)
            result = servers[n % len(servers)].graphql(scenarios.MOVE_STORY, {"key": key, "to": target})
            if result["moveStory"]["errors"]:
                raise RuntimeError(f"moveStory refused: {result['moveStory']['errors']}")

        def client(n: int, stop: Any) -> int:
            moves = 0
            while not stop.is_set():
                move(n, moves, shares[n])
                moves += 1
            return moves

        return alternating(
            back_to_back(lambda index: move(index, index)),
            lambda seconds: concurrently(len(shares), seconds, client),
            self.sizes.write_seconds,
        )

    # reads

    def token(self, runtime: Runtime) -> str:
        """The bench user's token in this runtime's database, made once."""
        key = f"{runtime.settings.database_url}/{runtime.settings.database_schema}"
        if key not in self.tokens:
            self.tokens[key] = scenarios.bench_token(runtime)
        return self.tokens[key]

    def read_paths(self, runtime: Runtime, summary: Summary) -> ReadPaths:
        sprint = summary.active_sprints[BOARD]
        try:
            view, stories = scenarios.board_view_graphql(runtime, BOARD, sprint, self.token(runtime))
            via = "graphql schema, in process"
        except Exception as error:  # the schema is being written; fall back rather than fail
            self.report.note(f"board view through GraphQL failed ({error!r}); using service queries")
            view, stories = scenarios.board_view_service(runtime, BOARD, sprint)
            via = "service queries"
        assert summary.first_occurred_at and summary.last_occurred_at
        instants = scenarios.instants(summary.first_occurred_at, summary.last_occurred_at)
        return ReadPaths(
            events=runtime.projector.head(),
            board_view=view,
            via=via,
            stories=stories,
            report=scenarios.report_and_burndown(runtime, sprint),
            as_of=scenarios.as_of(runtime, BOARD, instants),
        )

    def compare_reads(self, backend: str, small: ReadPaths, big: ReadPaths) -> None:
        """Each read on the small and the big log, alternately, so both see the same machine load."""
        reps = self.sizes.reps
        common: dict[str, Any] = {"backend": backend, "events": big.events, "small_events": small.events}
        view_small, view_big = paired(small.board_view, big.board_view, reps)
        self.emit_latency(
            "read.board_view.p95",
            view_small,
            view_big,
            stories=big.stories,
            via=big.via,
            target="p95 <= 20 ms at 500k events; ratio <= 1.25",
            **common,
        )
        if big.report and small.report:
            report_small, report_big = paired(small.report, big.report, reps)
            self.emit_latency(
                "read.sprint_report_and_burndown.p95",
                report_small,
                report_big,
                target="p95 <= 50 ms; ratio <= 1.25",
                **common,
            )
        else:
            self.report.note("sprint report + burndown skipped: storyline_service.analytics is missing")
        as_of_small, as_of_big = paired(small.as_of, big.as_of, reps)
        self.emit_latency(
            "read.board_as_of.p95", as_of_small, as_of_big, target="p95 <= 100 ms at 500k events", **common
        )

    def emit_latency(self, metric: str, small: Latency, big: Latency, **extra: Any) -> None:
        self.report.emit(metric, big.p95, "ms", baseline=small.p95, p50=big.p50, reps=big.reps, **extra)

    def compare_http(self, small: Settings, big: Settings, summary: Summary, events: tuple[int, int]) -> None:
        """The board view over HTTP from two servers, small and big log, alternately; then their memory."""
        if self.web_problem:
            self.report.note(f"HTTP reads and server RSS skipped: {self.web_problem}", backend="sqlite")
            return
        variables = {"key": BOARD, "sprint": summary.active_sprints[BOARD]}
        try:
            small_token, big_token = (
                self.tokens[f"{s.database_url}/{s.database_schema}"] for s in (small, big)
            )
            with (
                serve(small, self.tmp / "small.log", small_token) as small_server,
                serve(big, self.tmp / "big.log", big_token) as big_server,
            ):
                view_small, view_big = paired(
                    lambda: small_server.graphql(scenarios.BOARD_VIEW, variables),
                    lambda: big_server.graphql(scenarios.BOARD_VIEW, variables),
                    self.sizes.reps,
                )
                rss_small, rss_big = small_server.rss_mb(), big_server.rss_mb()
        except RuntimeError as error:  # report it and go on with the other figures
            self.report.note(f"HTTP reads and server RSS failed: {error}", backend="sqlite")
            return
        common: dict[str, Any] = {"backend": "sqlite", "events": events[1], "small_events": events[0]}
        self.emit_latency(
            "read.board_view.http.p95",
            view_small,
            view_big,
            target="p95 <= 20 ms at 500k events; ratio <= 1.25",
            **common,
        )
        self.report.emit(
            "memory.server_rss",
            rss_big,
            "MB",
            baseline=rss_small,
            target="<= 250 MB after serving the 500k-event data set",
            note="VmRSS of `storyline serve` after the HTTP board views; baseline: the same on the small log",
            **common,
        )

    def churn(self) -> None:
        """The same sprint with about 10 and about 50 moves per story, reported on alternately."""
        settings = sqlite_settings(self.tmp / "churn.db")
        with writer(settings) as runtime:
            churned = write_churned(runtime.app, self.sizes.churn_stories)
        with runtime_of(settings) as runtime:
            runtime.projector.catch_up()
            few, many = (scenarios.report_and_burndown(runtime, churned.sprints[n]) for n in (10, 50))
            if few is None or many is None:
                return
            few_latency, many_latency = paired(few, many, self.sizes.reps)
            self.emit_latency(
                "read.sprint_report_and_burndown.moves_per_story.p95",
                few_latency,
                many_latency,
                backend="sqlite",
                events=runtime.projector.head(),
                stories=churned.stories,
                baseline_p50=few_latency.p50,
                target="ratio ~1.0",
                note="a closed sprint whose stories moved about 50 times each; baseline: the same sprint"
                " (same seed) with about 10 moves per story, alternately",
            )

    # projection and rebuild

    def catch_up(self, backend: str, runtime: Runtime, generated: int, seconds: float) -> None:
        """Projects what the generator wrote, timed, against the raw read-and-decode rate."""
        start = time.perf_counter()
        runtime.projector.catch_up()
        projected = time.perf_counter() - start
        events, decode_seconds = baselines.read_and_decode(runtime.app)
        self.report.emit(
            "generate.through_application",
            generated / seconds,
            "events/s",
            baseline=self.bare.get(backend),
            backend=backend,
            events=events,
            note="the generator's commands, one process, read-your-writes off; baseline: bare commits",
        )
        self.report.emit(
            "projection.catch_up",
            generated / projected,
            "events/s",
            baseline=events / decode_seconds,
            backend=backend,
            events=events,
            note="all three projections, batches of 500; baseline: raw read-and-decode of the same log",
        )

    def rebuild(self, backend: str, runtime: Runtime, note: str) -> None:
        events, decode_seconds = baselines.read_and_decode(runtime.app)
        raw = events / decode_seconds
        seconds = scenarios.rebuild_all(runtime)
        rebuilt = events / seconds
        self.report.emit(
            "rebuild.all_projections",
            rebuilt,
            "events/s",
            baseline=raw,
            backend=backend,
            events=events,
            seconds=round(seconds, 1),
            extrapolated_1m_events_seconds=round(1_000_000 / rebuilt),
            target="ratio >= 0.25; 1M events in <= 60 s on SQLite",
            note=note,
        )

    # the logs

    def logs(self) -> None:
        sizes = self.sizes
        shape = Shape(sprints=sizes.sprints)
        small, big = sqlite_settings(self.tmp / "small.db"), sqlite_settings(self.tmp / "big.db")
        self.report.note(
            f"generating: {sizes.boards} boards x {sizes.sprints} sprints x {shape.sprint_stories} stories"
            " through the application on SQLite (small log: the first board alone)"
        )
        # The small log: the measured board alone.
        start = time.perf_counter()
        with writer(small) as runtime:
            summary = generate(runtime.app, SEED, 1, shape)
        generated = time.perf_counter() - start
        with runtime_of(small) as runtime:
            self.catch_up("sqlite", runtime, summary.events, generated)

        # The big log: a copy of the small one, then more boards of the same shape;
        # the measured board is the same in both. The other boards are generated in
        # parallel, one process per core, each into its own file, then appended in turn.
        with sqlite3.connect(small.sqlite_path) as source, sqlite3.connect(big.sqlite_path) as target:
            source.backup(target)
        start = time.perf_counter()
        more = self.generate_in_parallel(big, range(1, sizes.boards), shape)
        self.report.note(
            f"big log: {more.events} more events on {sizes.boards - 1} boards, generated by {PARALLEL}"
            f" processes and appended to a copy of the small log in {time.perf_counter() - start:.0f} s",
            backend="sqlite",
        )
        with runtime_of(big) as runtime:
            # The big log's read models come from a full rebuild: that is the rebuild figure.
            self.rebuild("sqlite", runtime, "the big log")

        with runtime_of(small) as small_runtime, runtime_of(big) as big_runtime:
            small_paths = self.read_paths(small_runtime, summary)
            big_paths = self.read_paths(big_runtime, summary)
            self.compare_reads("sqlite", small_paths, big_paths)
        self.compare_http(small, big, summary, (small_paths.events, big_paths.events))
        with runtime_of(big) as runtime:
            http = None if self.web_problem else (self.tmp, big)
            sprint = summary.active_sprints[BOARD]
            token = self.token(runtime)
            cached_reads.measure(self.report, "sqlite", runtime, token, BOARD, sprint, sizes.reps, http)
        if not self.pg_problem:
            self.postgres_reads(small, big, summary)
        self.history(big)

    def generate_in_parallel(self, target: Settings, boards: range, shape: Shape) -> Summary:
        """Generates ``boards`` in parallel processes and appends their logs to ``target``'s."""
        shares = [boards[n::PARALLEL] for n in range(PARALLEL)]
        paths = [self.tmp / f"part-{n}.db" for n in range(PARALLEL)]
        with ProcessPoolExecutor(PARALLEL, mp_context=get_context("spawn")) as pool:
            parts = list(pool.map(generate_part, paths, [list(b) for b in shares], [shape] * PARALLEL))
        summary = Summary()
        with runtime_of(target, read_your_writes=False) as runtime:
            for path, part in zip(paths, parts, strict=True):
                with runtime_of(sqlite_settings(path), read_your_writes=False) as source:
                    pgcopy.copy_log(source, runtime)
                summary.add(part)
        return summary

    def everything(self) -> None:
        if self.pg_problem:
            self.report.note(f"PostgreSQL figures skipped: {self.pg_problem}")
        self.physical()
        self.writes("sqlite", sqlite_settings(self.tmp / "write.db"))
        if not self.pg_problem:
            with postgres_schema() as settings:
                self.writes("postgres", settings)
        self.churn()
        self.logs()

    def history(self, log: Settings) -> None:
        """History in and out: export and import of ``log``, the chain's cost on writes, the Jira import."""
        with runtime_of(log, read_your_writes=False) as runtime:
            # An export carries each event's chain hash: the chain links the whole log first.
            runtime.projector.projections = [p for p in runtime.projector.projections if p.name == "chain"]
            runtime.projector.catch_up()
            history.export_and_import(self.report, runtime, self.tmp, "sqlite")
        history.chain_cost(self.report, self.tmp, self.sizes.write_stories, self.sizes.write_seconds)
        history.jira_import(self.report, self.tmp, None if self.sizes.mode == "full" else QUICK_JIRA_ISSUES)

    def history_only(self) -> None:
        """``--only history``: the big log alone (no reads measured), then the history figures."""
        big = sqlite_settings(self.tmp / "big.db")
        start = time.perf_counter()
        more = self.generate_in_parallel(big, range(self.sizes.boards), Shape(sprints=self.sizes.sprints))
        self.report.note(f"log: {more.events} events generated in {time.perf_counter() - start:.0f} s")
        self.history(big)

    def cached_reads_only(self) -> None:
        """``--only cached_reads``: the big log alone, then cold against warm reads in process on
        SQLite and (copied there) PostgreSQL, and over HTTP on both."""
        big = sqlite_settings(self.tmp / "big.db")
        shape = Shape(sprints=self.sizes.sprints)
        summary = self.generate_in_parallel(big, range(self.sizes.boards), shape)
        sprint, reps = summary.active_sprints[BOARD], self.sizes.reps
        with runtime_of(big) as runtime:
            runtime.projector.catch_up()
            http = None if self.web_problem else (self.tmp, big)
            cached_reads.measure(
                self.report, "sqlite", runtime, self.token(runtime), BOARD, sprint, reps, http
            )
            if self.pg_problem:
                return
            with postgres_schema() as settings, runtime_of(settings) as target:
                pgcopy.copy_log(runtime, target)
                pgcopy.copy_read_models(runtime, target)
                http = None if self.web_problem else (self.tmp, settings)
                token = self.token(target)
                cached_reads.measure(self.report, "postgres", target, token, BOARD, sprint, reps, http)

    def postgres_reads(self, small: Settings, big: Settings, summary: Summary) -> None:
        """Copies both SQLite logs with their read models into fresh schemas and measures the reads there."""
        with ExitStack() as stack:
            paths = []
            for label, source in (("small", small), ("big", big)):
                target = stack.enter_context(runtime_of(stack.enter_context(postgres_schema())))
                start = time.perf_counter()
                with runtime_of(source) as src:
                    events = pgcopy.copy_log(src, target)
                    rows = pgcopy.copy_read_models(src, target)
                self.report.note(
                    f"postgres {label} log: {events} events and {rows} read-model rows copied from SQLite"
                    f" in {time.perf_counter() - start:.1f} s (see bench/pgcopy.py for why)",
                    backend="postgres",
                    events=events,
                )
                paths.append((target, self.read_paths(target, summary)))
            (small_runtime, small_paths), (big_runtime, big_paths) = paths
            self.compare_reads("postgres", small_paths, big_paths)
            sprint, token = summary.active_sprints[BOARD], self.token(big_runtime)
            http = None if self.web_problem else (self.tmp, big_runtime.settings)
            cached_reads.measure(
                self.report, "postgres", big_runtime, token, BOARD, sprint, self.sizes.reps, http
            )
            if self.sizes.mode == "full":
                self.rebuild(
                    "postgres", small_runtime, "the small log (a big one would not fit the time budget)"
                )
            else:
                self.report.note("postgres rebuild skipped in quick mode (time budget)", backend="postgres")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--boards", type=int, help="boards in the big log (default: by mode)")
    parser.add_argument("--sprints", type=int, help="sprints per board (default: by mode)")
    parser.add_argument(
        "--only",
        choices=["history", "cached_reads"],
        help="only these figures, on the big log (cached_reads: cold against warm reads in process)",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.boards or args.sprints:
        sizes = Sizes(**{**sizes.__dict__, "boards": args.boards or sizes.boards})
        sizes = Sizes(**{**sizes.__dict__, "sprints": args.sprints or sizes.sprints})
    report = Report(mode=sizes.mode)
    started = time.perf_counter()
    OUT.mkdir(exist_ok=True)
    with TemporaryDirectory(prefix="storyline-bench-") as tmp:
        bench = Bench(sizes, report, Path(tmp))
        bench.emit_machine()
        if args.only == "history":
            bench.history_only()
        elif args.only == "cached_reads":
            bench.cached_reads_only()
        else:
            bench.everything()
    load = [round(value, 2) for value in os.getloadavg()]
    report.emit("bench.total_time", time.perf_counter() - started, "s", mode=sizes.mode, load_average=load)
    report.save()
