"""Cold and warm reads: the same query answered by executing it (cold: the result cache off) and from
the result cache (warm: the same document, variables and caller again, nothing written in between).

In process (both backends): board view, sprint report + burndown, story history, cold against warm.
Over HTTP (both backends, the big log): the board view's p95 warm against cold, and the tails
(p99 / p50) of the three reads, cold, where the garbage collector's pauses show.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.requests import Request

from bench.measure import Report, percentile
from bench.scenarios import BOARD_VIEW
from bench.server import Server, serve
from storyline_service.bootstrap import Runtime
from storyline_service.readmodels import StoryRow, table_of
from storyline_service.settings import Settings

CACHE_SIZE = 1000
REPORT = """
query Report($sprint: ID!) {
  sprint(id: $sprint) {
    report {
      committedCount committedPoints completedCount completedPoints commitmentReliability scopeChangePoints
      added { story { key } points actor at } removed { story { key } points actor at }
      reestimated { story { key } from to actor at }
    }
    burndown { date scopePoints completedPoints remainingPoints idealRemainingPoints }
  }
}
"""
HISTORY = """
query History($key: String!) {
  story(key: $key) {
    key
    history(first: 50) {
      totalCount
      edges { node { sequence eventType actor occurredAt recordedAt summary changes { field from to } } }
    }
  }
}
"""


def busiest_story(runtime: Runtime, board: str) -> str:
    """The board's story with the most versions: the longest history."""
    stories = table_of(StoryRow)
    query = select(stories.c.key).where(stories.c.board_key == board).order_by(stories.c.version.desc())
    with runtime.engine.connect() as conn:
        return str(conn.execute(query.limit(1)).scalar_one())


def reads(board: str, sprint: str, story: str) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        "board_view": (BOARD_VIEW, {"key": board, "sprint": sprint}),
        "sprint_report_and_burndown": (REPORT, {"sprint": sprint}),
        "story_history": (HISTORY, {"key": story}),
    }


def in_process(runtime: Runtime, token: str, cache_size: int) -> Callable[[str, dict[str, Any]], Any]:
    """Executes a query through the schema, signed in afresh each time as the web app does."""
    from storyline_graphql.context import Context, sign_in
    from storyline_graphql.schema import build_schema

    # As a server with these settings: signing in reads the read models' version when the cache is on.
    runtime = replace(runtime, settings=runtime.settings.model_copy(update={"result_cache_size": cache_size}))
    schema = build_schema(runtime.settings)
    loop = asyncio.new_event_loop()
    headers = [(b"authorization", f"Bearer {token}".encode())]
    request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": headers})

    async def execute(query: str, variables: dict[str, Any]) -> Any:
        context = Context(request=request, runtime=runtime, correlation_id="bench")
        await sign_in(context, schema.units_at_sign_in(query, None, variables))
        return await schema.execute(query, variables, context_value=context)

    def call(query: str, variables: dict[str, Any]) -> Any:
        result = loop.run_until_complete(execute(query, variables))
        if result.errors:
            raise RuntimeError(f"query failed: {result.errors[0].message}")
        return result.data

    return call


def timed(calls: dict[str, Callable[[], object]], reps: int, warmup: int = 5) -> dict[str, list[float]]:
    """Milliseconds of each call, the calls interleaved so that load from elsewhere hits all alike."""
    for call in calls.values():
        for _ in range(warmup):
            call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for rep in range(reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:  # none always goes first
            start = time.perf_counter()
            calls[name]()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: sorted(sample) for name, sample in times.items()}


def cold_and_warm_in_process(
    report: Report, backend: str, runtime: Runtime, token: str, board: str, sprint: str, reps: int
) -> None:
    cold, warm = in_process(runtime, token, 0), in_process(runtime, token, CACHE_SIZE)
    story = busiest_story(runtime, board)
    for name, (query, variables) in reads(board, sprint, story).items():
        times = timed(
            {"cold": partial(cold, query, variables), "warm": partial(warm, query, variables)}, reps
        )
        cold_p50, warm_p50 = percentile(times["cold"], 0.5), percentile(times["warm"], 0.5)
        report.emit(
            f"read.{name}.warm_speedup",
            cold_p50 / warm_p50,
            "x",
            backend=backend,
            events=runtime.projector.head(),
            cold_p50=cold_p50,
            warm_p50=warm_p50,
            warm_p95=percentile(times["warm"], 0.95),
            reps=reps,
            target=">= 5",
            note="GraphQL schema in process, signed in per request; cold: result cache off, every request"
            " executes; warm: the same request answered from the result cache (sign-in reads the version)",
        )


def http_reads(
    report: Report,
    backend: str,
    cold_settings: Settings,
    tmp: Path,
    token: str,
    board: str,
    sprint: str,
    story: str,
    events: int,
    reps: int,
) -> None:
    """Two servers on the same database, one without the result cache (cold), one with it (warm)."""
    warm_settings = cold_settings.model_copy(update={"result_cache_size": CACHE_SIZE})
    queries = reads(board, sprint, story)
    with ExitStack() as stack:
        cold_server = stack.enter_context(serve(cold_settings, tmp / "cold.log", token))
        warm_server = stack.enter_context(serve(warm_settings, tmp / "warm.log", token))

        def over(server: Server, name: str) -> Callable[[], object]:
            query, variables = queries[name]
            return lambda: server.graphql(query, variables)

        view = timed({"cold": over(cold_server, "board_view"), "warm": over(warm_server, "board_view")}, reps)
        report.emit(
            "read.board_view.http.warm.p95",
            percentile(view["warm"], 0.95),
            "ms",
            baseline=percentile(view["cold"], 0.95),
            backend=backend,
            events=events,
            p50=percentile(view["warm"], 0.5),
            reps=reps,
            note="storyline serve, one keep-alive client; warm: result cache on, the same request again;"
            " baseline: a server without the result cache (cold), alternating",
        )
        tails = timed({name: over(cold_server, name) for name in queries}, max(reps, 100))
        for name, times in tails.items():
            p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
            report.emit(
                f"read.{name}.http.cold.p99_over_p50",
                p99 / p50,
                "x",
                backend=backend,
                events=events,
                p50=p50,
                p99=p99,
                reps=len(times),
                target="<= 2",
                note="storyline serve without the result cache (every request executes), the three reads"
                " interleaved, one keep-alive client",
            )


def measure(
    report: Report,
    backend: str,
    runtime: Runtime,
    token: str,
    board: str,
    sprint: str,
    reps: int,
    http: tuple[Path, Settings] | None = None,
) -> None:
    """The in-process figures; the HTTP ones too when ``http`` (a folder for logs, cold settings)."""
    try:
        cold_and_warm_in_process(report, backend, runtime, token, board, sprint, reps)
        if http is not None:
            tmp, settings = http
            story = busiest_story(runtime, board)
            http_reads(
                report, backend, settings, tmp, token, board, sprint, story, runtime.projector.head(), reps
            )
    except RuntimeError as error:  # report it and go on with the other figures
        report.note(f"cold/warm reads failed: {error}", backend=backend)
