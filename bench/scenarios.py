"""What is measured: the read paths, the write paths and a full rebuild, each as a callable."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request

from bench.data import COLUMNS, MANAGER
from bench.measure import concurrently
from storyline_service.application import Caller, Storyline
from storyline_service.bootstrap import Runtime
from storyline_service.projections.rebuild import rebuild
from storyline_service.queries import Seek, StoryCriteria
from storyline_service.timetravel import board_as_of

BOARD_VIEW = """
query BoardView($key: String!, $sprint: ID!) {
  board(key: $key) {
    key name version
    activeSprint { id name }
    columns {
      key name category wipLimit
      stories(sprintId: $sprint, first: 100) {
        edges { node { key title type priority labels points assignee rank blocked version } }
      }
    }
  }
}
"""

MOVE_STORY = """
mutation Move($key: String!, $to: String!) {
  moveStory(input: {storyKey: $key, toColumn: $to}) { story { key version } errors { code message } }
}
"""

Call = Callable[[], object]


def _stories_in(data: dict[str, Any]) -> int:
    return sum(len(column["stories"]["edges"]) for column in data["board"]["columns"])


def bench_token(runtime: Runtime) -> str:
    """An API token for the bench's user, stored in the runtime's database (the server reads it too)."""
    return runtime.tokens.create(MANAGER)[1]


def board_view_graphql(runtime: Runtime, board: str, sprint: str, token: str) -> tuple[Call, int]:
    """The board view executed in-process through the GraphQL schema: (call, stories returned)."""
    from storyline_graphql.context import Context, sign_in
    from storyline_graphql.schema import build_schema

    schema = build_schema(runtime.settings)
    loop = asyncio.new_event_loop()
    headers = [(b"authorization", f"Bearer {token}".encode())]
    request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": headers})
    variables = {"key": board, "sprint": sprint}

    async def execute() -> Any:
        # A fresh, signed-in context per request, as the web app makes one.
        context = Context(request=request, runtime=runtime, correlation_id="bench")
        await sign_in(context)
        return await schema.execute(BOARD_VIEW, variables, context_value=context)

    def call() -> dict[str, Any]:
        result = loop.run_until_complete(execute())
        if result.errors:
            raise RuntimeError(f"board view failed: {result.errors[0].message}")
        assert result.data is not None
        return result.data  # type: ignore[no-any-return]

    return call, _stories_in(call())


def board_view_service(runtime: Runtime, board: str, sprint: str) -> tuple[Call, int]:
    """The same board view through the service queries the schema sits on."""
    reads = runtime.reads

    def call() -> int:
        reads.boards_by_key([board])
        columns = reads.columns_of([board])[board]
        pages = reads.story_pages(
            ("board_key", "column"),
            [(board, column.key) for column in columns],
            StoryCriteria(sprint_id=sprint),
            100,
            Seek(),
        )
        return sum(len(page) for page in pages.values())

    count = call()
    return call, count


def report_and_burndown(runtime: Runtime, sprint: str) -> Call | None:
    """Sprint report and burndown of one sprint; None when the analytics module is not there."""
    try:
        from storyline_service import analytics
    except ImportError:
        return None
    engine = runtime.engine
    if hasattr(analytics, "sprint_report_and_burndown"):
        return lambda: analytics.sprint_report_and_burndown(engine, sprint)
    return lambda: (analytics.sprint_report(engine, sprint), analytics.burndown(engine, sprint))


def as_of(runtime: Runtime, board: str, instants: list[datetime]) -> Call:
    """Board.asOf, cycling through instants spread over the board's history."""
    turn = iter(range(1 << 62))

    def call() -> object:
        snapshot = board_as_of(runtime.engine, board, instants[next(turn) % len(instants)])
        assert snapshot is not None
        return snapshot

    return call


def instants(first: datetime, last: datetime, count: int = 24) -> list[datetime]:
    step = (last - first) / count
    return [first + step * n + timedelta(hours=1) for n in range(count)]


# ----- writes -----


@dataclass
class WriteBoard:
    """A board of stories to move back and forth: each call moves a story to the other column."""

    keys: list[str]
    column: dict[str, str]

    def next_move(self, index: int, keys: list[str] | None = None) -> tuple[str, str]:
        keys = keys or self.keys
        key = keys[index % len(keys)]
        target = "IN_PROGRESS" if self.column[key] == "TODO" else "TODO"
        self.column[key] = target
        return key, target


def write_board(app: Storyline, stories: int, board: str = "WRITE") -> WriteBoard:
    caller = Caller(MANAGER, superuser=True)
    app.create_board(caller, board, "Write bench", COLUMNS)
    keys = [app.create_story(caller, board, f"Story {n}", points=3.0) for n in range(stories)]
    return WriteBoard(keys, dict.fromkeys(keys, "TODO"))


def write_boards(app: Storyline, boards: int, stories: int) -> WriteBoard:
    """``boards`` boards (WRITEA, WRITEB, …) of ``stories`` stories each, as one WriteBoard: board
    n's stories are ``keys[n::boards]``."""
    shares = [write_board(app, stories, f"WRITE{chr(ord('A') + n)}").keys for n in range(boards)]
    keys = [key for row in zip(*shares, strict=True) for key in row]
    return WriteBoard(keys, dict.fromkeys(keys, "TODO"))


def move_direct(app: Storyline, board: WriteBoard) -> Callable[[int], object]:
    """moveStory called on the application, as the GraphQL resolver does (not a superuser)."""

    def call(index: int) -> object:
        key, target = board.next_move(index)
        return app.move_story(Caller(MANAGER), key, target)

    return call


def concurrent_moves(app: Storyline, board: WriteBoard, clients: int, seconds: float) -> tuple[int, float]:
    """Moves from ``clients`` threads for about ``seconds``, each moving its own stories: (moves, seconds)."""
    shares = [board.keys[n::clients] for n in range(clients)]

    def client(n: int, stop: threading.Event) -> int:
        moves = 0
        while not stop.is_set():
            key, target = board.next_move(moves, shares[n])
            app.move_story(Caller(MANAGER), key, target)
            moves += 1
        return moves

    return concurrently(clients, seconds, client)


# ----- rebuild -----


def rebuild_all(runtime: Runtime) -> float:
    """Seconds to rebuild every projection from the whole log (one pass over the log for all)."""
    start = time.perf_counter()
    rebuild(runtime.projector, runtime.projector.projections)
    return time.perf_counter() - start
