"""The `storyline` command."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import psycopg
import sqlalchemy.exc
import typer
from eventsourcing.persistence import PersistenceError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from storyline_domain.errors import DomainError
from storyline_entrypoints.roles_cli import boards_app, roles_app
from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.database import DatabaseTooNew
from storyline_service.demo import load_demo
from storyline_service.first_run import (
    LocalStart,
    StartupProblem,
    check_port,
    check_storage,
    may_prefill_token,
    prepare_local_start,
)
from storyline_service.projections.base import Projection
from storyline_service.projections.feed import run_projector
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
    runtime = bootstrap(read_your_writes=False)
    try:
        head = runtime.projector.head()
        for name, position in sorted(runtime.projector.positions().items()):
            state = "up to date" if position >= head else f"{head - position} events behind"
            console.print(f"{name:10} {position:>10} / {head}  {state}")
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
    runtime = bootstrap(read_your_writes=False)
    try:
        chosen = _selected(runtime, name)
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
    """Compares each read model with a fresh replay of the log and prints any difference."""
    runtime = bootstrap(read_your_writes=False)
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


@projections_app.command("run")
def projections_run(
    poll_seconds: float = typer.Option(1.0, help="Poll this often even without notifications"),
) -> None:
    """Runs a projector worker until interrupted: several may run against one PostgreSQL database."""
    runtime = bootstrap(read_your_writes=False)
    stop = threading.Event()
    try:
        console.print("projecting; press Ctrl-C to stop")
        run_projector(runtime.projector, runtime.settings, stop, poll_seconds)
    except KeyboardInterrupt:
        stop.set()
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
    runtime = bootstrap(read_your_writes=False)
    try:
        token_id, token = runtime.tokens.create(user, expires, superuser=admin)
    finally:
        runtime.close()
    console.print(f"token {token_id} for {user}" + (f", expires in {expires:g} days" if expires else ""))
    print(token)


@token_app.command("list")
def token_list() -> None:
    """Every token's id, user and state; never the token itself."""
    runtime = bootstrap(read_your_writes=False)
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
    runtime = bootstrap(read_your_writes=False)
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
    runtime = bootstrap()
    try:
        summary = load_demo(runtime.app)
    except DomainError as error:
        console.print(f"demo not loaded: {error.message}")
        raise typer.Exit(1) from None
    finally:
        runtime.close()
    console.print(f"loaded board {summary.board}: {summary.stories} stories, {summary.sprints} sprints")


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8000, help="Port to listen on"),
    local: bool = typer.Option(
        False, "--local", help="Laptop mode: demo board on an empty database and a local admin token"
    ),
) -> None:
    """Serves the GraphQL API (with GraphiQL and subscriptions) at /graphql, plus /healthz and /readyz."""
    import uvicorn

    from storyline_entrypoints.web import create_app

    settings = Settings()
    try:
        check_storage(settings)
        check_port(host, port)
        start = _prepare(settings, session=may_prefill_token(host, settings)) if local else None
    except StartupProblem as problem:
        console.print(f"[red]Storyline cannot start:[/red] {problem}")
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
    app = create_app(settings, local_token=start.session_token if start else None)
    # The app logs each request itself, with its correlation id.
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


def _prepare(settings: Settings, session: bool) -> LocalStart:
    try:
        runtime = bootstrap(settings)
    except DatabaseTooNew as error:
        raise StartupProblem(str(error)) from None
    except (sqlalchemy.exc.OperationalError, psycopg.OperationalError, PersistenceError) as error:
        where = settings.url.render_as_string(hide_password=True)
        raise StartupProblem(
            f"cannot reach the database at {where} ({str(error).strip().splitlines()[0]}); "
            "is it running, and is STORYLINE_DATABASE_URL right?"
        ) from None
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


def main() -> None:
    app()
