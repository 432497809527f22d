"""Relay paging both ways (first/after, last/before) over a short list held whole in memory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from storyline_graphql.common import Connection, Edge, PageInfo, decode_cursor, edge_cursor, validation_error
from storyline_graphql.context import Info
from storyline_service.queries import Keyset

R = TypeVar("R")
T = TypeVar("T")


def _position(rows: Sequence[R], keys: list[Keyset], cursor: str, kind: str, arity: int, name: str) -> int:
    try:
        wanted = tuple(decode_cursor(cursor, kind, arity))
    except Exception:
        raise validation_error(f"`{name}` is not a cursor of this list: {cursor!r}") from None
    if wanted not in keys:
        raise validation_error(f"`{name}` names no item of this list: {cursor!r}")
    return keys.index(wanted)


def _check(info: Info, name: str, count: int | None) -> None:
    ceiling = info.context.max_page_size
    if count is not None and not 0 <= count <= ceiling:
        raise validation_error(f"`{name}` must be 0 to {ceiling} (got {count})")


def slice_connection(
    info: Info,
    rows: Sequence[R],
    kind: str,
    key: Callable[[R], Keyset],
    node: Callable[[R], T],
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[T]:
    """As the Relay specification slices: after/before narrow the list, then first, then last."""
    _check(info, "first", first)
    _check(info, "last", last)
    keys = [tuple(key(row)) for row in rows]
    arity = len(keys[0]) if keys else 1
    start, end = 0, len(rows)
    if after is not None and rows:
        start = _position(rows, keys, after, kind, arity, "after") + 1
    if before is not None and rows:
        end = _position(rows, keys, before, kind, arity, "before")
    end = max(start, end)
    if first is not None:
        end = min(end, start + first)
    if last is not None:
        start = max(start, end - last)
    edges = [Edge(node=node(row), kind=kind, key=keys[i]) for i, row in enumerate(rows) if start <= i < end]
    page_info = PageInfo(
        has_next_page=end < len(rows),
        has_previous_page=start > 0,
        start_cursor=edge_cursor(edges[0]) if edges else None,
        end_cursor=edge_cursor(edges[-1]) if edges else None,
    )

    async def count() -> int:
        return len(rows)

    counter: Callable[[], Awaitable[int]] = count
    return Connection(edges=edges, page_info=page_info, count=counter)


__all__ = ["Any", "slice_connection"]
