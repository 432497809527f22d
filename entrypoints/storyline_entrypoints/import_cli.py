"""`storyline import`: history from other tools, backfilled at its original times."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from storyline_service.bootstrap import bootstrap
from storyline_service.importers.jira.importer import JiraImport

import_app = typer.Typer(help="Import history from other tools.", no_args_is_help=True)
console = Console()
SHOWN_WARNINGS = 30


@import_app.command("jira")
def import_jira(
    issues: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Jira issue JSON lines (.gz too)")
    ],
    board: Annotated[str, typer.Option(help="Key of the board to create or continue")],
    story_points: Annotated[
        Path | None, typer.Option(exists=True, help="CSV of issuekey,storypoint (final values)")
    ] = None,
    actor_map: Annotated[
        Path | None, typer.Option(exists=True, help="Jira user to Storyline actor: JSON object or CSV")
    ] = None,
) -> None:
    """Creates the board, its sprints and one story per issue (keeping its key), with their history.

    Running it again records nothing new; an interrupted import resumes."""
    runtime = bootstrap(read_your_writes=False)
    try:
        job = JiraImport(
            runtime.app, board, issues, story_points, actor_map, runtime.settings.import_batch_steps
        )
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("importing", total=None)
            summary = job.run(lambda done, total: progress.update(task, completed=done, total=total))
            progress.update(task, description="projecting")
            runtime.projector.catch_up()
    finally:
        runtime.close()
    console.print(
        f"{summary.issues} issues, {summary.sprints} sprints, {summary.events} events recorded, "
        f"{len(summary.warnings)} warnings; {summary.cleaned} characters cleaned, "
        f"{summary.shortened} texts shortened"
    )
    for warning in summary.warnings[:SHOWN_WARNINGS]:
        console.print(f"  {warning}", markup=False)
    if len(summary.warnings) > SHOWN_WARNINGS:
        console.print(f"  … and {len(summary.warnings) - SHOWN_WARNINGS} more")
