"""The `storyline` command."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import psycopg
import pydantic
import sqlalchemy.exc
import typer
from eventsourcing.persistence import PersistenceError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from storyline_domain.errors import DomainError
from storyline_entrypoints.events_cli import events_app
from storyline_entrypoints.heap import freeze_startup_objects
from storyline_entrypoints.import_cli import import_app
from storyline_entrypoints.roles_cli import boards_app, roles_app
from storyline_entrypoints.workers import start_workers
from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.database import DatabaseTooNew
from storyline_service.demo import load_demo
from storyline_service.first_run import (
    LocalStart,
    StartupProblem,
    check_port,
    check_storage,
    first_admin_token,
    may_prefill_token,
    prepare_local_start,
)
from storyline_service.projections.base import Projection
from storyline_service.projections.rebuild import rebuild, verify
from storyline_service.settings import Settings

app = typer.Typer(
    help="Storyline: an event-sourced agile board backend.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
projections_app = typer.Typer(help="Inspect, verify and rebuild the read models.", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
token_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(events_app, name="events")
app.add_typer(import_app, name="import")
schema_app = typer.Typer(help="The GraphQL schema that Storyline serves.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
app.add_typer(boards_app, name="boards")
app.add_typer(roles_app, name="roles")


console = Console()


def _selected(runtime: Runtime, name: str | None) -> list[Projection]:
    projections = runtime.projector.projections
    if name is None:
        return projections
    chosen = [p for p in projections if p.name == name]
    if not chosen:
        names = ", ".join(p.name for p in projections)
        raise typer.BadParameter(f"no projection {name!r}; choose one of {names}")
    return chosen


@projections_app.command("status")
def projections_status() -> None:
    """Each projection's position against the head of the event log."""
    runtime = _open(read_your_writes=False)
    try:
        head = runtime.projector.head()
        for name, position in sorted(runtime.projector.positions().items()):
            state = "up to date" if position >= head else f"{head - position} events behind"
            console.print(f"{name:10} {position:>10} / {head}  {state}")
        failure = runtime.projector.probe()
        if failure is not None:
            console.print(f"stopped: {failure.describe()}", soft_wrap=True, markup=False)
            raise typer.Exit(1)
    finally:
        runtime.close()


def _advance(progress: Progress, task: TaskID, started: float, count: int) -> None:
    progress.advance(task, count)
    rate = progress.tasks[0].completed / max(time.monotonic() - started, 1e-9)
    progress.update(task, rate=f"{rate:,.0f}")


@projections_app.command("rebuild")
def projections_rebuild(
    name: str | None = typer.Argument(None, help="One projection; all when omitted"),
) -> None:
    """Replays the whole log into fresh tables, then swaps them in. Served data stays readable."""
    runtime = _open(read_your_writes=False)
    try:
        chosen = [p for p in _selected(runtime, name) if p.rebuildable]
        if not chosen:
            raise typer.BadParameter(f"{name} is never rebuilt; `storyline events verify` checks it")
        label = ", ".join(p.name for p in chosen)
        columns = [
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>8} events/s"),
            TimeElapsedColumn(),
        ]
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(label, total=runtime.projector.head(), rate="-")
            position = rebuild(runtime.projector, chosen, partial(_advance, progress, task, time.monotonic()))
        console.print(f"{label}: rebuilt up to event {position}")
    finally:
        runtime.close()


@projections_app.command("verify")
def projections_verify(
    name: str | None = typer.Argument(None, help="One projection; all when omitted"),
) -> None:
    """Compares each read model with a fresh replay of the log, checks the rules that span a
    board's stories (WIP limits, distinct ranks, existing columns) and prints what is wrong."""
    runtime = _open(read_your_writes=False)
    try:
        failed = False
        for projection in _selected(runtime, name):
            differences = verify(runtime.projector, projection)
            failed = failed or bool(differences)
            console.print(
                f"{projection.name}: {'OK' if not differences else f'{len(differences)} differences'}"
            )
            for line in differences[:50]:
                console.print(f"  {line}", markup=False)
        if failed:
            raise typer.Exit(1)
    finally:
        runtime.close()


@token_app.command("create")
def token_create(
    user: str,
    expires: float | None = typer.Option(None, help="Days until the token expires; never when omitted"),
    admin: bool = typer.Option(False, "--admin", help="ADMIN on every board, like STORYLINE_ADMIN_TOKEN"),
) -> None:
    """Prints a new API token for USER as the last line. Only its hash is stored: keep it safe."""
    if expires is not None and not expires > 0:
        raise typer.BadParameter(f"a token must expire in the future (got {expires:g} days)")
    runtime = _open(read_your_writes=False)
    try:
        token_id, token = runtime.tokens.create(user, expires, superuser=admin)
    except DomainError as error:
        console.print(f"[red]no token created:[/red] {error.message}")
        raise typer.Exit(1) from None
    finally:
        runtime.close()
    console.print(f"token {token_id} for {user}" + (f", expires in {expires:g} days" if expires else ""))
    print(token)


@token_app.command("list")
def token_list() -> None:
    """Every token's id, user and state; never the token itself."""
    runtime = _open(read_your_writes=False)
    now = datetime.now(UTC)
    try:
        for row in runtime.tokens.list():
            state = (
                "revoked"
                if row.revoked_at
                else "active"
                if row.expires_at is None
                else f"expired {row.expires_at:%Y-%m-%d %H:%M}"
                if row.expires_at <= now
                else f"expires {row.expires_at:%Y-%m-%d}"
            )
            console.print(f"{row.id}  {row.user:20} created {row.created_at:%Y-%m-%d}  {state}")
    finally:
        runtime.close()


@token_app.command("revoke")
def token_revoke(token_id: str) -> None:
    """Revokes a token by its id (see `storyline token list`)."""
    runtime = _open(read_your_writes=False)
    try:
        if not runtime.tokens.revoke(token_id):
            console.print(f"no active token {token_id}")
            raise typer.Exit(1)
        console.print(f"revoked {token_id}")
    finally:
        runtime.close()


@app.command("demo")
def demo() -> None:
    """Loads a demo board (PAY) with three past sprints and an active one, backfilled."""
    runtime = _open()
    try:
        summary = load_demo(runtime.app, runtime.engine)
    except DomainError as error:
        console.print(f"demo not loaded: {error.message}")
        raise typer.Exit(1) from None
    finally:
        runtime.close()
    console.print(f"loaded board {summary.board}: {summary.stories} stories, {summary.sprints} sprints")


@app.command("init")
def init() -> None:
    """Creates the tables, and on the first run an admin token, printed as the last line.
    Run once before the API processes and projector workers of a deployment start."""
    runtime = bootstrap(read_your_writes=False)
    try:
        token = first_admin_token(runtime)
    finally:
        runtime.close()
    console.print(
        f"Storyline's tables are ready in {runtime.settings.url.render_as_string(hide_password=True)}"
    )
    if token is None:
        console.print("An admin token was made before (or STORYLINE_ADMIN_TOKEN is set); make another with")
        console.print("  storyline token create admin --admin")
        return
    console.print("The admin token, shown this once (only its hash is kept):")
    print(token, flush=True)


@app.command("projector")
def projector() -> None:
    """Runs the projections as a worker until SIGTERM or Ctrl-C. On PostgreSQL several may run: each
    projection has one active projector, and another takes over within seconds when it ends."""
    # Which projections this worker takes over, and any fault, go to stderr.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Ends it like Ctrl-C, also while it starts: its locks may be taken before start-up is over.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.ExitStack() as resources, contextlib.suppress(KeyboardInterrupt):
        runtime = bootstrap(read_your_writes=False)
        resources.callback(runtime.close)
        workers = start_workers(runtime, projector=True)
        # Unwound first: releases the projections' locks, so a standby takes over at once.
        resources.callback(workers.shut_down)
        freeze_startup_objects()
        console.print("projecting; stop with Ctrl-C or SIGTERM")
        while True:
            time.sleep(60)


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8000, help="Port to listen on"),
    local: bool = typer.Option(
        False, "--local", help="Laptop mode: demo board on an empty database and a local admin token"
    ),
    no_projector: bool = typer.Option(
        False, "--no-projector", help="Leave the projections to `storyline projector` workers (PostgreSQL)"
    ),
    workers: int = typer.Option(1, min=1, help="API processes sharing the port (PostgreSQL)"),
) -> None:
    """Serves the GraphQL API (with GraphiQL and subscriptions) at /graphql, plus /healthz and /readyz."""
    import uvicorn

    from storyline_entrypoints.web import create_app

    if no_projector:
        # Through the environment, so that every worker process started below sees it.
        os.environ["STORYLINE_PROJECTOR"] = "false"
    settings = Settings()
    try:
        if (no_projector or workers > 1) and not settings.is_postgres:
            raise StartupProblem(
                "--no-projector and --workers need PostgreSQL: on SQLite one process serves and projects"
            )
        if local and workers > 1:
            raise StartupProblem("--local serves from one process: leave out --workers")
        check_storage(settings)
        check_port(host, port)
        # Reached before saying it serves: a database out of reach is one line, not a traceback.
        start = _prepare(settings, session=may_prefill_token(host, settings)) if local else None
        if not local:
            _open(settings).close()
    except StartupProblem as problem:
        cannot_start(str(problem))
        raise typer.Exit(1) from None
    base = f"http://{host}:{port}"
    console.print(f"Storyline is serving {settings.url.render_as_string(hide_password=True)}")
    console.print(f"  GraphiQL  {base}/graphql\n  Board     {base}/board")
    if start and start.demo_loaded:
        console.print("  Loaded the demo board PAY: three closed sprints and an active one.")
    if start and start.session_token:
        console.print("  Both pages open signed in as admin: local mode, for this machine only.")
    if start and start.new_admin_token:
        console.print("Your local admin token, shown this once (only its hash is kept):")
        print(start.new_admin_token, flush=True)
    elif local and settings.admin_token is None:
        console.print("Use the admin token printed on the first start, or make a new one with")
        console.print("  storyline token create admin --admin")
    # The app logs each request itself, with its correlation id.
    if workers > 1:
        # Each worker process builds its own app from the environment's settings.
        factory = "storyline_entrypoints.web:create_app"
        uvicorn.run(
            factory,
            factory=True,
            workers=workers,
            host=host,
            port=port,
            access_log=False,
            # A worker starting on a busy host may take longer than uvicorn's 5 s to answer its first
            # health check; it would be killed and restarted in a loop.
            timeout_worker_healthcheck=60,
        )
        return
    app = create_app(settings, local_token=start.session_token if start else None)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


def _open(settings: Settings | None = None, *, read_your_writes: bool = True) -> Runtime:
    """The runtime, or a StartupProblem that says in one line how to reach the database."""
    settings = settings or Settings()
    try:
        return bootstrap(settings, read_your_writes=read_your_writes)
    except DatabaseTooNew as error:
        raise StartupProblem(str(error)) from None
    except (sqlalchemy.exc.OperationalError, psycopg.OperationalError, PersistenceError) as error:
        where = settings.url.render_as_string(hide_password=True)
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise StartupProblem(
            f"cannot reach the database at {where} ({reason}); "
            "is it running, and is STORYLINE_DATABASE_URL right?"
        ) from None


def _prepare(settings: Settings, session: bool) -> LocalStart:
    runtime = _open(settings)
    try:
        return prepare_local_start(runtime, session)
    finally:
        runtime.close()


@schema_app.command("export")
def schema_export(
    path: str = typer.Argument(
        "frontend-contract/schema.graphql", help="Where to write the SDL; - for stdout"
    ),
) -> None:
    """Writes the served schema as SDL."""
    from storyline_graphql.schema import build_schema

    sdl = build_schema(Settings()).as_str() + "\n"
    if path == "-":
        typer.echo(sdl, nl=False)
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(sdl)
    console.print(f"wrote {target}")


def cannot_start(problem: str) -> None:
    console.print(f"[red]Storyline cannot start:[/red] {problem}", soft_wrap=True, markup=True)


def settings_problems(error: pydantic.ValidationError) -> str:
    """Bad STORYLINE_* variables, each with what is wrong, in one line."""
    problems = [
        f"STORYLINE_{'_'.join(str(part) for part in problem['loc']).upper()}={problem.get('input')!r}: "
        f"{problem['msg']}"
        for problem in error.errors()
    ]
    return "; ".join(problems)


def main() -> None:
    """The `storyline` command. Operational failures are one line with the fix, and exit 1."""
    try:
        app()
    except pydantic.ValidationError as error:
        cannot_start(f"{settings_problems(error)}; fix the environment")
        raise SystemExit(1) from None
    except StartupProblem as problem:
        cannot_start(str(problem))
        raise SystemExit(1) from None
