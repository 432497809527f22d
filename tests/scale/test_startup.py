"""API replicas and projector workers that start together on one PostgreSQL database all start."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier

import pytest

from storyline_service.bootstrap import bootstrap
from storyline_service.settings import Settings
from tests.conftest import POSTGRES_URL

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600)]

PROCESSES = 16


def start_once(schema: str, together: Barrier) -> None:
    """What each `storyline serve` or `storyline projector` process does first."""
    settings = Settings(database_url=POSTGRES_URL, database_schema=schema)  # type: ignore[arg-type]
    together.wait()
    bootstrap(settings).close()


def start_together(schema: str) -> list[int | None]:
    context = multiprocessing.get_context("fork")
    together = context.Barrier(PROCESSES)
    processes = [context.Process(target=start_once, args=(schema, together)) for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    return [process.exitcode for process in processes]


def test_processes_starting_together_on_an_empty_schema_all_start(postgres_schema: str) -> None:
    # Every process creates the tables, types and functions: the race PostgreSQL refuses.
    assert start_together(postgres_schema) == [0] * PROCESSES


def test_processes_restarting_together_on_an_existing_schema_all_start(postgres_schema: str) -> None:
    bootstrap(Settings(database_url=POSTGRES_URL, database_schema=postgres_schema)).close()  # type: ignore[arg-type]
    # Each still replaces the event store's insert function at start ("tuple concurrently updated").
    assert start_together(postgres_schema) == [0] * PROCESSES
