"""Per-request DataLoaders: nested fields load in batches, one query per kind of list."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine
from strawberry.dataloader import DataLoader

from storyline_domain.errors import NotFoundError
from storyline_service import analytics
from storyline_service.auth import Access
from storyline_service.burndown import BurnPoint
from storyline_service.eventlog import chain
from storyline_service.queries import AuditCriteria, EpicTotals, Reads, Record, Seek, StoryCriteria

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
C = TypeVar("C", bound=Hashable)
R = TypeVar("R")


@dataclass(frozen=True)
class PageKey(Generic[C]):
    """One page of one list: the list is the rows whose ``partition`` columns equal ``value``."""

    partition: tuple[str, ...]
    value: tuple[Any, ...]
    criteria: C
    limit: int
    seek: Seek


@dataclass(frozen=True)
class CountKey(Generic[C]):
    partition: tuple[str, ...]
    value: tuple[Any, ...]
    criteria: C


Pages = Callable[[Sequence[str], Sequence[tuple[Any, ...]], C, int, Seek], dict[Any, list[R]]]
Counts = Callable[[Sequence[str], Sequence[tuple[Any, ...]], C], dict[Any, int]]


def by_key(
    fetch: Callable[[Sequence[K]], dict[K, V]], visible: Callable[[V], bool] | None = None
) -> DataLoader[K, V | None]:
    """Rows ``visible`` refuses load as None, as if they did not exist."""

    async def load(keys: list[K]) -> list[V | None]:
        found = await asyncio.to_thread(fetch, keys)
        rows = [found.get(key) for key in keys]
        return [row if row is None or visible is None or visible(row) else None for row in rows]

    return DataLoader(load_fn=load)


def listed(fetch: Callable[[Sequence[K]], dict[K, list[V]]]) -> DataLoader[K, list[V]]:
    async def load(keys: list[K]) -> list[list[V]]:
        found = await asyncio.to_thread(fetch, keys)
        return [found.get(key, []) for key in keys]

    return DataLoader(load_fn=load)


def paged(fetch: Pages[C, R]) -> DataLoader[PageKey[C], list[R]]:
    """Pages of many lists of the same shape load in one query."""

    async def load(keys: list[PageKey[C]]) -> list[list[R]]:
        groups: dict[tuple[Any, ...], list[tuple[Any, ...]]] = defaultdict(list)
        for key in keys:
            groups[(key.partition, key.criteria, key.limit, key.seek)].append(key.value)
        found: dict[tuple[Any, ...], list[R]] = {}
        for (partition, criteria, limit, seek), values in groups.items():
            pages = await asyncio.to_thread(
                fetch, partition, list(dict.fromkeys(values)), criteria, limit, seek
            )
            for value, rows in pages.items():
                found[(partition, criteria, limit, seek, value)] = rows
        return [found[(k.partition, k.criteria, k.limit, k.seek, k.value)] for k in keys]

    return DataLoader(load_fn=load)


def counted(fetch: Counts[C]) -> DataLoader[CountKey[C], int]:
    async def load(keys: list[CountKey[C]]) -> list[int]:
        groups: dict[tuple[Any, ...], list[tuple[Any, ...]]] = defaultdict(list)
        for key in keys:
            groups[(key.partition, key.criteria)].append(key.value)
        found: dict[tuple[Any, ...], int] = {}
        for (partition, criteria), values in groups.items():
            counts = await asyncio.to_thread(fetch, partition, list(dict.fromkeys(values)), criteria)
            for value, count in counts.items():
                found[(partition, criteria, value)] = count
        return [found[(k.partition, k.criteria, k.value)] for k in keys]

    return DataLoader(load_fn=load)


SprintAnalysis = tuple[analytics.SprintReport, list[BurnPoint]]


def sprint_analyses(engine: Engine, sprint_ids: Sequence[str]) -> dict[str, SprintAnalysis]:
    """Each sprint's report and burndown from one read of its history: asked together, read once.

    A sprint whose history is not projected yet is left out, rather than failing the whole batch."""
    found = {}
    for sprint_id in sprint_ids:
        with suppress(NotFoundError):
            found[sprint_id] = analytics.sprint_report_and_burndown(engine, sprint_id)
    return found


class Loaders:
    """Created per request, so nothing is cached across requests.

    Every object reached by key or id (a root field, ``node(id:)``, a story's
    board, sprint or epic) comes through here, and only from boards ``access``
    allows. Lists hang off an object already loaded, so they are on its board.
    """

    def __init__(self, reads: Reads, access: Access) -> None:
        self.reads = reads
        self.access = access

    # Each loader is made on first use: a request makes a fresh set after signing in and after
    # each command, and most use two or three of them.

    @cached_property
    def columns(self) -> DataLoader[str, list[Record]]:
        return listed(self.reads.columns_of)

    @cached_property
    def archived_board(self) -> DataLoader[str, Record | None]:
        """Of boards already loaded (so on boards ``access`` allows)."""
        return by_key(self.reads.archived_boards)

    @cached_property
    def board(self) -> DataLoader[str, Record | None]:
        return DataLoader(load_fn=partial(self._boards, self.access))

    @cached_property
    def story(self) -> DataLoader[str, Record | None]:
        return by_key(self.reads.stories_by_key, self._on_board)

    @cached_property
    def sprint(self) -> DataLoader[str, Record | None]:
        return by_key(self.reads.sprints_by_id, self._on_board)

    @cached_property
    def epic(self) -> DataLoader[str, Record | None]:
        return by_key(self.reads.epics_by_key, self._on_board)

    @cached_property
    def epics(self) -> DataLoader[str, list[Record]]:
        return listed(self.reads.epics_of)

    @cached_property
    def members(self) -> DataLoader[str, list[Record]]:
        return listed(self.reads.members_of)

    @cached_property
    def epic_totals(self) -> DataLoader[str, EpicTotals | None]:
        """Totals of epics already loaded (so on boards ``access`` allows)."""
        return by_key(self.reads.epic_totals)

    @cached_property
    def chain_hashes(self) -> DataLoader[int, str | None]:
        """Links of audit entries already loaded (so on boards ``access`` allows)."""
        return by_key(partial(chain.hashes, self.reads.engine))

    @cached_property
    def story_pages(self) -> DataLoader[PageKey[StoryCriteria], list[Record]]:
        return paged(self.reads.story_pages)

    @cached_property
    def story_counts(self) -> DataLoader[CountKey[StoryCriteria], int]:
        return counted(self.reads.story_counts)

    @cached_property
    def audit_pages(self) -> DataLoader[PageKey[AuditCriteria], list[Record]]:
        return paged(self.reads.audit_pages)

    @cached_property
    def audit_counts(self) -> DataLoader[CountKey[AuditCriteria], int]:
        return counted(self.reads.audit_counts)

    @cached_property
    def sprint_pages(self) -> DataLoader[PageKey[str | None], list[Record]]:
        return paged(self.reads.sprint_pages)

    @cached_property
    def sprint_counts(self) -> DataLoader[CountKey[str | None], int]:
        return counted(self.reads.sprint_counts)

    @cached_property
    def story_times(self) -> DataLoader[str, analytics.StoryTimes | None]:
        """Analytics of stories already loaded (so on boards ``access`` allows)."""
        return by_key(partial(analytics.story_times, self.reads.engine))

    @cached_property
    def sprint_analysis(self) -> DataLoader[str, SprintAnalysis | None]:
        return by_key(partial(sprint_analyses, self.reads.engine))

    def _on_board(self, row: Record) -> bool:
        return self.access.can_read(row.board_key)

    async def _boards(self, access: Access, keys: list[str]) -> list[Record | None]:
        """Boards, with their columns read in the same trip: a board is nearly always shown with
        its columns, and reading them here saves the board view a round of waiting."""

        def read() -> tuple[dict[str, Record], dict[str, list[Record]]]:
            boards = self.reads.boards_by_key(keys)
            return boards, self.reads.columns_of([key for key in boards if access.can_read(key)])

        boards, columns = await asyncio.to_thread(read)
        for key, board_columns in columns.items():
            self.columns.prime(key, board_columns)
        return [
            board if board is not None and access.can_read(board.key) else None
            for board in map(boards.get, keys)
        ]
