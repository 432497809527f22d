"""The domain stays pure, and the repo's graphql/ folder never shadows graphql-core."""

from __future__ import annotations

import ast
import importlib.machinery
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOMAIN = REPO / "domain" / "storyline_domain"
FORBIDDEN = (
    "storyline_service",
    "storyline_graphql",
    "sqlalchemy",
    "sqlmodel",
    "fastapi",
    "strawberry",
    "psycopg",
)


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (inside functions and TYPE_CHECKING too)."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def domain_modules() -> list[Path]:
    paths = sorted(DOMAIN.rglob("*.py"))
    assert len(paths) >= 8, paths  # the guard must actually see the package
    return paths


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: p.name)
def test_domain_imports_nothing_from_outer_layers_or_storage(path: Path) -> None:
    offending = {
        module
        for module in imported_modules(path)
        if any(module == name or module.startswith(f"{name}.") for name in FORBIDDEN)
    }
    assert not offending, f"{path.name} imports {sorted(offending)}"


def test_the_import_guard_would_catch_an_outer_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f():\n    from storyline_service.application import Storyline\n    import sqlalchemy.orm\n"
    )
    assert imported_modules(bad) == {"storyline_service.application", "sqlalchemy.orm"}


def test_graphql_is_graphql_core_from_site_packages() -> None:
    import graphql

    location = Path(graphql.__file__).resolve()
    assert "site-packages" in location.parts, location
    assert REPO / "graphql" not in location.parents
    assert hasattr(graphql, "graphql_sync")


def test_path_search_with_the_repo_root_first_finds_graphql_core() -> None:
    """Ignores modules already imported: searches sys.path afresh, repo root first."""
    spec = importlib.machinery.PathFinder.find_spec("graphql", [str(REPO), *sys.path])
    assert spec is not None and spec.origin is not None
    assert "site-packages" in Path(spec.origin).parts, spec.origin


def test_graphql_resolves_to_site_packages_with_the_repo_root_first_on_sys_path() -> None:
    """What uvicorn, ``python -m`` and pytest do: run from the repo root, which is on sys.path."""
    probe = "import graphql, sys; print(graphql.__file__); print(sys.path[0])"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    location, first_path = result.stdout.splitlines()
    assert first_path in ("", str(REPO))  # "" is the working directory, the repo root
    assert "site-packages" in Path(location).parts, location
    assert not Path(location).resolve().is_relative_to(REPO / "graphql")


def test_repo_graphql_folder_is_not_a_package() -> None:
    assert (REPO / "graphql").is_dir()
    assert not (REPO / "graphql" / "__init__.py").exists()
