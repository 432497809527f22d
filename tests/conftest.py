"""Fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL comes from STORYLINE_TEST_POSTGRES_URL (default
postgresql://127.0.0.1:5432/test); each test gets a fresh schema. When it is
unreachable those tests are skipped, unless STORYLINE_REQUIRE_POSTGRES=1 (CI),
which turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.settings import Settings

POSTGRES_URL = os.environ.get("STORYLINE_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("STORYLINE_REQUIRE_POSTGRES") == "1"
_postgres_problem: list[str] = []


def postgres_unavailable() -> str | None:
    """Why PostgreSQL can't be used, or None when it can. Asked once per run."""
    if not _postgres_problem:
        try:
            with psycopg.connect(POSTGRES_URL, connect_timeout=3):
                _postgres_problem.append("")
        except psycopg.Error as error:
            _postgres_problem.append(f"PostgreSQL at {POSTGRES_URL} is unreachable: {error}".strip())
    return _postgres_problem[0] or None


def require_postgres() -> None:
    problem = postgres_unavailable()
    if problem is None:
        return
    if REQUIRE_POSTGRES:
        pytest.fail(f"{problem} (STORYLINE_REQUIRE_POSTGRES=1 forbids skipping)")
    pytest.skip(problem)


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield schema
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def make_settings(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, **overrides: object
) -> Settings:
    if backend == "postgres":
        schema = request.getfixturevalue("postgres_schema")
        return Settings(database_url=POSTGRES_URL, database_schema=schema, **overrides)  # type: ignore[arg-type]
    return Settings(database_url=f"sqlite:///{tmp_path}/storyline.db", **overrides)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(backend, tmp_path, request)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = bootstrap(settings)
    yield rt
    rt.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    problem = _postgres_problem[0] if _postgres_problem else ""
    if problem:
        terminalreporter.write_sep("!", "PostgreSQL tests were SKIPPED", yellow=True)
        terminalreporter.write_line(f"{problem}. Start PostgreSQL or set STORYLINE_TEST_POSTGRES_URL.")
