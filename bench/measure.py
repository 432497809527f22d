"""Timing helpers and the one-JSON-object-per-line output."""

from __future__ import annotations

import itertools
import json
import math
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

OUT = Path(__file__).parent / "out"


@dataclass(frozen=True)
class Latency:
    p50: float  # milliseconds
    p95: float
    reps: int


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def latency(call: Callable[[], object], reps: int, warmup: int = 5) -> Latency:
    """Runs ``call`` ``reps`` times after a warm-up; percentiles of the wall time of each call."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return Latency(percentile(times, 0.5), percentile(times, 0.95), reps)


def paired(
    a: Callable[[], object], b: Callable[[], object], reps: int, warmup: int = 5
) -> tuple[Latency, Latency]:
    """Latencies of ``a`` and ``b`` measured alternately, so that load from elsewhere hits both alike."""
    for _ in range(warmup):
        a()
        b()
    times: tuple[list[float], list[float]] = ([], [])
    for rep in range(reps):
        order = (0, 1) if rep % 2 == 0 else (1, 0)  # neither always goes first
        for which in order:
            call = (a, b)[which]
            start = time.perf_counter()
            call()
            times[which].append((time.perf_counter() - start) * 1000)
    results = []
    for sample in times:
        sample.sort()
        results.append(Latency(percentile(sample, 0.5), percentile(sample, 0.95), reps))
    return results[0], results[1]


def rate(call: Callable[[int], object], seconds: float, min_calls: int = 20, warm_up: int = 10) -> float:
    """Calls per second of ``call(i)`` run back to back for about ``seconds``, after ``warm_up``
    uncounted calls (first connections, statement and document caches)."""
    for index in range(warm_up):
        call(-1 - index)
    calls = 0
    start = time.perf_counter()
    while calls < min_calls or time.perf_counter() - start < seconds:
        call(calls)
        calls += 1
    return calls / (time.perf_counter() - start)


Runner = Callable[[float], tuple[int, float]]
"""Runs for about the given seconds; returns (calls made, seconds taken)."""


def back_to_back(call: Callable[[int], object]) -> Runner:
    """A runner calling ``call(i)`` back to back, numbering calls across runs."""
    numbers = itertools.count()

    def run(seconds: float) -> tuple[int, float]:
        calls, start = 0, time.perf_counter()
        while calls == 0 or time.perf_counter() - start < seconds:
            call(next(numbers))
            calls += 1
        return calls, time.perf_counter() - start

    return run


def alternating(a: Runner, b: Runner, seconds: float, slices: int = 6) -> tuple[float, float]:
    """Rates (calls per second) of ``a`` and ``b``, about ``seconds`` each, in alternating slices,
    so that load from elsewhere hits both alike; each first runs a short uncounted warm-up."""
    for runner in (a, b):
        runner(min(0.2, seconds / slices))
    calls, taken = [0, 0], [0.0, 0.0]
    for number in range(slices):
        for which in (0, 1) if number % 2 == 0 else (1, 0):  # neither always goes first
            made, elapsed = (a, b)[which](seconds / slices)
            calls[which] += made
            taken[which] += elapsed
    return calls[0] / taken[0], calls[1] / taken[1]


def concurrently(
    clients: int, seconds: float, client: Callable[[int, threading.Event], int]
) -> tuple[int, float]:
    """Runs ``client(n, stop)`` on ``clients`` threads until ``stop`` is set, about ``seconds`` later.

    Each client returns how many calls it made; returns (calls, seconds taken). A client's
    failure is raised after the run, never swallowed."""
    counts = [0] * clients
    failures: list[BaseException] = []
    stop = threading.Event()

    def run(n: int) -> None:
        try:
            counts[n] = client(n, stop)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise failures[0]
    return sum(counts), elapsed


class Report:
    """Prints each figure as one JSON line, and keeps a copy under bench/out/."""

    def __init__(self, stream: TextIO = sys.stdout, mode: str = "full") -> None:
        self.stream = stream
        self.mode = mode
        self.lines: list[dict[str, Any]] = []
        self.started = time.perf_counter()

    def emit(
        self,
        metric: str,
        value: float | None,
        unit: str,
        *,
        baseline: float | None = None,
        backend: str | None = None,
        events: int | None = None,
        **extra: Any,
    ) -> None:
        ratio = value / baseline if value is not None and baseline else None
        line = {
            "metric": metric,
            "value": _round(value),
            "unit": unit,
            "baseline": _round(baseline),
            "ratio": _round(ratio, 3),
            "backend": backend,
            "events": events,
            **{k: _round(v) if isinstance(v, float) else v for k, v in extra.items()},
            "elapsed_s": round(time.perf_counter() - self.started, 1),  # keeps an eye on the time budget
        }
        self.lines.append(line)
        print(json.dumps(line), file=self.stream, flush=True)

    def note(self, message: str, **extra: Any) -> None:
        """A line that is not a figure: sizes used, skipped metrics and why."""
        self.emit("note", None, "", note=message, **extra)

    def save(self) -> Path:
        OUT.mkdir(exist_ok=True)
        path = OUT / f"bench-{self.mode}.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in self.lines))
        return path


def _round(value: float | None, digits: int = 2) -> float | None:
    if value is None:
        return None
    return round(value, digits) if abs(value) >= 1 else round(value, 4)
