"""A demo server per test module, and the real third-party clients (Node, Chromium) the contract tests use.

Without Node, npm or Chromium those tests are skipped with the reason, unless
STORYLINE_REQUIRE_BROWSER=1 (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.documents import ROOT
from tests.contract.live import DemoServer, demo_server

CLIENTS = ROOT / "tests" / "clients"
ARTIFACTS = ROOT / "test-artifacts"
REQUIRE_BROWSER = os.environ.get("STORYLINE_REQUIRE_BROWSER") == "1"
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with demo_server(tmp_path_factory.mktemp("demo")) as server:
        yield server


def missing(problem: str) -> None:
    """Skips, or fails when CI requires the real clients."""
    hint = "install Node 20+, npm and Debian's chromium (see .ci/run)"
    if REQUIRE_BROWSER:
        pytest.fail(f"{problem} (STORYLINE_REQUIRE_BROWSER=1 forbids skipping)")
    pytest.skip(f"{problem}: {hint}")


@pytest.fixture(scope="session")
def node_clients() -> Path:
    """tests/clients with its locked npm packages installed."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            missing(f"{tool} is not installed")
    installed = CLIENTS / "node_modules" / ".package-lock.json"
    lock = CLIENTS / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=CLIENTS, capture_output=True, text=True, timeout=600
        )
        if done.returncode != 0:
            missing(f"npm ci failed in {CLIENTS}:\n{done.stdout}\n{done.stderr}")
    return CLIENTS


@pytest.fixture(scope="session")
def chromium() -> str:
    found = next((path for path in CHROMIUM_PATHS if Path(path).exists()), None)
    if found is None:
        missing("Chromium is not installed at /usr/bin/chromium")
    assert found is not None
    return found


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
