"""Every operation of the contract, run in order against the demo board: the source of examples/.

The same steps make the examples (`python -m tests.contract.refresh`) and the
tests that check them, so an example is always what the server answers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from graphql import GraphQLSchema, build_client_schema, get_introspection_query
from tests.contract.documents import CONTRACT, missing_from
from tests.contract.live import BOARD, Client, DemoServer

EXAMPLES = CONTRACT / "examples"

# Served by the analytics work (graphql/storyline_graphql/analytics.py), already in the draft
# contract. Operations that use them are pending until the served schema has them.
PENDING_ANALYTICS = {
    "Sprint.report",
    "Sprint.burndown",
    "Board.velocity",
    "Board.flow",
    "Board.forecast",
    "Board.asOf",
    "Story.timeInStatus",
    "Story.cycleTimeHours",
    "Story.leadTimeHours",
    "Story.blockedHours",
    "Story.asOf",
    "ForecastInput",
}


@dataclass
class Call:
    """One operation run for one example: ``response`` is None while the operation is pending."""

    name: str
    operation: str
    variables: dict[str, Any]
    response: dict[str, Any] | None = None
    missing: list[str] = field(default_factory=list)

    @property
    def data(self) -> Any:
        assert self.response is not None, f"{self.name} did not run"
        assert "errors" not in self.response, f"{self.name}: {self.response['errors']}"
        return self.response["data"]

    def example(self) -> dict[str, Any]:
        return {"operation": self.operation, "variables": self.variables, "response": self.response}


def served_schema(client: Client) -> GraphQLSchema:
    response = client.http.post("/graphql", json={"query": get_introspection_query()})
    return build_client_schema(response.json()["data"])


class Scenario:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.schema = served_schema(client)
        self.calls: dict[str, Call] = {}

    def call(self, name: str, operation: str, variables: dict[str, Any], client: Client | None = None) -> Any:
        """Runs an operation (as the admin, or as ``client``'s user) unless the server lacks a field
        it uses; returns its data (None if pending)."""
        assert name not in self.calls, f"two examples named {name}"
        call = Call(name, operation, variables)
        self.calls[name] = call
        call.missing = missing_from(self.schema, operation)
        unexpected = set(call.missing) - PENDING_ANALYTICS
        assert not unexpected, f"{operation} uses what the server does not serve: {sorted(unexpected)}"
        if call.missing:
            return None
        call.response = (client or self.client).send(operation, variables)
        return call.data


def run(server: DemoServer) -> dict[str, Call]:
    """The demo board seen and changed through every operation; examples by name."""
    admin = server.client()
    s = Scenario(admin)

    board = s.call("BoardView", "BoardView", {"boardKey": BOARD})["board"]
    s.call("BoardActivity", "BoardActivity", {"boardKey": BOARD, "last": 3})
    active = board["activeSprint"]
    cards = [edge["node"] for edge in active["stories"]["edges"]]
    backlog = s.call("Backlog", "Backlog", {"boardKey": BOARD, "first": 5})["board"]["backlog"]
    after = backlog["pageInfo"]["endCursor"]
    s.call("Backlog-page2", "Backlog", {"boardKey": BOARD, "first": 5, "after": after})
    done = next(card for card in cards if card["status"]["category"] == "DONE")
    s.call("StoryDetail", "StoryDetail", {"key": done["key"]})
    s.call("StoryTimes", "StoryTimes", {"key": done["key"]})
    sprints = s.call("Sprints", "Sprints", {"boardKey": BOARD})["board"]["sprints"]["edges"]
    last_closed = [edge["node"] for edge in sprints if edge["node"]["state"] == "CLOSED"][-1]
    s.call("SprintReport", "SprintReport", {"sprintId": last_closed["id"]})
    s.call("SprintBurndown", "SprintBurndown", {"sprintId": active["id"]})
    s.call("SprintReview", "SprintReview", {"sprintId": active["id"]})
    s.call("Velocity", "Velocity", {"boardKey": BOARD, "lastSprints": 6})
    s.call("Forecast", "Forecast", {"boardKey": BOARD, "input": {"seed": 7, "simulations": 2000}})
    bob_moves = {"boardKey": BOARD, "actor": "bob", "eventTypes": ["StoryMoved"]}
    s.call("AuditTrail", "AuditTrail", {"filter": bob_moves, "first": 5})

    # One card through every change, each with the version the previous one returned.
    card = next(card for card in cards if card["status"]["category"] != "DONE")
    key = card["key"]
    move = {"storyKey": key, "toColumn": "DONE", "expectedVersion": card["version"]}
    moved = s.call("MoveStory", "MoveStory", {"input": {**move, "clientMutationId": f"move-{key}-1"}})
    # The same idempotency key and input again: the first result, nothing recorded.
    s.call("MoveStory-retried", "MoveStory", {"input": {**move, "clientMutationId": f"move-{key}-1"}})
    # The version read before the move is stale now.
    stale = {**move, "toColumn": "IN_PROGRESS", "clientMutationId": f"move-{key}-2"}
    s.call("MoveStory-conflict", "MoveStory", {"input": stale})
    its_moves = {"storyKey": key, "eventTypes": ["StoryMoved"]}
    s.call("AuditTrail-story-moves", "AuditTrail", {"filter": its_moves})
    version = moved["moveStory"]["story"]["version"]
    estimate = {"storyKey": key, "points": 8, "expectedVersion": version}
    estimated = s.call("EstimateStory", "EstimateStory", {"input": estimate})
    version = estimated["estimateStory"]["story"]["version"]
    assign = {"storyKey": key, "assignee": "carol", "expectedVersion": version}
    s.call("AssignStory", "AssignStory", {"input": assign})
    top, last = backlog["edges"][0]["node"]["key"], backlog["edges"][-1]["node"]["key"]
    s.call("RankStory", "RankStory", {"input": {"storyKey": last, "before": top}})

    # Plan the next sprint, then close the active one into it and start it.
    start = date.fromisoformat(active["endDate"]) + timedelta(days=3)
    plan = {
        "boardKey": BOARD,
        "name": "Sprint 5",
        "goal": "Coupons and gift cards",
        "startDate": start.isoformat(),
        "endDate": (start + timedelta(days=11)).isoformat(),
        "clientMutationId": "plan-sprint-5",
    }
    planned = s.call("CreateSprint", "CreateSprint", {"input": plan})["createSprint"]["sprint"]
    for name, story in (("AddStoryToSprint", top), ("AddStoryToSprint-another", last)):
        s.call(name, "AddStoryToSprint", {"input": {"sprintId": planned["id"], "storyKey": story}})
    removal = {"sprintId": planned["id"], "storyKey": last}
    removed = s.call("RemoveStoryFromSprint", "RemoveStoryFromSprint", {"input": removal})
    s.call("StartSprint-refused", "StartSprint", {"input": {"sprintId": planned["id"]}})
    complete = {"sprintId": active["id"], "carryOverTo": planned["id"], "expectedVersion": active["version"]}
    s.call("CompleteSprint", "CompleteSprint", {"input": complete})
    # No active sprint until the next starts: the board shows each column's own stories.
    s.call("BoardColumns", "BoardColumns", {"boardKey": BOARD, "first": 3})
    version = removed["removeStoryFromSprint"]["sprint"]["version"]
    start_it = {"sprintId": planned["id"], "expectedVersion": version}
    s.call("StartSprint", "StartSprint", {"input": start_it})

    # The team works from Sydney, and takes the new sprint's first Friday off.
    calendar = s.call("BoardCalendar", "BoardCalendar", {"boardKey": BOARD})["board"]
    holiday = start + timedelta(days=4)
    sydney = {
        "boardKey": BOARD,
        "workingDays": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
        "holidays": [holiday.isoformat()],
        "timeZone": "Australia/Sydney",
        "expectedVersion": calendar["version"],
    }
    s.call("ConfigureCalendar", "ConfigureCalendar", {"input": sydney})
    project_control(s)

    # A change by another client arrives on the live subscription.
    bob = server.client(server.token("bob"))
    subscription = Call("BoardEvents", "BoardEvents", {"boardKey": BOARD})
    reassign = {"input": {"storyKey": top, "assignee": "bob"}}
    subscription.response = admin.first_event(
        subscription.variables, lambda: bob.data("AssignStory", reassign)
    )
    s.calls[subscription.name] = subscription
    bulk(s, planned["id"], last, bob)
    story_life(s)
    return s.calls


def bulk(s: Scenario, sprint_id: str, backlog_story: str, member: Client) -> None:
    """Stories created straight into the (now active) sprint, one more story added to it, and the
    refusals: one error per failing item, and archiving by someone who is not ADMIN."""
    stories = [
        {"title": "Pay with coupons", "points": 3, "labels": ["checkout"]},
        {"title": "Gift card balance", "type": "TASK", "assignee": "carol"},
    ]
    created = {"boardKey": BOARD, "stories": stories, "sprintId": sprint_id, "clientMutationId": "bulk-1"}
    s.call("CreateStories", "CreateStories", {"input": created})
    refused = [{"title": "Fine"}, {"title": " "}, {"title": "Too many points", "points": 5000}]
    s.call("CreateStories-refused", "CreateStories", {"input": {"boardKey": BOARD, "stories": refused}})
    added = {"sprintId": sprint_id, "storyKeys": [backlog_story]}
    s.call("AddStoriesToSprint", "AddStoriesToSprint", {"input": added})
    s.call("Boards", "Boards", {"includeArchived": True})
    s.call("ArchiveBoard-refused", "ArchiveBoard", {"input": {"boardKey": BOARD}}, member)


def story_life(s: Scenario) -> None:
    """A new story, retitled, blocked with a reason and unblocked."""
    new = {"boardKey": BOARD, "title": "Apple Pay on the web", "points": 3, "assignee": "carol"}
    story = s.call("CreateStory", "CreateStory", {"input": new})["createStory"]["story"]
    retitle = {
        "storyKey": story["key"],
        "title": "Apple Pay and Google Pay",
        "expectedVersion": story["version"],
    }
    story = s.call("UpdateStory", "UpdateStory", {"input": retitle})["updateStory"]["story"]
    block = {
        "storyKey": story["key"],
        "reason": "waiting for the merchant id",
        "expectedVersion": story["version"],
    }
    story = s.call("BlockStory", "BlockStory", {"input": block})["blockStory"]["story"]
    unblock = {"storyKey": story["key"], "expectedVersion": story["version"]}
    s.call("UnblockStory", "UnblockStory", {"input": unblock})


def project_control(s: Scenario) -> None:
    """A project manager's page: milestones, budget, risks, the draft and its publishing."""
    epics = s.call("Milestones", "Milestones", {"boardKey": BOARD})["board"]["epics"]
    invoicing = epics[1]
    move = {"epicKey": invoicing["key"], "targetDate": "2027-03-31", "reason": "VAT rules changed"}
    s.call(
        "SetEpicTargetDate", "SetEpicTargetDate", {"input": {**move, "expectedVersion": invoicing["version"]}}
    )
    override = {"epicKey": invoicing["key"], "health": "AT_RISK", "reason": "the tax adviser is booked up"}
    s.call("SetEpicHealth", "SetEpicHealth", {"input": override})
    board = s.call("Budget", "Budget", {"boardKey": BOARD})["board"]
    budget = {
        "boardKey": BOARD,
        "currency": "EUR",
        "amount": "135000.00",
        "basis": "PER_SPRINT",
        "rate": "18000.00",
        "reason": "wallets added to the scope",
        "expectedVersion": board["version"],
    }
    s.call("SetBudget", "SetBudget", {"input": budget})
    s.call("SetBudget-float-refused", "SetBudget", {"input": {**budget, "amount": 135000.5}})
    risks = s.call("RiskRegister", "RiskRegister", {"boardKey": BOARD})["board"]["risks"]
    s.call("RiskRegister-open", "RiskRegister", {"boardKey": BOARD, "state": "OPEN", "minScore": 4})
    s.call("RiskRegister-last", "RiskRegister", {"boardKey": BOARD, "first": None, "last": 1})
    new = {
        "boardKey": BOARD,
        "title": "Card scheme fees rise",
        "probability": 2,
        "impact": 4,
        "owner": "dave",
    }
    created = s.call("CreateRisk", "CreateRisk", {"input": new})["createRisk"]["risk"]
    raised = {"riskKey": created["key"], "probability": 4, "expectedVersion": created["version"]}
    s.call("UpdateRisk", "UpdateRisk", {"input": raised})
    s.call("SetRiskState", "SetRiskState", {"input": {"riskKey": created["key"], "state": "MITIGATING"}})
    links = {"riskKey": created["key"], "epicKeys": [invoicing["key"]]}
    s.call("LinkRisk", "LinkRisk", {"input": links})
    s.call("RiskDetail", "RiskDetail", {"key": risks["edges"][0]["node"]["key"]})
    s.call("StatusDraft", "StatusDraft", {"boardKey": BOARD})
    publish = {"boardKey": BOARD, "health": "AT_RISK", "summary": "Invoicing slips; a new fee risk."}
    s.call(
        "PublishStatusUpdate", "PublishStatusUpdate", {"input": {**publish, "clientMutationId": "update-2"}}
    )
    s.call("StatusUpdates", "StatusUpdates", {"boardKey": BOARD})


# ----- examples -----

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)")
DATE = re.compile(r"\d{4}-\d\d-\d\d")
CURSORS = {"cursor", "startCursor", "endCursor", "after"}


# The active sprint's days through the demo's day: it began on the Monday before last.
BURNDOWN_DAYS_KEPT = 10


def normalised(value: Any, key: str = "") -> Any:
    """What an example must keep from run to run: not ids of sprints, cursors, times, dates or hours."""
    if isinstance(value, dict):
        return {k: normalised(v, k) for k, v in value.items()}
    if isinstance(value, list):
        if key == "burndown":
            value = value[:BURNDOWN_DAYS_KEPT]  # the days after the demo's day depend on today
        return [normalised(v, key) for v in value]
    if isinstance(value, str):
        if key in CURSORS:
            return "<cursor>"
        return DATE.sub("<Date>", DATETIME.sub("<DateTime>", UUID.sub("<uuid>", value)))
    if isinstance(value, float) and (key == "hours" or key.endswith("Hours")):
        return "<hours>"  # the current column counts up to now
    return value


def example_path(name: str) -> Path:
    return EXAMPLES / f"{name}.json"


def dump(example: dict[str, Any]) -> str:
    return json.dumps(example, indent=2, ensure_ascii=False) + "\n"
