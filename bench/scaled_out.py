"""`python -m bench.scaled_out [--quick]`: only the scaled-out write figures of `make bench`
(8 HTTP clients through two API processes and a projector worker, on one board and on a board
each, against one client), on a fresh PostgreSQL schema; one JSON object per line."""

from __future__ import annotations

import argparse
from pathlib import Path
from tempfile import TemporaryDirectory

from bench import scenarios
from bench.measure import Report
from bench.run import FULL, QUICK, Bench, postgres_schema, runtime_of


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scaled_out", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the quick mode's sizes")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    report = Report(mode=f"scaled-out-{sizes.mode}")
    with TemporaryDirectory(prefix="storyline-bench-") as tmp:
        bench = Bench(sizes, report, Path(tmp))
        problem = bench.pg_problem or bench.web_problem
        if problem:
            report.note(f"skipped: {problem}")
            return
        with postgres_schema() as settings, runtime_of(settings) as runtime:
            board = scenarios.write_board(runtime.app, sizes.write_stories)
            token = scenarios.bench_token(runtime)
            bench.scaled_out_moves(settings, token, board)
    report.save()


if __name__ == "__main__":
    main()
