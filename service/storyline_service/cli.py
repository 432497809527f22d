"""The `storyline` command."""

from __future__ import annotations

import typer

app = typer.Typer(help="Storyline: an event-sourced agile board backend.", no_args_is_help=True)
projections_app = typer.Typer(help="Inspect, verify and rebuild the read models.", no_args_is_help=True)
app.add_typer(projections_app, name="projections")


def main() -> None:
    app()
