"""Automatic Persisted Queries (APQ), as Apollo Client and urql speak it.

A client sends ``extensions.persistedQuery = {"version": 1, "sha256Hash": ...}``:
- without ``query``: the document stored under that hash runs; if there is none,
  the answer is the GraphQL error ``PersistedQueryNotFound`` (code
  ``PERSISTED_QUERY_NOT_FOUND``) and the client sends the query with its hash;
- with ``query``: the document is stored under its hash once the hash matches it.

The store is a bounded LRU in each process: a miss in another process, or
after a restart or an eviction, only costs the client one more round trip.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Final

from eventsourcing.application import LRUCache
from strawberry.http import GraphQLRequestData

from storyline_graphql.endpoint import HTTPError

SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")
# Neither a miss nor "not supported" may be kept by an HTTP cache: the next GET, same URL, may succeed.
NO_STORE: Final = {"Cache-Control": "no-store"}


class PersistedQueries:
    """Documents by their SHA-256; ``size`` 0 turns APQ off (clients are told so and stop hashing)."""

    def __init__(self, size: int) -> None:
        self.documents: LRUCache[str, str] | None = LRUCache(size) if size > 0 else None

    def document(self, data: GraphQLRequestData) -> str | None:
        """The document the request runs, if known already; stores nothing, refuses nothing."""
        if data.query is not None or self.documents is None:
            return data.query
        persisted = (data.extensions or {}).get("persistedQuery")
        sha256 = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        try:
            return self.documents.get(sha256) if isinstance(sha256, str) else None
        except KeyError:
            return None

    def resolve(self, data: GraphQLRequestData) -> GraphQLRequestData:
        """The request with the document to run; raises ``HTTPError`` on a miss or a bad hash."""
        persisted = (data.extensions or {}).get("persistedQuery")
        if persisted is None:
            return data
        if self.documents is None:
            if data.query is not None:
                return data  # a client that sends the document too is served as usual
            raise HTTPError(200, "PersistedQueryNotSupported", NO_STORE, code="PERSISTED_QUERY_NOT_SUPPORTED")
        fields = persisted if isinstance(persisted, dict) else {}
        version, sha256 = fields.get("version"), fields.get("sha256Hash")
        if version != 1 or not isinstance(sha256, str) or not SHA256_HEX.fullmatch(sha256):
            raise HTTPError(
                400,
                "`extensions.persistedQuery` must be {version: 1, sha256Hash: 64 lowercase hex digits}.",
                code="BAD_REQUEST",
            )
        if data.query is None:
            try:
                return replace(data, query=self.documents.get(sha256))
            except KeyError:
                raise HTTPError(
                    200, "PersistedQueryNotFound", NO_STORE, code="PERSISTED_QUERY_NOT_FOUND"
                ) from None
        if hashlib.sha256(data.query.encode()).hexdigest() != sha256:
            raise HTTPError(
                400,
                "`extensions.persistedQuery.sha256Hash` is not the SHA-256 of `query`; nothing was stored.",
                code="PERSISTED_QUERY_HASH_MISMATCH",
            )
        self.documents.put(sha256, data.query)
        return data
