"""The first minutes on a laptop: a demo board, a local admin token, and clear errors on the way."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from dataclasses import dataclass

from sqlalchemy import select

from storyline_service.auth import ADMIN, tokens
from storyline_service.bootstrap import Runtime
from storyline_service.demo import load_demo
from storyline_service.readmodels import BoardRow
from storyline_service.settings import Settings

boards = BoardRow.__table__  # type: ignore[attr-defined]


class StartupProblem(Exception):
    """Something stops the server from starting; the message says how to fix it."""


@dataclass(frozen=True)
class LocalStart:
    demo_loaded: bool
    new_admin_token: str | None  # printed once, on the very first start


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise StartupProblem(
                    f"port {port} on {host} is taken; start on another with --port, e.g. --port {port + 1}"
                ) from None
            raise StartupProblem(f"cannot listen on {host}:{port}: {error.strerror}") from None


def check_storage(settings: Settings) -> None:
    if settings.is_postgres:
        return
    folder = settings.sqlite_path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StartupProblem(
            f"cannot create {folder}: {error.strerror}; make it writable or set "
            "STORYLINE_DATABASE_URL to a writable place"
        ) from None
    if not os.access(folder, os.W_OK):
        raise StartupProblem(
            f"{folder} is not writable; fix its permissions (chmod u+w {folder}) or set "
            "STORYLINE_DATABASE_URL to a writable place"
        )


def prepare_local_start(runtime: Runtime) -> LocalStart:
    """On an empty database, loads the demo board; without STORYLINE_ADMIN_TOKEN, creates a
    local admin token once. Only its hash is kept, so later starts cannot show it again."""
    with runtime.engine.connect() as conn:
        empty = conn.execute(select(boards.c.key).limit(1)).first() is None and runtime.projector.head() == 0
        has_admin = conn.execute(select(tokens.c.id).where(tokens.c.superuser.is_(True)).limit(1)).first()
    if empty:
        load_demo(runtime.app)
    new_token = None
    if runtime.settings.admin_token is None and has_admin is None:
        _, new_token = runtime.tokens.create(ADMIN, superuser=True)
    return LocalStart(demo_loaded=empty, new_admin_token=new_token)
