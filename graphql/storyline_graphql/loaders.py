"""Per-request DataLoaders: nested fields load in batches, one query per kind of list."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from strawberry.dataloader import DataLoader

from storyline_service.queries import AuditCriteria, EpicTotals, Keyset, Reads, StoryCriteria
from storyline_service.readmodels import (
    AuditEntryRow,
    BoardRow,
    ColumnRow,
    EpicRow,
    SprintRow,
    StoryRow,
)

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
    after: Keyset | None


@dataclass(frozen=True)
class CountKey(Generic[C]):
    partition: tuple[str, ...]
    value: tuple[Any, ...]
    criteria: C


Pages = Callable[[Sequence[str], Sequence[tuple[Any, ...]], C, int, Keyset | None], dict[Any, list[R]]]
Counts = Callable[[Sequence[str], Sequence[tuple[Any, ...]], C], dict[Any, int]]


def by_key(fetch: Callable[[Sequence[K]], dict[K, V]]) -> DataLoader[K, V | None]:
    async def load(keys: list[K]) -> list[V | None]:
        found = await asyncio.to_thread(fetch, keys)
        return [found.get(key) for key in keys]

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
            groups[(key.partition, key.criteria, key.limit, key.after)].append(key.value)
        found: dict[tuple[Any, ...], list[R]] = {}
        for (partition, criteria, limit, after), values in groups.items():
            pages = await asyncio.to_thread(
                fetch, partition, list(dict.fromkeys(values)), criteria, limit, after
            )
            for value, rows in pages.items():
                found[(partition, criteria, limit, after, value)] = rows
        return [found[(k.partition, k.criteria, k.limit, k.after, k.value)] for k in keys]

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


class Loaders:
    """Created per request, so nothing is cached across requests."""

    def __init__(self, reads: Reads) -> None:
        self.reads = reads
        self.board: DataLoader[str, BoardRow | None] = by_key(reads.boards_by_key)
        self.columns: DataLoader[str, list[ColumnRow]] = listed(reads.columns_of)
        self.story: DataLoader[str, StoryRow | None] = by_key(reads.stories_by_key)
        self.sprint: DataLoader[str, SprintRow | None] = by_key(reads.sprints_by_id)
        self.epic: DataLoader[str, EpicRow | None] = by_key(reads.epics_by_key)
        self.epics: DataLoader[str, list[EpicRow]] = listed(reads.epics_of)
        self.epic_totals: DataLoader[str, EpicTotals | None] = by_key(reads.epic_totals)
        self.story_pages: DataLoader[PageKey[StoryCriteria], list[StoryRow]] = paged(reads.story_pages)
        self.story_counts: DataLoader[CountKey[StoryCriteria], int] = counted(reads.story_counts)
        self.audit_pages: DataLoader[PageKey[AuditCriteria], list[AuditEntryRow]] = paged(reads.audit_pages)
        self.audit_counts: DataLoader[CountKey[AuditCriteria], int] = counted(reads.audit_counts)
        self.sprint_pages: DataLoader[PageKey[str | None], list[SprintRow]] = paged(reads.sprint_pages)
        self.sprint_counts: DataLoader[CountKey[str | None], int] = counted(reads.sprint_counts)
