"""What every feature shares: Node, errors as data, Relay connections with opaque cursors."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.dataloader import DataLoader

from graphql import GraphQLError
from storyline_domain.errors import DomainError, ItemErrors
from storyline_graphql.context import Info
from storyline_graphql.loaders import CountKey, Loaders, PageKey
from storyline_service.application import Caller
from storyline_service.auth import Access
from storyline_service.projections.runner import ReadModelsBehind, ReadModelsStopped
from storyline_service.queries import Keyset, Reads, Seek, sort_key

T = TypeVar("T")
R = TypeVar("R")
C = TypeVar("C")


@strawberry.interface(description="An object with a globally unique id, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def edge_cursor(root: Edge[Any]) -> str:
    # Encoded only when asked for: a board view asks for nodes, not for a cursor per edge.
    return encode_cursor(root.kind, root.key)


@strawberry.type
class Edge(Generic[T]):
    cursor: str = strawberry.field(resolver=edge_cursor)
    node: T
    kind: strawberry.Private[str]
    key: strawberry.Private[Keyset]


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many there are in all, on every page.")
    async def total_count(self) -> int:
        return await self.count()


@strawberry.enum
class ErrorCode(Enum):
    NOT_FOUND = "NOT_FOUND"
    VALIDATION = "VALIDATION"
    CONFLICT = strawberry.enum_value(
        "CONFLICT", description="expectedVersion mismatch, or a concurrent change"
    )
    INVALID_TRANSITION = strawberry.enum_value(
        "INVALID_TRANSITION", description="e.g. starting a sprint while another is active"
    )
    WIP_LIMIT = strawberry.enum_value("WIP_LIMIT", description="moving into a column at its WIP limit")
    FORBIDDEN = "FORBIDDEN"


@strawberry.type
class UserError:
    code: ErrorCode
    message: str
    field: str | None = strawberry.field(description="The input field at fault, when one is.")


def user_error(error: DomainError) -> UserError:
    return UserError(code=ErrorCode(error.code), message=error.message, field=error.field)


def validation_error(message: str) -> GraphQLError:
    """For bad arguments of query fields (mutations answer with a UserError instead)."""
    return GraphQLError(message, extensions={"code": "VALIDATION"})


# ----- mutations -----


@strawberry.input
class MutationInput:
    client_mutation_id: str | None = strawberry.field(
        default=None,
        description="Idempotency key: the same key with the same input replays the first result.",
    )


@strawberry.input
class BackfillInput(MutationInput):
    occurred_at: datetime | None = strawberry.field(
        default=None,
        description=(
            "Backfills history; the time of recording when absent. Needs the IMPORT permission: the ADMIN "
            "role on the board, or an admin token (for createBoard, an admin token)."
        ),
    )


@strawberry.input
class VersionedInput(BackfillInput):
    expected_version: int | None = strawberry.field(
        default=None, description="Optimistic concurrency: a mismatch is a CONFLICT and records nothing."
    )


@dataclass(frozen=True)
class Reread(Generic[R]):
    """The object a mutation's payload shows, read in the same trip as its command and handed to
    the request's fresh loaders, so that the payload costs no second trip."""

    fetch: Callable[[Reads, Sequence[str]], dict[str, R]]  # by key, as the loader reads
    loader: Callable[[Loaders], DataLoader[str, R | None]]


async def run_command(
    info: Info,
    input: MutationInput,
    command: Callable[[Caller], str],
    *,
    changes_roles: bool = False,
    reread: Reread[Any] | None = None,
) -> tuple[str | None, list[UserError]]:
    """Runs one application command: its result (a key or id), or the rule it broke.

    ``changes_roles``: the command may change who may do what (board commands), so
    the roles are read again for the fields after it."""
    context = info.context
    failure = context.runtime.projector.failure
    if failure is not None:
        # Recording more while the read models cannot follow would only widen the gap.
        raise GraphQLError(
            f"changes are refused while the read models are stopped: {failure.describe()}",
            extensions={"code": "READ_MODELS_STOPPED", "failure": failure.as_dict()},
        )
    caller = context.caller(input.client_mutation_id, getattr(input, "occurred_at", None))

    def run() -> tuple[str, Access, Any]:
        result = command(caller)
        access = Access.load(context.reads, context.signed_in) if changes_roles else context.access
        return result, access, reread.fetch(context.reads, [result]).get(result) if reread else None

    try:
        # Commands block on the database; keep them off the event loop (one trip to a worker thread).
        result, access, row = await asyncio.to_thread(run)
    except ItemErrors as error:  # a bulk command: one error per failing item
        return None, [user_error(item) for item in error.errors]
    except DomainError as error:
        return None, [user_error(error)]
    except ReadModelsBehind as error:
        # The change was recorded: retrying without a clientMutationId would repeat it.
        code = "READ_MODELS_STOPPED" if isinstance(error, ReadModelsStopped) else "READ_MODELS_BEHIND"
        raise GraphQLError(str(error), extensions={"code": code}) from None
    # Later fields of this request must not see data (or roles) loaded before the change.
    context.start_reads(access)
    if reread is not None and row is not None and access.can_read(row.board_key):
        reread.loader(context.loaders).prime(result, row)
    return result, []


# ----- pagination -----


@dataclass(frozen=True)
class PageArgs:
    """A connection's arguments: `first` and `after` read forward, `last` and `before` backward."""

    first: int | None
    after: str | None = None
    last: int | None = None
    before: str | None = None


@dataclass(frozen=True)
class PageRequest:
    size: int
    seek: Seek


def encode_cursor(kind: str, key: Keyset) -> str:
    raw = json.dumps([kind, *key], separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, kind: str, arity: int) -> list[Any]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeError):
        decoded = None
    if not isinstance(decoded, list) or len(decoded) != arity + 1 or decoded[0] != kind:
        raise ValueError(cursor)
    return decoded[1:]


def page_request(
    info: Info,
    args: PageArgs,
    kind: str,
    order: Sequence[Any],
    parse: Callable[[list[Any]], Keyset] = tuple,
    *,
    descending: bool = False,
) -> PageRequest:
    """Checks the page size against the ceiling (refused, never clamped) and decodes the cursor.

    `last` (or `before`) reads backward; `first` has a default, so `last` wins over it."""
    backward = args.last is not None or args.before is not None
    size_name, cursor_name = ("last", "before") if backward else ("first", "after")
    size = args.last if args.last is not None else args.first
    cursor = args.before if backward else args.after
    ceiling = info.context.max_page_size
    if backward and args.after is not None:
        raise validation_error("`after` pages forward with `first`; `before` pages backward with `last`")
    if size is None:
        raise validation_error(f"`{size_name}` must be a number; leave it out for the default page size")
    if size < 0:
        raise validation_error(f"`{size_name}` must not be negative (got {size})")
    if size > ceiling:
        raise validation_error(
            f"`{size_name}` may be at most {ceiling} (got {size}); page with `{cursor_name}`"
        )
    if cursor is None:
        return PageRequest(size, Seek(None, backward, descending))
    try:
        past = parse(decode_cursor(cursor, kind, len(order)))
    except (TypeError, ValueError):
        raise validation_error(f"`{cursor_name}` is not a cursor of this list: {cursor!r}") from None
    return PageRequest(size, Seek(past, backward, descending))


def make_connection(
    rows: Sequence[R],
    page: PageRequest,
    kind: str,
    order: Sequence[Any],
    node: Callable[[R], T],
    count: Callable[[], Awaitable[int]],
) -> Connection[T]:
    """``rows`` holds up to one row more than the page, which tells whether another page follows
    (or, reading backward, precedes): that row is the one farthest from the cursor."""
    more = len(rows) > page.size
    shown = rows[max(0, len(rows) - page.size) :] if page.seek.backward else rows[: page.size]
    edges = [Edge(node=node(row), kind=kind, key=sort_key(row, order)) for row in shown]
    # Past a cursor there is at least the row the cursor came from.
    from_cursor = page.seek.past is not None
    page_info = PageInfo(
        has_next_page=from_cursor if page.seek.backward else more,
        has_previous_page=more if page.seek.backward else from_cursor,
        start_cursor=edge_cursor(edges[0]) if edges else None,
        end_cursor=edge_cursor(edges[-1]) if edges else None,
    )
    return Connection(edges=edges, page_info=page_info, count=count)


async def load_connection(
    pages: DataLoader[PageKey[C], list[R]],
    counts: DataLoader[CountKey[C], int],
    *,
    partition: tuple[str, ...],
    value: tuple[Any, ...],
    criteria: C,
    page: PageRequest,
    kind: str,
    order: Sequence[Any],
    node: Callable[[R], T],
) -> Connection[T]:
    """One page of a list that many objects of a response may ask for: loaded in batches."""
    rows = await pages.load(PageKey(partition, value, criteria, page.size + 1, page.seek))
    count_key = CountKey(partition, value, criteria)
    return make_connection(rows, page, kind, order, node, lambda: counts.load(count_key))
