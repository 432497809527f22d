"""The largest request the cost limit admits, on the largest data the limits allow, stays within a
stated memory bound; one object more is refused before it runs (README, "Configuration")."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from graphql import GraphQLSchema, parse
from storyline_graphql.cost import list_bounds, query_cost, text_bounds
from storyline_graphql.schema import MAX_ALIASES, build_schema
from storyline_service.application import Caller
from storyline_service.settings import Settings
from tests.contract.documents import ROOT, definitions
from tests.graphql.conftest import Server, serve

RSS_BOUND_MB = 512  # README, "Configuration"
MAX_PAGE = Settings().max_page_size
BOARD = "BIG"
WIDE = "😀"  # four bytes in UTF-8 and in a Python string: the most memory per character


@pytest.fixture(scope="module", params=["sqlite"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(request, tmp_path_factory, {})


@cache
def schema_of(settings: Settings) -> GraphQLSchema:
    return build_schema(settings)._schema


def cost(query: str, settings: Settings) -> int:
    schema = schema_of(settings)
    [operation] = parse(query).definitions
    return query_cost(
        schema,
        operation,  # type: ignore[arg-type]
        {},
        {},
        settings.max_page_size,
        list_bounds(settings),
        text_bounds(settings),
    )


def fill_board(server: Server) -> None:
    """A page of stories with every text at its longest, written by the application beside the server."""
    settings, app = server.settings, server.runtime.app
    alice = Caller("alice")
    app.create_board(alice, BOARD, "Biggest")
    description = WIDE * text_bounds(settings)[("Story", "description")]
    labels = [
        f"{n:02}" + WIDE * (settings.max_label_length - 2) for n in range(settings.max_labels_per_story)
    ]
    for _ in range(settings.max_page_size):
        key = app.create_story(alice, BOARD, WIDE * 200, description=description, labels=labels)
        app.block_story(alice, key, WIDE * text_bounds(settings)[("Story", "blockedReason")])
    last = f'{{ story(key: "{BOARD}-{settings.max_page_size}") {{ blocked }} }}'
    deadline = time.monotonic() + 60
    while server.request(last)["data"]["story"] != {"blocked": True}:  # the server's read models
        assert time.monotonic() < deadline, "the server did not project the stories"
        time.sleep(0.1)


def request(nodes: str, pages: int, copies: list[str], rest: int) -> str:
    """``pages`` pages of stories (all but one aliased), ``copies`` of leaves of one story, and a last
    page of ``rest`` stories."""
    first = f"stories(first: {{}}) {{{{ edges {{{{ node {{{{ {nodes} }}}} }}}} }}}}"
    paged = [f"p{n}: " + first.format(MAX_PAGE) for n in range(pages)]
    last = "backlog" + first.removeprefix("stories").format(rest)
    return (
        f'{{ board(key: "{BOARD}") {{ {" ".join(paged)} {last} }} '
        f'story(key: "{BOARD}-1") {{ key {" ".join(copies)} }} }}'
    )


def largest(nodes: str, leaf: str, settings: Settings) -> tuple[str, str]:
    """As many full pages as the cost limit and the aliases allow, copies of ``leaf``, and the
    longest last page that still fits: the largest request admitted, and that with one story more."""

    def fits(query: str) -> bool:
        return cost(query, settings) <= settings.max_query_cost

    def copy(n: int) -> str:
        return f"c{n}: {leaf}"

    pages, copies = 0, list[str]()
    while pages < MAX_ALIASES and fits(request(nodes, pages + 1, copies, 0)):
        pages += 1
    while pages + len(copies) < MAX_ALIASES and fits(request(nodes, pages, [*copies, copy(len(copies))], 0)):
        copies.append(copy(len(copies)))
    # The cost grows by the same amount with each story of the last page.
    empty = cost(request(nodes, pages, copies, 0), settings)
    each = cost(request(nodes, pages, copies, 1), settings) - empty
    rest = min(MAX_PAGE, (settings.max_query_cost - empty) // each)
    return request(nodes, pages, copies, rest), request(nodes, pages, copies, rest + 1)


def test_long_text_costs_one_object_per_500_characters_it_may_hold() -> None:
    settings = Settings()
    page = '{ board(key: "X") { stories(first: 500) { edges { node { key NODE } } } } }'
    assert cost(page.replace("NODE", "title"), settings) == 1 + 1 + 1 + 500
    assert cost(page.replace("NODE", "description"), settings) == 1 + 1 + 1 + 500 + 500 * 40
    assert cost(page.replace("NODE", "labels blockedReason"), settings) == 1 + 1 + 1 + 500 + 500 * 3
    assert cost('{ story(key: "X-1") { description } }', Settings(max_page_size=10)) == 1 + 40
    # Copies under other aliases count again, a short leaf at least one; the same key is one answer.
    assert cost('{ story(key: "X-1") { title a: title b: title } }', settings) == 1 + 2
    assert cost('{ story(key: "X-1") { a: description a: description } }', settings) == 1 + 40
    assert cost('{ story(key: "X-1") { description a: description } }', settings) == 1 + 80


EXAMPLES = ROOT / "frontend-contract" / "examples"


def test_every_contract_operation_stays_far_below_the_cost_limit() -> None:
    """With the variables its examples send, and with only its required ones (page sizes at their
    defaults): variables that don't coerce would be costed at the largest page."""
    settings = Settings()
    schema = schema_of(settings)
    operations, fragments = definitions()
    bounds, texts = list_bounds(settings), text_bounds(settings)
    sent: dict[str, list[dict[str, object]]] = {name: [] for name in operations}
    for example in EXAMPLES.glob("*.json"):
        call = json.loads(example.read_text())
        sent[call["operation"]].append(call["variables"])
    for name, operation in operations.items():
        assert sent[name], f"{name} has no example"
        for variables in sent[name]:
            required = {
                key: value
                for key, value in variables.items()
                if any(
                    definition.variable.name.value == key and definition.default_value is None
                    for definition in operation.variable_definitions or ()
                )
            }
            for costed in (variables, required):
                spent = query_cost(
                    schema, operation, fragments, costed, settings.max_page_size, bounds, texts
                )
                assert spent <= settings.max_query_cost / 2, (name, costed)


def test_the_largest_admitted_request_stays_within_the_memory_bound(server: Server) -> None:
    assert server.process is not None
    settings = server.settings
    fill_board(server)
    shapes = {  # the most characters, and the most objects
        "long text": ("title description labels blockedReason", "description"),
        "many objects": ("key title", "title"),
    }
    for name, (nodes, leaf) in shapes.items():
        admitted, refused = largest(nodes, leaf, settings)
        assert cost(admitted, settings) <= settings.max_query_cost < cost(refused, settings)
        response = server.client().post("/graphql", json={"query": admitted}, timeout=120)
        assert response.status_code == 200 and "errors" not in response.json(), name
        board = response.json()["data"]["board"]
        assert [len(page["edges"]) for page in board.values()] == [
            *[settings.max_page_size] * (len(board) - 1),
            int(admitted.split("backlog(first: ")[1].split(")")[0]),
        ]
        [error] = server.request(refused)["errors"]
        assert error["extensions"]["code"] == "QUERY_TOO_COSTLY", name
    peak = peak_rss_mb(server.process.pid)
    assert peak < RSS_BOUND_MB, f"the server peaked at {peak:.0f} MB"


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")
