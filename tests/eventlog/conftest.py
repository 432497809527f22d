"""The `storyline` command on a database of the test's own, and a second, empty database to import into."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from storyline_service.settings import Settings
from tests.conftest import POSTGRES_URL

STORYLINE = Path(sys.executable).parent / "storyline"


def env_of(settings: Settings) -> dict[str, str]:
    env = {"STORYLINE_DATABASE_URL": settings.database_url}
    if settings.database_schema:
        env["STORYLINE_DATABASE_SCHEMA"] = settings.database_schema
    return env


def storyline(settings: Settings, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Runs the CLI against ``settings``' database, as an operator would."""
    return subprocess.run(
        [str(STORYLINE), *args],
        env={**os.environ, **env_of(settings), **extra_env},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture
def empty_settings(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """Another database on the same backend, empty."""
    if settings.database_schema is None:
        yield Settings(database_url=f"sqlite:///{tmp_path}/imported.db")
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield Settings(database_url=POSTGRES_URL, database_schema=schema)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
