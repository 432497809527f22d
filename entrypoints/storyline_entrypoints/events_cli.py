"""`storyline events`: export, import and verify the event log, and sign checkpoints of its chain."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.eventlog.chain import log_head
from storyline_service.eventlog.checkpoint import CheckpointError, check, private_key, sign
from storyline_service.eventlog.export import export_lines
from storyline_service.eventlog.importer import ImportRefused, import_events
from storyline_service.eventlog.verify import verify_chain

events_app = typer.Typer(help="Export, import and verify the event log.", no_args_is_help=True)
console = Console(stderr=True)


def _runtime() -> Runtime:
    runtime = bootstrap(read_your_writes=False)
    runtime.projector.catch_up()  # every recorded event linked before the log is read
    return runtime


@events_app.command("export")
def events_export(
    board: str | None = typer.Option(None, help="Only this board's events"),
    after: int = typer.Option(0, help="Only events after this sequence"),
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write; stdout when omitted")
    ] = None,
) -> None:
    """Writes the log as JSON lines, one event per line in log order, each with its chain hash."""
    runtime = _runtime()
    try:
        lines = export_lines(runtime.engine, runtime.app.mapper.transcoder, board, after)
        count = 0
        with output.open("w", encoding="utf-8") if output else nullcontext(sys.stdout) as out:
            for line in lines:
                out.write(line + "\n")
                count += 1
    finally:
        runtime.close()
    console.print(f"exported {count} events" + (f" to {output}" if output else ""))


@events_app.command("import")
def events_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A file from `storyline events export`")
    ],
    append: bool = typer.Option(False, "--append", help="Add to a log that has events already"),
    no_verify: bool = typer.Option(
        False, "--no-verify", help="Import even if the file's chain does not verify"
    ),
) -> None:
    """Loads an exported log: checked whole first, then written in one transaction; nothing on error."""
    runtime = bootstrap(read_your_writes=False)
    try:
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("checking", total=None)
            imported = import_events(
                runtime.engines.write,
                file,
                runtime.app.mapper.transcoder,
                append=append,
                verify=not no_verify,
                progress=lambda count: progress.advance(task, count),
            )
            progress.update(task, description="projecting")
            runtime.projector.catch_up()
    except ImportRefused as refused:
        console.print(f"[red]not imported:[/red] {refused}")
        raise typer.Exit(1) from None
    finally:
        runtime.close()
    if no_verify:
        console.print(
            "[bold yellow]WARNING: the file's hash chain was NOT verified (--no-verify); "
            "its events are linked afresh from here on[/bold yellow]"
        )
    where = "after the existing log, renumbered" if imported.renumbered else "at their own sequences"
    console.print(f"imported {imported.events} events of {imported.aggregates} aggregates, {where}")


@events_app.command("verify")
def events_verify(
    checkpoint: Annotated[
        Path | None, typer.Option(help="A signed checkpoint to prove the log against")
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            help="The trusted Ed25519 public key (PEM) for --checkpoint; the settings' key if omitted"
        ),
    ] = None,
) -> None:
    """Walks the hash chain: OK with the head, or the first sequence that does not verify."""
    runtime = _runtime()
    try:
        verdict = verify_chain(runtime.engine)
        if not verdict.ok:
            print(f"BROKEN at sequence {verdict.broken_at} (verified up to {verdict.head.sequence})")
            raise typer.Exit(1)
        print(f"OK {verdict.head.sequence} {verdict.head.hash}")
        if verdict.unlinked:
            print(f"{verdict.unlinked} events recorded since are not linked yet")
        if checkpoint is not None:
            trusted = _trusted_key(runtime, public_key)
            head = check(json.loads(checkpoint.read_text()), trusted, runtime.engine)
            print(f"checkpoint OK {head.sequence} {head.hash}")
    except CheckpointError as error:
        print(f"checkpoint REFUSED: {error}")
        raise typer.Exit(1) from None
    finally:
        runtime.close()


def _trusted_key(runtime: Runtime, path: Path | None) -> Ed25519PublicKey:
    if path is not None:
        key = serialization.load_pem_public_key(path.read_bytes())
        if not isinstance(key, Ed25519PublicKey):
            raise CheckpointError(f"{path} is not an Ed25519 public key")
        return key
    return private_key(_checkpoint_key(runtime)).public_key()


def _checkpoint_key(runtime: Runtime) -> str:
    if runtime.settings.checkpoint_key is None:
        raise CheckpointError("no key: set STORYLINE_CHECKPOINT_KEY (an Ed25519 private key, PEM)")
    return runtime.settings.checkpoint_key.get_secret_value()


@events_app.command("checkpoint")
def events_checkpoint() -> None:
    """Prints the chain's head signed with STORYLINE_CHECKPOINT_KEY, as JSON to keep outside Storyline."""
    runtime = _runtime()
    try:
        print(json.dumps(sign(log_head(runtime.engine), private_key(_checkpoint_key(runtime)))))
    except CheckpointError as error:
        console.print(f"[red]no checkpoint:[/red] {error}")
        raise typer.Exit(1) from None
    finally:
        runtime.close()
