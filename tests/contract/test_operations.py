"""The operations a board frontend uses: valid against the schema, meaningful on real data, as documented.

Operations on analytics fields that the server does not serve yet are skipped,
naming the fields; they run as soon as the fields are served.
"""

from __future__ import annotations

import difflib
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from graphql.language import Visitor

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    TypeInfo,
    TypeInfoVisitor,
    build_schema,
    get_named_type,
    parse,
    validate,
    visit,
)
from tests.contract import scenario
from tests.contract.documents import CONTRACT, ROOT, definitions, documents, fragments_used, missing_from
from tests.contract.live import BOARD, DemoServer
from tests.contract.refresh import BOARD_OPERATIONS, operations_js
from tests.contract.scenario import PENDING_ANALYTICS, Call

SCHEMA = CONTRACT / "schema.graphql"
BOARD_PAGE = ROOT / "service" / "storyline_service" / "static" / "board"
REFRESH = "run `.venv/bin/python -m tests.contract.refresh` and review the diff"

# What a board frontend needs, by the operation's name.
NEEDED = {
    "board view": {"BoardView", "BoardColumns", "BoardActivity"},
    "board switcher": {"Boards"},
    "backlog with paging": {"Backlog"},
    "story detail with history": {"StoryDetail"},
    "move, rank, estimate, assign": {"MoveStory", "RankStory", "EstimateStory", "AssignStory"},
    "create, edit, block, unblock": {"CreateStory", "UpdateStory", "BlockStory", "UnblockStory"},
    "sprint planning": {"Sprints", "CreateSprint", "AddStoryToSprint", "RemoveStoryFromSprint", "StartSprint"}
    | {"CompleteSprint"},
    "sprint report and burndown": {"SprintReport", "SprintBurndown", "SprintReview"},
    "velocity and forecast": {"Velocity", "Forecast"},
    "audit trail with filters": {"AuditTrail"},
    "live board": {"BoardEvents"},
    "working calendar": {"BoardCalendar", "ConfigureCalendar"},
    "milestones": {"Milestones", "SetEpicTargetDate", "SetEpicHealth"},
    "budget": {"Budget", "SetBudget"},
    "risk register": {"RiskRegister", "RiskDetail", "CreateRisk", "UpdateRisk", "SetRiskState", "LinkRisk"},
    "status draft and publishing": {"StatusDraft", "PublishStatusUpdate", "StatusUpdates"},
    "bulk creation and planning": {"CreateStories", "AddStoriesToSprint"},
    "boards and archiving": {"Boards", "ArchiveBoard"},
}


def skip_if_pending(missing: list[str]) -> None:
    unexpected = set(missing) - PENDING_ANALYTICS
    assert not unexpected, f"not in the schema: {sorted(unexpected)}"
    if missing:
        pytest.skip(f"pending on the analytics work: {', '.join(missing)} not served yet")


# ----- the documents ----------------------------------------------------------------


def test_the_operations_cover_what_a_board_frontend_needs() -> None:
    names = set(documents())
    assert {need: sorted(ops - names) for need, ops in NEEDED.items() if ops - names} == {}


def test_every_fragment_is_used() -> None:
    operations, fragments = definitions()
    used = {fragment for name in operations for fragment in fragments_used(name)}
    assert set(fragments) - used == set()


@pytest.mark.parametrize("operation", sorted(documents()))
def test_operation_is_valid_against_the_schema(operation: str) -> None:
    schema = build_schema(SCHEMA.read_text())
    skip_if_pending(missing_from(schema, operation))
    assert validate(schema, parse(documents()[operation])) == []


# ----- run against the demo board ------------------------------------------------------


@pytest.fixture(scope="module")
def calls(demo: DemoServer) -> dict[str, Call]:
    return scenario.run(demo)


def ran(calls: dict[str, Call], name: str) -> Any:
    call = calls[name]
    skip_if_pending(call.missing)
    return call.data


def nodes(connection: dict[str, Any]) -> list[Any]:
    return [edge["node"] for edge in connection["edges"]]


def test_every_operation_runs_against_the_demo(calls: dict[str, Call]) -> None:
    assert {call.operation for call in calls.values()} == set(documents())


def test_board_view_shows_the_columns_and_the_active_sprints_cards(calls: dict[str, Call]) -> None:
    data = ran(calls, "BoardView")
    board = data["board"]
    assert data["viewer"]["name"] == "admin"
    assert (board["key"], board["name"]) == (BOARD, "Payments")
    assert [c["key"] for c in board["columns"]] == ["TODO", "IN_PROGRESS", "REVIEW", "DONE"]
    assert board["columns"][1]["wipLimit"] == 5
    sprint = board["activeSprint"]
    assert (sprint["name"], sprint["state"]) == ("Sprint 4", "ACTIVE")
    cards = nodes(sprint["stories"])
    assert len(cards) == sprint["stories"]["totalCount"] >= 5
    in_columns = {card["status"]["key"] for card in cards}
    assert in_columns <= {c["key"] for c in board["columns"]} and len(in_columns) >= 2
    assert [card["rank"] for card in cards] == sorted(card["rank"] for card in cards)
    assert all(card["version"] >= 1 and card["title"] for card in cards)


def test_backlog_pages_by_rank(calls: dict[str, Call]) -> None:
    first = ran(calls, "Backlog")["board"]["backlog"]
    second = ran(calls, "Backlog-page2")["board"]["backlog"]
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    assert second["pageInfo"]["hasPreviousPage"] and not second["pageInfo"]["hasNextPage"]
    stories = nodes(first) + nodes(second)
    # Eight never planned, and PAY-10, dropped unfinished from Sprint 2.
    assert len(stories) == first["totalCount"] == second["totalCount"] == 9
    assert len({story["key"] for story in stories}) == 9
    assert [story["rank"] for story in stories] == sorted(story["rank"] for story in stories)
    assert {story["status"]["category"] for story in stories} == {"TODO"}


def test_story_detail_has_its_history(calls: dict[str, Call]) -> None:
    story = ran(calls, "StoryDetail")["story"]
    history = nodes(story["history"])
    assert story["sprint"]["name"] == "Sprint 4" and story["status"]["key"] == "DONE"
    assert len(history) == story["history"]["totalCount"] >= 5
    assert {entry["entityKey"] for entry in history} == {story["key"]}
    assert history[0]["eventType"] == "StoryCreated"
    assert history[-1]["eventType"] == "StoryMoved" and history[-1]["changes"][0]["to"] == "DONE"
    assert [e["sequence"] for e in history] == sorted(e["sequence"] for e in history)


def test_story_times(calls: dict[str, Call]) -> None:
    story = ran(calls, "StoryTimes")["story"]
    columns = [entry["column"] for entry in story["timeInStatus"]]
    assert set(columns) <= {"TODO", "IN_PROGRESS", "REVIEW", "DONE"} and "IN_PROGRESS" in columns
    assert all(entry["hours"] >= 0 for entry in story["timeInStatus"])
    assert 0 < story["cycleTimeHours"] <= story["leadTimeHours"]
    assert story["blockedHours"] >= 0


def test_sprints_lists_the_closed_and_the_active_sprint(calls: dict[str, Call]) -> None:
    sprints = nodes(ran(calls, "Sprints")["board"]["sprints"])
    assert [(s["name"], s["state"]) for s in sprints] == [
        ("Sprint 1", "CLOSED"),
        ("Sprint 2", "CLOSED"),
        ("Sprint 3", "CLOSED"),
        ("Sprint 4", "ACTIVE"),
    ]
    assert all(s["stories"]["totalCount"] >= 5 for s in sprints)
    assert all(s["completedAt"] for s in sprints[:3]) and sprints[3]["completedAt"] is None


def test_sprint_report_of_the_last_closed_sprint(calls: dict[str, Call]) -> None:
    sprint = ran(calls, "SprintReport")["sprint"]
    report = sprint["report"]
    assert sprint["name"] == "Sprint 3"
    assert report["committedCount"] == 6 and report["committedPoints"] > 0
    assert 0 < report["completedCount"] < report["committedCount"]  # one story carries over
    assert report["committedCompletedPoints"] <= report["completedPoints"]
    assert report["commitmentReliability"] == pytest.approx(
        report["committedCompletedPoints"] / report["committedPoints"]
    )
    assert len(report["carriedOver"]) == 1


def test_burndown_of_the_active_sprint(calls: dict[str, Call]) -> None:
    sprint = ran(calls, "SprintBurndown")["sprint"]
    points = sprint["burndown"]
    start, today = date.fromisoformat(sprint["startDate"]), datetime.now(UTC).date()
    assert points[0]["date"] == sprint["startDate"]
    assert len(points) == (today - start).days + 1  # one per day, through today
    assert points[0]["scopePoints"] > 0
    for point in points:
        assert point["remainingPoints"] == pytest.approx(point["scopePoints"] - point["completedPoints"])
    assert points[-1]["completedPoints"] > points[0]["completedPoints"]
    assert points[-1]["idealRemainingPoints"] < points[0]["idealRemainingPoints"]


def test_velocity_of_the_closed_sprints(calls: dict[str, Call]) -> None:
    velocity = ran(calls, "Velocity")["board"]["velocity"]
    assert [s["sprint"]["name"] for s in velocity["sprints"]] == ["Sprint 1", "Sprint 2", "Sprint 3"]
    completed = [s["completedPoints"] for s in velocity["sprints"]]
    assert all(points > 0 for points in completed)
    assert velocity["averageCompletedPoints"] == pytest.approx(sum(completed) / 3)


def test_forecast_from_the_closed_sprints(calls: dict[str, Call]) -> None:
    forecast = ran(calls, "Forecast")["board"]["forecast"]
    assert forecast["sampleSprints"] == 3 and forecast["remainingPoints"] > 0
    assert 1 <= forecast["sprintsP50"] <= forecast["sprintsP85"] <= forecast["sprintsP95"]
    assert forecast["dateP50"] <= forecast["dateP85"] <= forecast["dateP95"]


def test_audit_trail_filters(calls: dict[str, Call]) -> None:
    log = ran(calls, "AuditTrail")["auditLog"]
    entries = nodes(log)
    assert len(entries) == 5 and log["totalCount"] > 5 and log["pageInfo"]["hasNextPage"]
    assert {(e["actor"], e["eventType"], e["boardKey"]) for e in entries} == {("bob", "StoryMoved", BOARD)}
    assert all(e["summary"].startswith(f"bob moved {e['entityKey']} from ") for e in entries)


def test_a_move_is_recorded_once_and_a_stale_version_is_a_conflict(calls: dict[str, Call]) -> None:
    moved = ran(calls, "MoveStory")["moveStory"]
    story = moved["story"]
    assert moved["errors"] == [] and story["status"]["key"] == "DONE"
    assert moved["clientMutationId"] == calls["MoveStory"].variables["input"]["clientMutationId"]
    assert story["version"] == calls["MoveStory"].variables["input"]["expectedVersion"] + 1
    # The retry with the same idempotency key replays the first result.
    assert ran(calls, "MoveStory-retried")["moveStory"] == moved
    conflict = ran(calls, "MoveStory-conflict")["moveStory"]
    assert conflict["story"] is None
    assert [(e["code"], e["field"]) for e in conflict["errors"]] == [("CONFLICT", "expectedVersion")]
    # One move recorded, by this client; neither the retry nor the conflict added one.
    moves = nodes(ran(calls, "AuditTrail-story-moves")["auditLog"])
    assert moves[-1]["changes"] == [{"field": "column", "from": "REVIEW", "to": "DONE"}]
    assert moves[-1]["actor"] == "admin"
    assert [m["changes"][0]["to"] for m in moves].count("DONE") == 1


def test_estimate_assign_and_rank(calls: dict[str, Call]) -> None:
    estimated = ran(calls, "EstimateStory")["estimateStory"]["story"]
    assigned = ran(calls, "AssignStory")["assignStory"]["story"]
    assert estimated["points"] == 8 and assigned["assignee"] == "carol"
    assert assigned["version"] == estimated["version"] + 1
    ranked = ran(calls, "RankStory")["rankStory"]
    backlog = nodes(ran(calls, "Backlog")["board"]["backlog"])
    assert ranked["errors"] == [] and ranked["story"]["rank"] < backlog[0]["rank"]


def test_sprint_planning_from_creation_to_start(calls: dict[str, Call]) -> None:
    created = ran(calls, "CreateSprint")["createSprint"]["sprint"]
    assert (created["name"], created["state"], created["version"]) == ("Sprint 5", "PLANNED", 1)
    added = ran(calls, "AddStoryToSprint-another")["addStoryToSprint"]["sprint"]
    removed = ran(calls, "RemoveStoryFromSprint")["removeStoryFromSprint"]["sprint"]
    removal = calls["RemoveStoryFromSprint"].variables["input"]["storyKey"]
    assert removal in [s["key"] for s in nodes(added["stories"])]
    assert removal not in [s["key"] for s in nodes(removed["stories"])]
    assert removed["stories"]["totalCount"] == added["stories"]["totalCount"] - 1
    refused = ran(calls, "StartSprint-refused")["startSprint"]
    assert refused["sprint"] is None and refused["errors"][0]["code"] == "INVALID_TRANSITION"
    completed = ran(calls, "CompleteSprint")["completeSprint"]["sprint"]
    assert (completed["name"], completed["state"]) == ("Sprint 4", "CLOSED") and completed["completedAt"]
    started = ran(calls, "StartSprint")["startSprint"]["sprint"]
    assert (started["id"], started["state"]) == (created["id"], "ACTIVE") and started["startedAt"]


def test_the_subscription_pushes_another_clients_change(calls: dict[str, Call]) -> None:
    event = ran(calls, "BoardEvents")["boardEvents"]
    assert (event["eventType"], event["actor"], event["boardKey"]) == ("StoryAssigned", "bob", BOARD)
    assert event["changes"][0]["field"] == "assignee" and event["changes"][0]["to"] == "bob"


# ----- examples ---------------------------------------------------------------------


def test_examples_are_what_the_server_answers(calls: dict[str, Call]) -> None:
    stale = []
    for call in calls.values():
        if call.response is None:
            continue  # pending: no example until the fields are served
        path = scenario.example_path(call.name)
        if not path.exists():
            stale.append(f"{path.name} is missing")
            continue
        want = json.dumps(scenario.normalised(json.loads(path.read_text())), indent=1).splitlines()
        have = json.dumps(scenario.normalised(call.example()), indent=1).splitlines()
        if want != have:
            diff = "\n".join(list(difflib.unified_diff(want, have, "example", "server", lineterm=""))[:40])
            stale.append(f"{path.name} differs:\n{diff}")
    extra = {p.stem for p in scenario.EXAMPLES.glob("*.json")} - set(calls)
    stale += [f"{name}.json has no call in tests/contract/scenario.py" for name in sorted(extra)]
    assert not stale, f"{REFRESH}\n" + "\n".join(stale)


# ----- the reference board page --------------------------------------------------------


def test_the_board_page_embeds_the_operations_verbatim() -> None:
    assert BOARD_OPERATIONS.read_text() == operations_js(), REFRESH


def test_the_board_page_sends_only_contract_operations() -> None:
    script = (BOARD_PAGE / "board.js").read_text()
    sent = set(re.findall(r'request\("(\w+)"', script)) | set(re.findall(r"OPERATIONS\.(\w+)", script))
    assert sent and sent <= set(documents())
    assert not re.search(r"\b(query|mutation|subscription)\s*[\w(]*\s*\{", script), "a hand-written query"


def test_the_board_page_is_served(demo: DemoServer) -> None:
    client = demo.client().http
    page = client.get("/board", follow_redirects=True)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'src="board.js"' in page.text
    for name in ("board.js", "board.css", "operations.js"):
        served = client.get(f"/board/{name}")
        assert served.status_code == 200 and served.text == (BOARD_PAGE / name).read_text()


# ----- a project manager's page ---------------------------------------------------------


def test_milestones_show_the_demo_slip_and_take_a_new_one(calls: dict[str, Call]) -> None:
    checkout, invoicing = ran(calls, "Milestones")["board"]["epics"]
    assert [(s["reason"], s["actor"]) for s in checkout["slips"]] == [
        ("the payment provider delayed its sandbox", "dave")
    ]
    assert checkout["slips"][0]["to"] == checkout["targetDate"] > checkout["slips"][0]["from"]
    progress = invoicing["progress"]
    assert progress["remainingPoints"] == progress["totalPoints"] - progress["completedPoints"] > 0
    moved = ran(calls, "SetEpicTargetDate")["setEpicTargetDate"]["epic"]
    assert moved["targetDate"] == "2027-03-31" and moved["slips"][-1]["reason"] == "VAT rules changed"
    overridden = ran(calls, "SetEpicHealth")["setEpicHealth"]["epic"]
    assert (overridden["health"], overridden["healthOverridden"]) == ("AT_RISK", True)


def test_budget_is_exact_and_a_float_is_refused(calls: dict[str, Call]) -> None:
    before = ran(calls, "Budget")["board"]["budget"]
    assert (before["amount"], before["currency"], before["basis"]) == ("120000.00", "EUR", "PER_SPRINT")
    closed = [s for s in before["bySprint"] if s["actual"] != "0.00"]
    # Sprint 4 was closed earlier in the scenario; Sprint 5 has cost nothing yet.
    assert len(closed) == 4 and before["spentToDate"] == "72000.00"
    budget = ran(calls, "SetBudget")["setBudget"]["board"]["budget"]
    assert budget["amount"] == "135000.00"
    assert Decimal(budget["variance"]) == Decimal(budget["amount"]) - Decimal(budget["forecastAtCompletion"])
    refused = ran(calls, "SetBudget-float-refused")["setBudget"]
    assert refused["board"] is None and [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("VALIDATION", "amount")
    ]


def test_the_risk_register_is_ordered_by_score(calls: dict[str, Call]) -> None:
    register = nodes(ran(calls, "RiskRegister")["board"]["risks"])
    assert [(r["title"], r["score"], r["state"]) for r in register] == [
        ("Payment provider changes its API", 16, "MITIGATING"),
        ("PCI audit findings", 15, "OCCURRED"),
        ("Key developer leaves", 6, "OPEN"),
    ]
    assert [r["key"] for r in nodes(ran(calls, "RiskRegister-open")["board"]["risks"])] == [
        register[2]["key"]
    ]
    assert nodes(ran(calls, "RiskRegister-last")["board"]["risks"]) == register[2:]
    linked = ran(calls, "LinkRisk")["linkRisk"]["risk"]
    assert (linked["score"], linked["state"], [e["key"] for e in linked["epics"]]) == (
        16,
        "MITIGATING",
        ["PAY-E2"],
    )
    history = nodes(ran(calls, "RiskDetail")["risk"]["history"])
    assert [e["eventType"] for e in history] == ["RiskCreated", "RiskStateChanged"]
    assert history[1]["changes"] == [{"field": "state", "from": "OPEN", "to": "MITIGATING"}]


def test_the_draft_is_published_and_listed_newest_first(calls: dict[str, Call]) -> None:
    draft = ran(calls, "StatusDraft")["board"]["statusDraft"]
    assert draft["completedPoints"] == sum(s["points"] for s in draft["completedStories"]) > 0
    assert [s["slip"]["reason"] for s in draft["slips"]] == ["VAT rules changed"]
    assert draft["markdown"].startswith("# PAY status: at risk")
    published = ran(calls, "PublishStatusUpdate")["publishStatusUpdate"]
    assert published["errors"] == [] and published["statusUpdate"]["health"] == "AT_RISK"
    updates = nodes(ran(calls, "StatusUpdates")["board"]["statusUpdates"])
    assert [u["summary"] for u in updates] == [
        "Invoicing slips; a new fee risk.",
        "Wallets are live; checkout slipped two weeks with the provider's sandbox.",
    ]
    assert updates[0]["figures"]["completedStories"] == draft["completedStories"]


def test_sprint_review_is_the_report_and_the_burndown_in_one_trip(calls: dict[str, Call]) -> None:
    review = ran(calls, "SprintReview")["sprint"]
    assert review["burndown"] == ran(calls, "SprintBurndown")["sprint"]["burndown"]
    assert review["report"]["committedCount"] > 0


def test_bulk_creation_joins_the_sprint_and_refuses_item_by_item(calls: dict[str, Call]) -> None:
    created = calls["CreateStories"].data["createStories"]
    assert created["errors"] == [] and created["clientMutationId"] == "bulk-1"
    assert [story["title"] for story in created["stories"]] == ["Pay with coupons", "Gift card balance"]
    keys = [story["key"] for story in created["stories"]]
    ranks = [story["rank"] for story in created["stories"]]
    assert ranks == sorted(ranks) and created["sprint"]["state"] == "ACTIVE"
    refused = calls["CreateStories-refused"].data["createStories"]
    assert refused["stories"] == [] and refused["sprint"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("VALIDATION", "stories.1.title"),
        ("VALIDATION", "stories.2.points"),
    ]
    added = calls["AddStoriesToSprint"].data["addStoriesToSprint"]
    assert added["errors"] == [] and [story["key"] for story in added["stories"]] not in ([], keys)
    boards = calls["Boards"].data["boards"]["edges"]
    assert [(edge["node"]["key"], edge["node"]["archived"]) for edge in boards] == [(BOARD, False)]
    archive = calls["ArchiveBoard-refused"].data["archiveBoard"]
    assert archive["board"] is None and [e["code"] for e in archive["errors"]] == ["FORBIDDEN"]


def test_every_node_is_selected_with_its_id() -> None:
    """Apollo's and urql's caches normalise objects by `id`: a Node selected without it (a renamed epic
    under a cached card, say) never updates in the cache."""
    schema = build_schema(SCHEMA.read_text())
    node = schema.get_type("Node")
    _, fragments = definitions()
    without_id = []

    def fields_of(selection_set: Any) -> set[str]:
        names = set()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, FragmentSpreadNode):
                names |= fields_of(fragments[selection.name.value].selection_set)
            else:
                names |= fields_of(selection.selection_set)
        return names

    class Check(Visitor):
        def __init__(self, operation: str) -> None:
            super().__init__()
            self.operation = operation

        def enter_field(self, field: FieldNode, *_: object) -> None:
            named = get_named_type(info.get_type())
            is_node = isinstance(named, GraphQLObjectType) and node in named.interfaces
            if field.selection_set and is_node and "id" not in fields_of(field.selection_set):
                without_id.append(f"{self.operation}: {field.name.value} ({named})")

    for operation, text in sorted(documents().items()):
        info = TypeInfo(schema)
        visit(parse(text), TypeInfoVisitor(info, Check(operation)))
    assert without_id == []
