"""`python -m bench.profile`: pyinstrument profiles of the measured paths, on SQLite, into bench/out/.

Small sizes: enough to see where the time goes, not to measure it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory

from pyinstrument import Profiler

from bench import scenarios
from bench.data import Shape, generate
from bench.measure import OUT
from bench.run import BOARD, SEED, runtime_of, sqlite_settings, writer
from storyline_service.projections.rebuild import rebuild


def profiled(name: str, work: Callable[[], object]) -> None:
    profiler = Profiler(interval=0.0005)
    profiler.start()
    work()
    profiler.stop()
    path = OUT / f"profile-{name}.txt"
    path.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    print(f"{name}: {path}")


def repeat(call: Callable[[], object], times: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(times):
            call()

    return run


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with TemporaryDirectory(prefix="storyline-profile-") as tmp:
        settings = sqlite_settings(Path(tmp) / "log.db")
        with writer(settings) as runtime:
            summary = generate(runtime.app, SEED, 1, Shape(sprints=4))
        with runtime_of(settings) as runtime:
            profiled("catch-up", runtime.projector.catch_up)
            sprint = summary.active_sprints[BOARD]
            view, _ = scenarios.board_view_graphql(runtime, BOARD, sprint, scenarios.bench_token(runtime))
            profiled("board-view-graphql", repeat(view, 100))
            report = scenarios.report_and_burndown(runtime, sprint)
            if report:
                profiled("sprint-report-and-burndown", repeat(report, 100))
            assert summary.first_occurred_at and summary.last_occurred_at
            instants = scenarios.instants(summary.first_occurred_at, summary.last_occurred_at)
            profiled("board-as-of", repeat(scenarios.as_of(runtime, BOARD, instants), 100))
            profiled("rebuild", lambda: rebuild(runtime.projector, runtime.projector.projections))
        with runtime_of(sqlite_settings(Path(tmp) / "write.db")) as runtime:
            board = scenarios.write_board(runtime.app, 50)
            move = scenarios.move_direct(runtime.app, board)
            profiled("move-story-direct", lambda: [move(n) for n in range(300)])
        with writer(sqlite_settings(Path(tmp) / "gen.db")) as runtime:
            started = time.perf_counter()
            profiled("generate", lambda: generate(runtime.app, SEED, 1, Shape(sprints=2)))
            print(f"generate: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
