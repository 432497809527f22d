"""The real server (`storyline serve`) in a child process, and a keep-alive HTTP client for it."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from storyline_service.settings import Settings


def web_problem() -> str | None:
    """Why the HTTP figures cannot be taken, or None when `create_app` is there."""
    if importlib.util.find_spec("storyline_entrypoints.web") is None:
        return "storyline_entrypoints.web does not exist yet"
    try:
        from storyline_entrypoints import web
    except Exception as error:  # a half-written module must not stop the other figures
        return f"storyline_entrypoints.web does not import: {error!r}"
    if not hasattr(web, "create_app"):
        return "storyline_entrypoints.web has no create_app"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class Server:
    def __init__(self, process: subprocess.Popen[bytes], url: str, token: str) -> None:
        self.process = process
        self.url = url
        self.client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post("/graphql", json={"query": query, "variables": variables})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors'][0].get('message')}")
        return body["data"]  # type: ignore[no-any-return]

    def rss_mb(self) -> float:
        return rss_mb(self.process.pid)


def environment(settings: Settings) -> dict[str, str]:
    env = {
        **os.environ,
        "STORYLINE_DATABASE_URL": settings.database_url,
        "STORYLINE_RATE_LIMIT": str(settings.rate_limit),
        "STORYLINE_RESULT_CACHE_SIZE": str(settings.result_cache_size),
    }
    if settings.database_schema:
        env["STORYLINE_DATABASE_SCHEMA"] = settings.database_schema
    return env


CLI = [sys.executable, "-c", "from storyline_entrypoints.cli import main; main()"]


@contextmanager
def projector(settings: Settings, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Runs `storyline projector` on the settings' database until the block ends; starts the block
    once the worker says it is projecting."""
    started = log.stat().st_size if log.exists() else 0
    with log.open("ab") as output:
        process = subprocess.Popen(
            [*CLI, "projector"], env=environment(settings), stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while "projecting" not in log.read_text(errors="replace")[started:]:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the projector did not start; see {log}")
            time.sleep(0.1)
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serve(settings: Settings, log: Path, token: str, *options: str) -> Iterator[Server]:
    """Runs `storyline serve` (with ``options``) on the settings' database until the block ends."""
    port = free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), *options],
            env=environment(settings),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", token)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-600:]
                raise RuntimeError(f"the server exited with {process.returncode}: {tail}")
            try:
                if server.client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer within 60 s; see {log}")
            time.sleep(0.1)
        yield server
    finally:
        server.client.close()
        stop(process)
