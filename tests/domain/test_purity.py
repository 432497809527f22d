"""Layers depend only downwards, the domain stays pure, and graphql/ never shadows graphql-core."""

from __future__ import annotations

import importlib.machinery
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("lint-imports")), "--no-cache", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True)


def test_layers_point_down_and_the_domain_stays_pure() -> None:
    """import-linter's contracts in pyproject.toml: entrypoints -> graphql -> service -> domain."""
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout, result.stdout


def test_the_layer_contract_catches_an_upward_import(tmp_path: Path) -> None:
    """The same contracts over a copy of the packages in which the service imports the GraphQL layer."""
    for package in ("domain", "service", "graphql", "entrypoints"):
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    upward = tmp_path / "service" / "storyline_service" / "upward.py"
    upward.write_text("from storyline_graphql import schema\n")
    paths = os.pathsep.join(
        str(tmp_path / package) for package in ("domain", "service", "graphql", "entrypoints")
    )
    command = [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"]
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": paths}
    )
    assert result.returncode != 0
    assert "storyline_service.upward -> storyline_graphql.schema" in result.stdout, result.stdout


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
