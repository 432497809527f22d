"""A GraphQL-over-HTTP compliant endpoint for a Strawberry schema.

``GraphQLHTTPEndpoint`` subclasses strawberry's ASGI app (``strawberry.asgi.GraphQL``)
and replaces only its HTTP handling; WebSocket subscriptions (graphql-transport-ws
and graphql-ws), GraphiQL's HTML, ``process_result`` and the JSON hooks are reused.

What the HTTP side adds over stock strawberry (GraphQL-over-HTTP spec):
- ``authenticate`` (optional) runs before anything about the request is answered, with the request
  as read (None when it could not be: that refusal is answered only once ``authenticate`` let the
  request in); it refuses a request by raising ``HTTPError`` (e.g. a 401), so a caller it refuses
  learns nothing else. On WebSocket (graphql-transport-ws only)
  ``connection_check`` does the same with the ``connection_init`` payload in
  ``context.connection_params``; a refusal closes with ``4000 + status`` (4401).
- ``Accept`` negotiation between ``application/graphql-response+json`` and
  ``application/json`` (406 when neither is acceptable).
- With ``application/graphql-response+json``, request errors (parse, validation,
  variable coercion) are answered with 400 and without a ``data`` entry.
- 405 (with ``Allow``) for mutations over GET and for methods other than GET/POST,
  415 for non-JSON POST bodies, 413 above ``max_body_size``, 400 with a GraphQL
  error body for malformed requests.
- Automatic Persisted Queries (``persisted_queries``), by POST and GET.
- ``ETag`` on GET answers that ``etag_of`` gives one (from the context, after execution), and
  ``304 Not Modified`` when the request's ``If-None-Match`` names it.
- An ``EncodedResult`` from the schema (data already JSON, say a kept answer) is answered as it is,
  without decoding and encoding it again (and without ``process_result``).

GraphiQL can open with ``graphiql_query`` in its editor and ``graphiql_headers``
in its headers editor. Its scripts and styles come from this package (``graphiql/``,
served under ``<path>/graphiql/``), not from a CDN, so it works offline.

Mount with ``endpoint.mount(app, "/graphql")`` (FastAPI or Starlette), or put
``endpoint.routes("/graphql")`` into a router's routes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, cast

import orjson
from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import (
    CannotGetOperationTypeError,
    InvalidOperationTypeError,
)
from strawberry.subscriptions import GRAPHQL_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UnsetType

from graphql import GraphQLError

if TYPE_CHECKING:
    from storyline_graphql.persisted_queries import PersistedQueries

MediaType = Literal["application/json", "application/graphql-response+json"]
JSON: Final = "application/json"
GRAPHQL_RESPONSE_JSON: Final = "application/graphql-response+json"
GRAPHIQL_ASSETS: Final = Path(__file__).parent / "graphiql"
"""GraphiQL's browser files, as the npm packages strawberry's page names ship them."""
GRAPHIQL_CDN: Final = "https://unpkg.com/"
ContextGetter = Callable[[HTTPConnection], Awaitable[Any]]
"""Receives the ``Request`` (HTTP) or the ``WebSocket`` (subscriptions)."""


class HTTPError(Exception):
    """A request refused before execution, answered as ``{"errors": [...]}``."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: Mapping[str, str] | None = None,
        *,
        code: str | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        # The error's `extensions`: `code` first, then any others.
        self.extensions = {**({"code": code} if code else {}), **(extensions or {})}

    def body(self) -> GraphQLHTTPResponse:
        error: dict[str, Any] = {"message": self.message}
        if self.extensions:
            error["extensions"] = self.extensions
        return {"errors": [error]}


Authenticate = Callable[[Any, GraphQLRequestData | None], Awaitable[None]]
"""Receives the context and the request as read (None if it could not be); raises ``HTTPError`` to
refuse it."""
ConnectionCheck = Callable[[Any], Awaitable[None]]
"""Receives the context; raises ``HTTPError`` to refuse the connection."""
HTTPErrorOf = Callable[[GraphQLError], HTTPError | None]
"""The status (and headers) a response carrying this error gets, if not 200/400."""
EtagOf = Callable[[Any], str | None]
"""Receives the context after execution; the answer's entity tag (quoted), if it has one."""


class EncodedResult(ExecutionResult):
    """A result without errors whose data is JSON already; decoded only if someone reads ``data``."""

    def __init__(self, encoded: bytes) -> None:
        self.encoded = encoded
        self.errors = None
        self.extensions = None

    @cached_property
    def data(self) -> dict[str, Any] | None:  # type: ignore[override]
        return cast(dict[str, Any] | None, orjson.loads(self.encoded))


def matches(if_none_match: str, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, as RFC 9110 asks for it)."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


"""The status (and headers) a response carrying this error gets, if not 200/400."""


class TransportWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except HTTPError as refused:  # from `connection_check`: 4401, 4403, 4429...
            await self.websocket.close(code=4000 + refused.status, reason=refused.message)


def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """Split ``type/subtype; k=v`` into a lowercased type and its parameters."""
    media, *raw_params = (part.strip() for part in value.split(";"))
    params = {}
    for param in raw_params:
        key, _, val = param.partition("=")
        params[key.strip().lower()] = val.strip().strip('"')
    return media.lower(), params


def parse_accept(accept: str) -> list[tuple[str, float]]:
    """``Accept`` media ranges with their q-values, in header order."""
    ranges = []
    for item in accept.split(","):
        media, params = parse_media_type(item)
        try:
            q = float(params.get("q", "1"))
        except ValueError:
            q = 0.0  # a malformed q-value makes the range unusable
        if media:
            ranges.append((media, q))
    return ranges


def negotiate(accept: str) -> MediaType | None:
    """Pick the response media type for an ``Accept`` header; None means 406."""
    if not accept.strip():
        return JSON  # spec: a missing Accept is treated as application/json
    ranges = parse_accept(accept)
    refused = {media for media, q in ranges if q <= 0}
    # Stable sort: for equal q the client's order decides.
    for media, _ in sorted((r for r in ranges if r[1] > 0), key=lambda r: -r[1]):
        if media in (GRAPHQL_RESPONSE_JSON, JSON):
            return cast(MediaType, media)
        if media in ("*/*", "application/*"):
            # Wildcards get application/json, the spec's default (audit 47DE).
            return next((t for t in (JSON, GRAPHQL_RESPONSE_JSON) if t not in refused), None)
    return None


def is_request_error(result: ExecutionResult) -> bool:
    """True when execution never started (parse/validation/coercion failure).

    Field errors always carry a ``path``; errors raised before execution don't.
    """
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


def dumps(data: object) -> str:
    try:
        return orjson.dumps(data).decode()
    except TypeError:  # e.g. ints wider than 64 bits: the stdlib copes
        return json.dumps(data, separators=(",", ":"))


def serve_graphiql_assets(html: str, assets_url: str) -> str:
    """The page loading its files from ``assets_url`` (this package's copies) instead of the CDN.

    Refuses a page naming a file this package lacks (a newer strawberry): GraphiQL
    would otherwise hang on "Loading..." for want of it."""
    names = re.findall(rf'(?:src|href)="{re.escape(GRAPHIQL_CDN)}([^"]+)"', html)
    missing = [name for name in names if not (GRAPHIQL_ASSETS / name).is_file()]
    if not names or missing:
        raise RuntimeError(f"GraphiQL's files are not all in {GRAPHIQL_ASSETS}: {missing or 'none named'}")
    return html.replace(GRAPHIQL_CDN, assets_url)


def customize_graphiql(html: str, query: str | None, headers: Mapping[str, str] | None) -> str:
    """Strawberry's GraphiQL page with our example query and pre-filled headers.

    A URL's own ``q`` and ``headers`` parameters still win, as in stock GraphiQL."""

    def js(text: str) -> str:
        # A JSON string is a JS string literal; escaping "<" keeps "</script>" out of the page.
        return json.dumps(text).replace("<", "\\u003c")

    if query is not None:
        example = f"const EXAMPLE_QUERY = {js(query)};"
        html, found = re.subn(r"const EXAMPLE_QUERY = `.*?`;", lambda _: example, html, flags=re.S)
        if found != 1:
            raise RuntimeError("strawberry's GraphiQL page has no EXAMPLE_QUERY to replace")
    if headers:
        old = "React.useState(parameters.headers)"
        if old not in html:
            raise RuntimeError("strawberry's GraphiQL page no longer reads parameters.headers")
        html = html.replace(old, f"React.useState(parameters.headers || {js(json.dumps(headers, indent=2))})")
    return html


class GraphQLHTTPEndpoint(GraphQL[Any, Any]):
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(
        self,
        schema: BaseSchema,
        *,
        graphiql: bool = True,
        context_getter: ContextGetter | None = None,
        root_value: Any = None,
        allow_queries_via_get: bool = True,
        max_body_size: int | None = 1024 * 1024,
        authenticate: Authenticate | None = None,
        connection_check: ConnectionCheck | None = None,
        http_error_of: HTTPErrorOf | None = None,
        graphiql_query: str | None = None,
        graphiql_headers: Mapping[str, str] | None = None,
        persisted_queries: PersistedQueries | None = None,
        etag_of: EtagOf | None = None,
        **websocket_options: Any,
    ) -> None:
        """``websocket_options`` go to ``strawberry.asgi.GraphQL`` (keep_alive,
        connection_init_wait_timeout, allowed_origins, ...). Multipart uploads,
        batching and HTTP streaming (SSE, multipart subscriptions, @defer) are
        not served by this endpoint. ``http_error_of`` picks the status of a
        response from its errors (say 503 when the storage is down, so clients
        retry); errors raised by the context getter or ``authenticate`` go
        through it too. ``persisted_queries`` serves Automatic Persisted Queries
        over GET and POST; ``etag_of`` tags GET answers for revalidation."""
        if schema.config.enable_experimental_incremental_execution:
            raise ValueError("incremental delivery is not supported over HTTP here")
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            allow_queries_via_get=allow_queries_via_get,
            **websocket_options,
        )
        if connection_check and GRAPHQL_WS_PROTOCOL in self.protocols:
            # The legacy protocol cannot refuse a connection with 4401.
            raise ValueError("connection_check needs subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,)")
        self.context_getter = context_getter
        self.root_value = root_value
        self.max_body_size = max_body_size
        self.authenticate = authenticate
        self.connection_check = connection_check
        self.http_error_of = http_error_of
        self.persisted_queries = persisted_queries
        self.etag_of = etag_of
        # Made once: strawberry reads its page from disk on every request. `routes`
        # points it at the files it serves, since only it knows their path.
        self.graphiql_page = (
            customize_graphiql(self.graphql_ide_html, graphiql_query, graphiql_headers) if graphiql else ""
        )
        self.graphiql_html = self.graphiql_page

    # --- mounting -------------------------------------------------------------

    def routes(self, path: str) -> list[BaseRoute]:
        # `methods=None`: every method reaches us, so we answer 405 ourselves.
        routes: list[BaseRoute] = [
            Route(path, self, include_in_schema=False),
            WebSocketRoute(path, self),
        ]
        if self.graphql_ide:
            assets = f"{path.rstrip('/')}/graphiql"
            self.graphiql_html = serve_graphiql_assets(self.graphiql_page, f"{assets}/")
            routes.append(Mount(assets, StaticFiles(directory=GRAPHIQL_ASSETS), name="graphiql"))
        return routes

    def mount(self, app: Starlette, path: str) -> None:
        """Serve HTTP and WebSocket on exactly ``path`` (no trailing-slash redirect)."""
        app.router.routes.extend(self.routes(path))

    # --- strawberry hooks (also used by the WebSocket handlers) ----------------

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Any:
        if self.context_getter is None:
            return await super().get_context(request, response)
        return await self.context_getter(request)

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self.graphiql_html)

    async def get_root_value(self, request: Request | WebSocket) -> Any:
        return self.root_value

    async def on_ws_connect(self, context: Any) -> UnsetType | dict[str, object] | None:
        if self.connection_check is not None:
            await self.connection_check(context)
        return await super().on_ws_connect(context)

    def encode_json(self, data: object) -> str:
        # Must stay `str`: strawberry's WebSocket adapter sends bytes as binary
        # frames, which graphql-ws clients do not accept.
        return dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    # --- HTTP -----------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)  # WebSocket: stock handling
            return
        response = await self.handle_http(Request(scope, receive))
        await response(scope, receive, send)

    async def handle_http(self, request: Request) -> Response:
        media_type: MediaType = JSON  # used for errors found before negotiation
        try:
            if request.method not in ("GET", "POST"):
                raise HTTPError(405, "GraphQL only supports GET and POST requests.", {"Allow": "GET, POST"})
            if self.graphql_ide and self._wants_graphiql(request):
                return await self.render_graphql_ide(request)
            negotiated = negotiate(request.headers.get("accept", ""))
            if negotiated is None:
                raise HTTPError(406, f"Accept must allow {JSON} or {GRAPHQL_RESPONSE_JSON}.")
            media_type = negotiated
            sub_response = await self.get_sub_response(request)
            context = await self._checked(self.get_context(request, sub_response))
            try:
                data = await self._parse(request)
            except HTTPError:
                await self._authenticate(context, None)
                raise
            await self._authenticate(context, data)
            if self.persisted_queries is not None:
                data = self.persisted_queries.resolve(data)
            return await self._execute(request, data, media_type, context, sub_response)
        except HTTPError as error:
            return self._respond(error.body(), error.status, media_type, error.headers)

    async def _authenticate(self, context: Any, data: GraphQLRequestData | None) -> None:
        if self.authenticate is not None:
            await self._checked(self.authenticate(context, data))

    async def _checked(self, step: Awaitable[Any]) -> Any:
        """The step's result; its errors answered as ``http_error_of`` says (503: storage down)."""
        try:
            return await step
        except HTTPError:
            raise
        except Exception as error:
            refusal = self._http_error([GraphQLError(str(error), original_error=error)])
            if refusal is None:
                raise
            raise refusal from error

    def _wants_graphiql(self, request: Request) -> bool:
        # A browser navigation: GET, no `query`, and HTML explicitly acceptable.
        if request.method != "GET" or "query" in request.query_params:
            return False
        accept = parse_accept(request.headers.get("accept", ""))
        return any(media == "text/html" and q > 0 for media, q in accept)

    async def _parse(self, request: Request) -> GraphQLRequestData:
        data: object
        if request.method == "GET":
            query_params = request.query_params
            data = {
                "query": query_params.get("query"),
                "operationName": query_params.get("operationName"),
                "variables": self._decode(query_params.get("variables") or "null"),
                "extensions": self._decode(query_params.get("extensions") or "null"),
            }
        else:
            media, params = parse_media_type(request.headers.get("content-type", ""))
            if media != JSON or params.get("charset", "utf-8").lower() != "utf-8":
                raise HTTPError(415, f"POST body must be {JSON} (utf-8).")
            data = self._decode(await self._read_body(request))
            if not isinstance(data, dict):
                raise HTTPError(400, "The request body must be a JSON object.")

        query, variables, operation_name, extensions = (
            data.get(key) for key in ("query", "variables", "operationName", "extensions")
        )
        # `query` may be absent (persisted-query extensions supply the document);
        # strawberry raises MissingQueryError later if nothing does.
        for name, value, kind in (
            ("query", query, str),
            ("operationName", operation_name, str),
            ("variables", variables, dict),
            ("extensions", extensions, dict),
        ):
            if value is not None and not isinstance(value, kind):
                expected = "a string" if kind is str else "an object"
                raise HTTPError(400, f"`{name}` must be {expected} or null.")
        return GraphQLRequestData(
            query=query,
            variables=variables,
            operation_name=operation_name,
            extensions=extensions,
        )

    def _decode(self, raw: str | bytes) -> Any:
        try:
            return self.decode_json(raw)
        except ValueError as e:  # JSONDecodeError and bad UTF-8 are ValueErrors
            raise HTTPError(400, "Unable to parse the request as JSON.") from e

    async def _read_body(self, request: Request) -> bytes:
        limit = self.max_body_size
        if limit is None:
            return await request.body()
        too_large = HTTPError(413, f"The request body exceeds {limit} bytes.")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large  # refuse without reading anything
        body = bytearray()
        async for chunk in request.stream():  # chunked bodies have no length
            body += chunk
            if len(body) > limit:
                raise too_large
        return bytes(body)

    async def _execute(
        self,
        request: Request,
        data: GraphQLRequestData,
        media_type: MediaType,
        context: Any,
        sub_response: Response,
    ) -> Response:
        is_get = request.method == "GET"
        allowed: set[OperationType] = (
            ({OperationType.QUERY} if self.allow_queries_via_get else set())
            if is_get
            else {OperationType.QUERY, OperationType.MUTATION}
        )
        try:
            result = await self.schema.execute(
                data.query,
                variable_values=data.variables,
                context_value=context,
                root_value=await self.get_root_value(request),
                operation_name=data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=data.extensions,
            )
        except InvalidOperationTypeError as e:
            reason = e.as_http_error_reason(request.method)
            if is_get and e.operation_type is not OperationType.SUBSCRIPTION:
                # Spec: a mutation (or a disabled GET query) over GET is a 405.
                raise HTTPError(405, reason, {"Allow": "POST"}) from e
            raise HTTPError(400, reason) from e  # subscriptions need the WebSocket
        except CannotGetOperationTypeError as e:
            raise HTTPError(400, e.as_http_error_reason()) from e
        except MissingQueryError as e:
            raise HTTPError(400, "No GraphQL query found in the request.") from e

        if isinstance(result, EncodedResult):
            return self._answer(
                request, b'{"data":' + result.encoded + b"}", 200, media_type, context, sub_response
            )
        body = await self.process_result(request, result)
        if result.errors:
            self._handle_errors(result.errors, body)  # strawberry hook (e.g. Sentry)
        status = 200
        if is_request_error(result):
            body.pop("data", None)  # GraphQL spec: no `data` if execution never began
            if media_type == GRAPHQL_RESPONSE_JSON:
                status = 400  # application/json keeps 200 for compatibility
        refusal = self._http_error(result.errors or [])
        if refusal is not None:
            return self._respond(body, refusal.status, media_type, refusal.headers, sub_response)
        return self._answer(request, body, status, media_type, context, sub_response)

    def _answer(
        self,
        request: Request,
        body: GraphQLHTTPResponse | bytes,
        status: int,
        media_type: MediaType,
        context: Any,
        sub_response: Response,
    ) -> Response:
        """The response, with an ETag (or 304) for a GET answer that has one."""
        etag = self.etag_of(context) if request.method == "GET" and status == 200 and self.etag_of else None
        if etag is None:
            return self._respond(body, status, media_type, sub_response=sub_response)
        # Private: the answer is the caller's; no-cache: revalidated every time, which costs a 304.
        headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Accept, Authorization"}
        if matches(request.headers.get("if-none-match", ""), etag):
            return self._not_modified(headers, sub_response)
        return self._respond(body, status, media_type, headers, sub_response)

    def _not_modified(self, headers: Mapping[str, str], sub_response: Response) -> Response:
        response = Response(status_code=304, headers=dict(headers))
        response.headers.raw.extend(sub_response.headers.raw)
        response.background = sub_response.background
        return response

    def _http_error(self, errors: list[GraphQLError]) -> HTTPError | None:
        """The first refusal ``http_error_of`` finds among the errors."""
        if self.http_error_of is None:
            return None
        return next((e for e in map(self.http_error_of, errors) if e is not None), None)

    def _respond(
        self,
        body: GraphQLHTTPResponse | bytes,
        status: int,
        media_type: MediaType,
        headers: Mapping[str, str] | None = None,
        sub_response: Response | None = None,
    ) -> Response:
        response = Response(
            body if isinstance(body, bytes) else self.encode_json(body),
            status_code=status,
            media_type=f"{media_type}; charset=utf-8",
            headers={"Vary": "Accept", **(headers or {})},
        )
        if sub_response is not None:  # headers/cookies/status set via context
            response.headers.raw.extend(sub_response.headers.raw)
            response.background = sub_response.background
            if sub_response.status_code:
                response.status_code = sub_response.status_code
        return response
