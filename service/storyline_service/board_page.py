"""The reference board page at /board: static HTML and JavaScript over the public GraphQL contract."""

from __future__ import annotations

import html
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.staticfiles import StaticFiles

FILES = Path(__file__).parent / "static" / "board"


def mount_board_page(app: Starlette, path: str = "/board", local_token: str | None = None) -> None:
    """Serves the page's files under ``path``; ``path`` itself redirects to ``path/``, the page.

    With ``local_token`` (local mode) the page carries it, so it opens the board without asking."""
    if local_token:
        tag = f'<meta name="storyline-local-token" content="{html.escape(local_token)}" />'
        page = (FILES / "index.html").read_text().replace("</head>", f"    {tag}\n  </head>", 1)

        async def index(request: Request) -> HTMLResponse:
            # no-store: the token changes on every start and must not outlive it in a cache.
            return HTMLResponse(page, headers={"Cache-Control": "no-store"})

        for route in (f"{path}/", f"{path}/index.html"):
            app.router.routes.append(Route(route, index, methods=["GET", "HEAD"]))
    app.mount(path, StaticFiles(directory=FILES, html=True), name="board")
