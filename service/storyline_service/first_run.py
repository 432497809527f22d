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


# Local mode signs GraphiQL and /board in with a new token each start. Like every token only its
# hash is stored; the token itself lives in the server's memory, so it expires soon.
SESSION_TOKEN_DAYS = 0.5


@dataclass(frozen=True)
class LocalStart:
    demo_loaded: bool
    new_admin_token: str | None  # printed once, on the very first start
    session_token: str | None = None  # pre-filled into GraphiQL and /board, never printed


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def may_prefill_token(host: str, settings: Settings) -> bool:
    """Only a browser on this machine may be handed a token, and only while GraphiQL is served."""
    return is_loopback(host) and settings.introspection


def check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As uvicorn does: sockets of a server that just stopped linger in TIME_WAIT, and only a
        # listening socket really takes the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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


def first_admin_token(runtime: Runtime) -> str | None:
    """Without STORYLINE_ADMIN_TOKEN, creates a lasting admin token once and returns it. Only its
    hash is kept, so later calls return None."""
    # Session tokens expire: they must not count as the admin token printed on the first start.
    lasting_admin = tokens.c.superuser.is_(True) & tokens.c.expires_at.is_(None)
    with runtime.engine.connect() as conn:
        has_admin = conn.execute(select(tokens.c.id).where(lasting_admin).limit(1)).first()
    if runtime.settings.admin_token is not None or has_admin is not None:
        return None
    return runtime.tokens.create(ADMIN, superuser=True)[1]


def prepare_local_start(runtime: Runtime, session: bool = False) -> LocalStart:
    """On an empty database, loads the demo board; without STORYLINE_ADMIN_TOKEN, creates a
    local admin token once. Only its hash is kept, so later starts cannot show it again.
    With ``session``, also creates a short-lived admin token for the pages this server serves."""
    with runtime.engine.connect() as conn:
        empty = conn.execute(select(boards.c.key).limit(1)).first() is None and runtime.projector.head() == 0
    if empty:
        load_demo(runtime.app, runtime.engine)
    new_token = first_admin_token(runtime)
    session_token = runtime.tokens.create(ADMIN, SESSION_TOKEN_DAYS, superuser=True)[1] if session else None
    return LocalStart(demo_loaded=empty, new_admin_token=new_token, session_token=session_token)
