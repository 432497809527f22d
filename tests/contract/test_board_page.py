"""A team's daily loop on the reference board page, clicked and dragged through in headless Chromium.

Each test drives one scenario of tests/clients/board-loop.mjs against its own demo
server, then checks what the page showed against what the server recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graphql.utilities import get_operation_ast

from graphql import FragmentDefinitionNode, parse
from storyline_graphql.cost import list_bounds, query_cost, rate_units
from storyline_graphql.schema import build_schema
from storyline_service.settings import Settings
from tests.contract.documents import documents
from tests.contract.live import BOARD, DemoServer, demo_server
from tests.contract.pages import run_page

pytestmark = pytest.mark.browser


@pytest.fixture
def fresh_demo(tmp_path: Path) -> Iterator[DemoServer]:
    """A demo board of its own: the scenarios start, complete and fill sprints and columns."""
    with demo_server(tmp_path / "demo") as server:
        yield server


def drive(
    demo: DemoServer,
    clients: Path,
    chromium: str,
    artifacts: Path,
    folder: Path,
    scenario: str,
    **extra: object,
) -> dict[str, Any]:
    return run_page(
        "board-loop.mjs",
        demo,
        clients,
        chromium,
        artifacts,
        folder,
        f"board-{scenario}",
        scenario=scenario,
        **extra,
    )


def story(demo: DemoServer, key: str) -> dict[str, Any]:
    found: dict[str, Any] = demo.client().data("StoryDetail", {"key": key, "historyFirst": 1})["story"]
    return found


def board_view(demo: DemoServer, board: str = BOARD) -> dict[str, Any]:
    view: dict[str, Any] = demo.client().data("BoardView", {"boardKey": board})["board"]
    return view


def by_rank(cards: list[dict[str, Any]], column: str) -> list[str]:
    return [card["key"] for card in sorted(cards, key=lambda c: c["rank"]) if card["status"]["key"] == column]


def test_daily_loop_create_edit_block_unblock_and_rank_by_drag(
    fresh_demo: DemoServer, node_clients: Path, chromium: str, artifacts: Path, tmp_path: Path
) -> None:
    demo = fresh_demo
    latest = demo.client().data("BoardActivity", {"boardKey": BOARD, "last": 20})["board"]["history"]
    result = drive(demo, node_clients, chromium, artifacts, tmp_path, "daily")

    # The Activity panel opened with the board's 20 latest entries, newest first.
    assert result["activityOnLoad"] == [edge["node"]["id"] for edge in reversed(latest["edges"])]
    # A blocked card says why, in plain sight.
    stuck = story(demo, result["stuck"]["key"])
    assert result["stuck"]["visible"] and result["stuck"]["reason"] == f"Blocked: {stuck['blockedReason']}"

    created = story(demo, result["created"])
    assert (created["title"], created["points"]) == ("Refund by SEPA transfer", 8.0)
    assert "Refund by SEPA transfer (8 pt · bob)" in result["edited"]
    assigned = demo.client().data(
        "AuditTrail", {"filter": {"storyKey": created["key"], "eventTypes": ["StoryAssigned"]}, "first": 10}
    )["auditLog"]["edges"]
    # The page assigned it to bob; later, while the page was not live, bob handed it to carol.
    assert [(e["node"]["actor"], e["node"]["changes"][0]["to"]) for e in assigned] == [
        ("admin", "bob"),
        ("bob", "carol"),
    ]

    blocked = story(demo, result["blocked"]["key"])
    assert result["blocked"] == {
        "key": blocked["key"],
        "reason": "Blocked: the bank's sandbox is down",
        "visible": True,
    }
    assert blocked["blocked"] is False and blocked["blockedReason"] is None  # unblocked again
    log = demo.client().data(
        "AuditTrail",
        {
            "filter": {"storyKey": blocked["key"], "eventTypes": ["StoryBlocked", "StoryUnblocked"]},
            "first": 10,
        },
    )["auditLog"]["edges"]
    assert [e["node"]["eventType"] for e in log][-2:] == ["StoryBlocked", "StoryUnblocked"]

    cards = [edge["node"] for edge in board_view(demo)["activeSprint"]["stories"]["edges"]]
    ranked, moved = result["ranked"], result["movedBelow"]
    assert ranked["order"][0] == ranked["key"]
    # (The card moved next left the column after the ranking was read.)
    assert by_rank(cards, ranked["column"]) == [key for key in ranked["order"] if key != moved["key"]]
    assert by_rank(cards, moved["column"]) == moved["order"]
    order = moved["order"]
    assert order.index(moved["key"]) == order.index(moved["after"]) + 1

    # Back from live updates off: the change made meanwhile shows once, and nothing shows twice.
    assert result["caughtUp"] == 1
    assert len(result["activityIds"]) == len(set(result["activityIds"]))


def test_sprint_planning_by_drag_start_and_complete(
    fresh_demo: DemoServer, node_clients: Path, chromium: str, artifacts: Path, tmp_path: Path
) -> None:
    demo = fresh_demo
    active = board_view(demo)["activeSprint"]
    result = drive(demo, node_clients, chromium, artifacts, tmp_path, "planning")

    assert result["completed"] == active["name"]
    assert result["proposedDates"][0] > active["endDate"]
    # The server records the add twice, the sprint's side and the story's; Activity says it once.
    sides = {"boardKey": BOARD, "eventTypes": ["SprintStoryAdded", "StorySprintChanged"], "actor": "admin"}
    recorded = demo.client().data("AuditTrail", {"filter": sides, "first": 100})["auditLog"]["edges"]
    planned = [e["node"] for e in recorded if result["planned"] in e["node"]["summary"]]
    assert [e["eventType"] for e in planned][:2] in (
        ["SprintStoryAdded", "StorySprintChanged"],
        ["StorySprintChanged", "SprintStoryAdded"],
    )
    assert result["addedEntries"] == 1, "each add-to-sprint shows once in Activity"
    sprints = demo.client().data("Sprints", {"boardKey": BOARD})["board"]["sprints"]["edges"]
    states = {edge["node"]["name"]: edge["node"] for edge in sprints}
    assert states[active["name"]]["state"] == "CLOSED"
    sprint5 = states["Sprint 5"]
    assert sprint5["state"] == "CLOSED" and sprint5["startedAt"] and sprint5["completedAt"]
    its_log = {
        "sprintId": sprint5["id"],
        "eventTypes": ["SprintStoryAdded", "SprintStarted", "SprintCompleted"],
    }
    log = demo.client().data("AuditTrail", {"filter": its_log})["auditLog"]["edges"]
    assert [(e["node"]["eventType"], e["node"]["actor"]) for e in log] == [
        ("SprintStoryAdded", "admin"),
        ("SprintStarted", "admin"),
        ("SprintCompleted", "admin"),
    ]
    assert result["planned"] in log[0]["node"]["summary"]
    assert result["started"].startswith("Sprint 5 · ")

    # Between the sprints the columns showed the board's stories, each column by rank.
    between = result["between"]
    assert sum(len(keys) for keys in between.values()) > 0
    columns = demo.client().data("BoardColumns", {"boardKey": BOARD, "first": 15})["board"]["columns"]
    for column in columns:
        server = [edge["node"]["key"] for edge in column["stories"]["edges"]]
        page = between[column["key"]]
        # Sprint 5's story left the backlog (and TODO) when it was planned, the rest stayed put.
        assert page == server or set(page) ^ set(server) <= {result["planned"]}, column["key"]


def test_wip_badge_counts_the_whole_column_as_the_server_does(
    fresh_demo: DemoServer, node_clients: Path, chromium: str, artifacts: Path, tmp_path: Path
) -> None:
    demo = fresh_demo
    result = drive(demo, node_clients, chromium, artifacts, tmp_path, "wip")

    in_progress = next(c for c in board_view(demo)["columns"] if c["key"] == "IN_PROGRESS")
    limit = in_progress["wipLimit"]
    assert in_progress["occupancy"]["totalCount"] == limit
    assert result["badge"] == f"{limit} / {limit}" and result["atLimit"]
    assert result["cardsShown"] < limit  # the stories filling it are not the sprint's
    assert "WIP limit" in result["refused"]["message"] and result["stayed"]
    assert story(demo, result["refused"]["key"])["status"]["key"] == result["refused"]["from"]


def test_burndown_spans_the_sprint_with_y_ticks(
    fresh_demo: DemoServer, node_clients: Path, chromium: str, artifacts: Path, tmp_path: Path
) -> None:
    demo = fresh_demo
    sprint = board_view(demo)["activeSprint"]
    result = drive(demo, node_clients, chromium, artifacts, tmp_path, "burndown")

    burndown = demo.client().data("SprintBurndown", {"sprintId": sprint["id"]})["sprint"]["burndown"]
    # To the sprint's end date, or on to today for a sprint still open after it.
    assert result["xLabels"] == [sprint["startDate"], max(sprint["endDate"], burndown[-1]["date"])]
    ticks = [float(label) for label in result["yLabels"]]
    assert ticks[0] == 0 and len(ticks) >= 4 and ticks == sorted(ticks)
    assert ticks[-1] >= max(point["scopePoints"] for point in burndown)
    last_x = float(result["remaining"].split()[-1].split(",")[0])
    if burndown[-1]["date"] < sprint["endDate"]:
        assert last_x < result["axisEnd"]  # the days still to come lie to the right
    else:
        assert last_x == result["axisEnd"]


CREATE_BOARD = """
mutation CreateBoard($input: CreateBoardInput!) {
  createBoard(input: $input) { board { key } errors { code message } }
}
"""


def test_board_switcher_lists_visible_boards_and_switches(
    fresh_demo: DemoServer, node_clients: Path, chromium: str, artifacts: Path, tmp_path: Path
) -> None:
    demo = fresh_demo
    # Set up only (the page never creates boards): a second board the admin sees.
    columns = [
        {"key": "OPEN", "name": "Open", "category": "TODO"},
        {"key": "DOING", "name": "Doing", "category": "IN_PROGRESS", "wipLimit": 2},
        {"key": "CLOSED", "name": "Closed", "category": "DONE"},
    ]
    made = demo.client().http.post(
        "/graphql",
        json={
            "query": CREATE_BOARD,
            "variables": {"input": {"key": "OPS", "name": "Operations", "columns": columns}},
        },
    )
    assert made.json()["data"]["createBoard"]["errors"] == []
    result = drive(demo, node_clients, chromium, artifacts, tmp_path, "switcher", otherBoard="OPS")

    assert result["options"] == ["OPS", "PAY"]
    assert result["url"].endswith("board=OPS")
    assert result["otherColumns"] == ["OPEN", "DOING", "CLOSED"]
    created = story(demo, result["created"]["key"])
    assert created["key"].startswith("OPS-") and created["title"] == "Rotate the API keys"
    assert result["created"]["column"] == created["status"]["key"] == "OPEN"
    # Activity followed the board switched to: only OPS's entries.
    assert result["otherActivity"] and all("PAY-" not in line for line in result["otherActivity"])
    assert result["backCards"] > 0 and result["backActivity"] == 20


# What the page may spend a minute following live changes (frontend-contract/README.md): at most one
# refresh every 2 s, each at most 59 units (between sprints, with the published updates and Activity).
REFRESH_GAP_SECONDS = 2
MOST_PER_REFRESH = 59
MOST_PER_MINUTE = 60 // REFRESH_GAP_SECONDS * MOST_PER_REFRESH

# What one refresh of the page asks for, with the variables board.js sends, between sprints
# (BoardColumns instead of SprintBurndown) and with both panels only some refreshes load.
WORST_REFRESH = {
    "BoardView": {"boardKey": BOARD},
    "Backlog": {"boardKey": BOARD, "first": 20},
    "Sprints": {"boardKey": BOARD, "state": "PLANNED", "first": 5},
    "StatusDraft": {"boardKey": BOARD},
    "BoardColumns": {"boardKey": BOARD, "first": 15},
    "StatusUpdates": {"boardKey": BOARD, "first": 3},
    "BoardActivity": {"boardKey": BOARD, "last": 20},
}


def test_a_refresh_spends_at_most_the_documented_units() -> None:
    settings = Settings()
    schema = build_schema(settings)._schema
    spent = 0
    for name, variables in WORST_REFRESH.items():
        document = parse(documents()[name])
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        operation = get_operation_ast(document, name)
        assert operation is not None
        bounds = list_bounds(settings)
        cost = query_cost(schema, operation, fragments, variables, settings.max_page_size, bounds)
        spent += rate_units(schema, operation, fragments, cost)
    assert spent == MOST_PER_REFRESH
    assert Settings.model_fields["rate_limit"].default / 3 >= MOST_PER_MINUTE


def test_live_updates_spend_a_bounded_share_of_the_rate_limit(
    node_clients: Path, chromium: str, artifacts: Path, tmp_path: Path
) -> None:
    # A day-long rate window: the page's budget before and after the burst lies in one window.
    with demo_server(tmp_path / "demo", env={"STORYLINE_RATE_WINDOW_SECONDS": "86400"}) as demo:
        page_token, writer_token = demo.token("alice"), demo.token("dave")
        result = drive(
            demo,
            node_clients,
            chromium,
            artifacts,
            tmp_path,
            "spend",
            token=page_token,
            writerToken=writer_token,
            burstSeconds=12,
            pauseMs=100,
        )
    spend = result["spend"]
    before, after = spend["before"], spend["after"]
    assert before["resetAt"] == after["resetAt"], "the burst crossed a rate window: run it again"
    spent = before["remaining"] - after["remaining"] - 1  # the last rateLimit query spent 1
    seconds = spend["seconds"]
    assert spend["changes"] >= seconds, "a steady stream of changes, several per refresh gap"
    # The page refreshed at most once per gap (and once after the last change), and never came
    # near the limit: per minute under a third of it, with one refresh to spare for the last change.
    assert spend["requests"]["BoardView"] <= seconds / REFRESH_GAP_SECONDS + 2, spend
    assert spent <= MOST_PER_MINUTE * seconds / 60 + MOST_PER_REFRESH, spend
    # Published updates were asked for only after a publish, not on every change.
    assert spend["requests"]["StatusUpdates"] <= spend["changes"] // 10 + 1, spend
