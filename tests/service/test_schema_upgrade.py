"""A database written before an index existed gets it when Storyline starts on it."""

from __future__ import annotations

from sqlalchemy import inspect, text

from storyline_service.bootstrap import bootstrap
from storyline_service.settings import Settings

INDEX = "ix_status_intervals_story_category"  # sprint reports read DONE intervals through it


def index_names(settings: Settings) -> set[str]:
    runtime = bootstrap(settings, read_your_writes=False)
    try:
        with runtime.engine.connect() as conn:
            return {index["name"] for index in inspect(conn).get_indexes("status_intervals")}
    finally:
        runtime.close()


def test_start_up_adds_indexes_missing_from_existing_tables(settings: Settings) -> None:
    assert INDEX in index_names(settings)
    runtime = bootstrap(settings, read_your_writes=False)
    with runtime.write_engine.begin() as conn:
        conn.execute(text(f"DROP INDEX {INDEX}"))  # as written by a Storyline from before the index
    runtime.close()

    assert INDEX in index_names(settings)
