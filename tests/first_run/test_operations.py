"""Operating the `storyline` command: restarts on the same port, and one-line failures with the fix."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.graphql.conftest import STARTUP_SECONDS, free_port

STORYLINE = str(Path(sys.executable).parent / "storyline")
UNREACHABLE = "postgresql://127.0.0.1:1/storyline"  # nothing listens on port 1


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STORYLINE, *args], env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def one_line_failure(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    output = (result.stdout + result.stderr).strip()
    assert result.returncode != 0, output
    assert "Traceback" not in output
    assert len(output.splitlines()) == 1, output
    for text in expected:
        assert text in output, output
    return output


def test_serve_checks_the_database_before_saying_it_serves(tmp_path: Path) -> None:
    result = run(["serve", "--port", str(free_port())], {"STORYLINE_DATABASE_URL": UNREACHABLE}, tmp_path)
    one_line_failure(result, "cannot reach the database", "STORYLINE_DATABASE_URL")
    assert "is serving" not in result.stdout


def test_projections_status_without_a_database_is_one_line(tmp_path: Path) -> None:
    result = run(["projections", "status"], {"STORYLINE_DATABASE_URL": UNREACHABLE}, tmp_path)
    one_line_failure(result, "cannot reach the database", "is it running")


@pytest.mark.parametrize("command", [["projections", "status"], ["serve"], ["token", "list"]])
def test_bad_settings_are_one_line_naming_the_variable(tmp_path: Path, command: list[str]) -> None:
    result = run(command, {"STORYLINE_POOL_SIZE": "abc"}, tmp_path)
    one_line_failure(result, "STORYLINE_POOL_SIZE='abc'", "valid integer")


def test_a_token_for_a_user_with_control_characters_is_refused(tmp_path: Path) -> None:
    env = {"STORYLINE_DATABASE_URL": f"sqlite:///{tmp_path}/s.db"}
    result = run(["token", "create", "mal\u202elory"], env, tmp_path)
    one_line_failure(result, "U+202E")


def start_serve(env: dict[str, str], port: int, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [STORYLINE, "serve", "--port", str(port)],
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_until_serving(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"serve exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail("serve did not answer in time")


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_serve_restarts_on_its_port_at_once_after_a_kill(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"STORYLINE_DATABASE_URL": f"sqlite:///{tmp_path}/s.db", "STORYLINE_ADMIN_TOKEN": "t"}
    processes.append(start_serve(env, port, tmp_path))
    wait_until_serving(processes[0], url)
    # Connections left open when the server dies keep its side of them in TIME_WAIT.
    clients = [httpx.Client(base_url=url) for _ in range(3)]
    for client in clients:
        assert client.get("/healthz").status_code == 200
    processes[0].send_signal(signal.SIGKILL)
    processes[0].wait(timeout=10)
    for client in clients:
        client.close()
    processes.append(start_serve(env, port, tmp_path))
    wait_until_serving(processes[1], url)
