"""The reference board page at /board: static HTML and JavaScript over the public GraphQL contract."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.staticfiles import StaticFiles

FILES = Path(__file__).parent / "static" / "board"


def mount_board_page(app: Starlette, path: str = "/board") -> None:
    """Serves the page's files under ``path``; ``path`` itself redirects to ``path/``, the page."""
    app.mount(path, StaticFiles(directory=FILES, html=True), name="board")
