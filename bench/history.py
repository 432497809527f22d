"""History in and out: the event log's export and import (rate and peak memory, each in a process of
its own), the hash chain's cost on writes, and the Jira import of the TIMOB archive.

`python -m bench.history export|import DATABASE_URL FILE` is the measured process.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from contextlib import closing, suppress
from dataclasses import dataclass
from pathlib import Path

from bench import baselines, scenarios
from bench.measure import Report, alternating, back_to_back
from storyline_domain.errors import DomainError
from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.eventlog.export import export_lines
from storyline_service.eventlog.importer import import_events
from storyline_service.importers.jira.importer import JiraImport
from storyline_service.settings import Settings

TIMOB = Path("/work/shared/data/jira-timob")
if not TIMOB.exists():
    TIMOB = Path(__file__).parents[2] / "shared" / "data" / "jira-timob"


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mb: float


SINGLE_STEPS = 500


def sqlite(path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{path}")


def in_process(*args: str) -> Run:
    """Runs ``python -m bench.history ARGS``: the seconds its work took, and its peak resident memory."""
    process = subprocess.Popen([sys.executable, "-m", "bench.history", *args], stdout=subprocess.PIPE)
    assert process.stdout is not None
    seconds = process.stdout.read().decode().strip()
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"bench.history {args[0]} failed")
    return Run(float(seconds), usage.ru_maxrss / 1024)


def export_and_import(report: Report, source: Runtime, tmp: Path, backend: str) -> None:
    """Exports ``source``'s log to a file and imports it into an empty SQLite database."""
    events, decode_seconds = baselines.read_and_decode(source.app)
    url = source.settings.database_url
    idle = in_process("idle", url, "")
    path = tmp / "export.jsonl"
    out = in_process("export", url, str(path))
    back = in_process("import", f"sqlite:///{tmp / 'imported.db'}", str(path))
    exported, imported = events / out.seconds, events / back.seconds
    report.emit(
        "eventlog.export.rate",
        exported,
        "events/s",
        baseline=events / decode_seconds,
        backend=backend,
        events=events,
        note="storyline events export's work, to a file; baseline: raw read-and-decode of the same log",
    )
    report.emit(
        "eventlog.import.rate",
        imported,
        "events/s",
        baseline=exported,
        backend=backend,
        events=events,
        note="into an empty database, chain verified, projections not included; baseline: the export",
    )
    for metric, run in (("eventlog.export.peak_rss", out), ("eventlog.import.peak_rss", back)):
        report.emit(
            metric,
            run.peak_rss_mb,
            "MB",
            baseline=idle.peak_rss_mb,
            backend=backend,
            events=events,
            file_mb=round(path.stat().st_size / 1e6),
            target="flat: about the same whatever the log's length",
            note="the process's peak; baseline: the same process doing nothing",
        )


def chain_cost(report: Report, tmp: Path, stories: int, seconds: float) -> None:
    """moveStory with read-your-writes, with the chain among the projections and without it,
    each on a database of its own, in alternating slices."""
    runtimes: list[Runtime] = []
    try:
        for name in ("with", "without"):
            runtime = bootstrap(sqlite(tmp / f"chain-{name}.db"))
            if name == "without":
                runtime.projector.projections = [
                    p for p in runtime.projector.projections if p.name != "chain"
                ]
            runtimes.append(runtime)
        moves = [
            back_to_back(scenarios.move_direct(r.app, scenarios.write_board(r.app, stories)))
            for r in runtimes
        ]
        chained, bare = alternating(moves[0], moves[1], seconds)
    finally:
        for runtime in runtimes:
            runtime.close()
    report.emit(
        "write.move_story.chain_overhead",
        chained,
        "commands/s",
        baseline=bare,
        backend="sqlite",
        target="ratio >= 0.9",
        note="Application.move_story with read-your-writes; baseline: the same without the chain projection",
    )


def jira_import(report: Report, tmp: Path, issues: int | None) -> None:
    """The whole TIMOB archive (or its first ``issues``) imported into an empty SQLite database."""
    if not (TIMOB / "issues.jsonl.gz").exists():
        report.note(f"jira import skipped: no TIMOB data at {TIMOB}")
        return
    path = TIMOB / "issues.jsonl.gz"
    if issues is not None:
        path = tmp / "issues.jsonl.gz"
        with gzip.open(TIMOB / "issues.jsonl.gz", "rt") as lines, gzip.open(path, "wt") as out:
            out.writelines(line for _, line in zip(range(issues), lines, strict=False))
    points = TIMOB / "storypoints.csv"
    # Baseline: the first steps, each in its own transaction, into a database of their own.
    with closing(bootstrap(sqlite(tmp / "jira-single.db"), read_your_writes=False)) as runtime:
        one_by_one = JiraImport(runtime.app, "TIMOB", path, points, batch_steps=1)
        plan = one_by_one.plan()[:SINGLE_STEPS]
        start = time.perf_counter()
        for step in plan:
            with suppress(DomainError):
                one_by_one._run(step)
        single = len(plan) / (time.perf_counter() - start)
    with closing(bootstrap(sqlite(tmp / "jira.db"), read_your_writes=False)) as runtime:
        job = JiraImport(runtime.app, "TIMOB", path, points, batch_steps=runtime.settings.import_batch_steps)
        start = time.perf_counter()
        summary = job.run()
        imported = time.perf_counter() - start
    report.emit(
        "import.jira.rate",
        summary.events / imported,
        "events/s",
        baseline=None,
        backend="sqlite",
        events=summary.events,
        issues=summary.issues,
        seconds=round(imported, 1),
        target="the whole archive (4,831 issues) well under 2 minutes",
        note="batched steps, projections not included",
    )
    report.emit(
        "import.jira.steps",
        len(job.steps) / imported,
        "steps/s",
        baseline=single,
        backend="sqlite",
        batch_steps=job.batch_steps,
        note=f"steps batched per transaction; baseline: the first {SINGLE_STEPS} steps, one per transaction",
    )


def main(argv: list[str]) -> None:
    action, url, file = argv
    runtime = bootstrap(Settings(database_url=url), read_your_writes=False)
    start = time.perf_counter()
    try:
        transcoder = runtime.app.mapper.transcoder
        if action == "export":
            with Path(file).open("w", encoding="utf-8") as out:
                for line in export_lines(runtime.engine, transcoder):
                    out.write(line + "\n")
        elif action == "import":
            import_events(runtime.engines.write, Path(file), transcoder)
    finally:
        runtime.close()
    print(time.perf_counter() - start)


if __name__ == "__main__":
    main(sys.argv[1:])
