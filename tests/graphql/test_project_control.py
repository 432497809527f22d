"""Project control over HTTP: exact money, the risk register with its history, milestones, drafts."""

from __future__ import annotations

from typing import Any

from tests.graphql.conftest import Server, create_board, create_story, mutate

BUDGET = (
    "budget { currency amount basis rate spentToDate forecastAtCompletion variance bySprint { sprintName } }"
)


def set_budget(server: Server, board: str, amount: Any, rate: Any = "10.00", currency: str = "EUR") -> Any:
    input = {"boardKey": board, "currency": currency, "amount": amount, "basis": "PER_POINT", "rate": rate}
    return mutate(server, "setBudget", input, f"board {{ {BUDGET} }}")


def test_money_round_trips_exactly(server: Server) -> None:
    board = create_board(server)
    payload = set_budget(server, board, "123456789012345.67", rate="0.000001")
    assert payload["errors"] == []
    budget = payload["board"]["budget"]
    assert (budget["amount"], budget["rate"], budget["currency"]) == ("123456789012345.67", "0.000001", "EUR")
    assert (budget["spentToDate"], budget["forecastAtCompletion"], budget["variance"]) == (
        "0.00",
        "0.00",
        "123456789012345.67",
    )
    again = server.post("query($k: String!) { board(key: $k) { budget { amount rate } } }", {"k": board})
    assert again["board"]["budget"] == {"amount": "123456789012345.67", "rate": "0.000001"}


def test_a_float_or_malformed_amount_is_refused_with_a_typed_error(server: Server) -> None:
    board = create_board(server)
    head = server.head()
    for amount, currency, field in [
        (12.5, "EUR", "amount"),
        (12, "EUR", "amount"),
        ("12,50", "EUR", "amount"),
        ("Infinity", "EUR", "amount"),
        ("1.005", "EUR", "amount"),
        ("10.5", "JPY", "amount"),
        ("10", "QQQ", "currency"),
    ]:
        payload = set_budget(server, board, amount, currency=currency)
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("VALIDATION", field)], amount
        assert payload["board"] is None
    # A number written in the query itself is refused the same way.
    input = f'{{boardKey: "{board}", currency: "EUR", amount: 12.5, basis: PER_POINT, rate: "1"}}'
    literal = server.post(f"mutation {{ setBudget(input: {input}) {{ errors {{ code field }} }} }}")
    assert literal["setBudget"]["errors"] == [{"code": "VALIDATION", "field": "amount"}]
    assert server.head() == head
    assert server.post("query($k: String!) { board(key: $k) { budget { amount } } }", {"k": board}) == {
        "board": {"budget": None}
    }


def test_budget_changes_appear_in_the_audit_log_with_before_and_after(server: Server) -> None:
    board = create_board(server)
    set_budget(server, board, "1000.00")
    set_budget(server, board, "1500.00", rate="12.50")
    log = server.post(
        """query($k: String!) { auditLog(filter: {boardKey: $k, eventTypes: ["BoardBudgetSet"]}) {
             edges { node { summary changes { field from to } } } } }""",
        {"k": board},
    )
    entries = [edge["node"] for edge in log["auditLog"]["edges"]]
    assert entries[1]["changes"] == [
        {"field": "budget.amount", "from": "1000.00", "to": "1500.00"},
        {"field": "budget.rate", "from": "10.00", "to": "12.50"},
    ]
    assert {"field": "budget.amount", "from": None, "to": "1000.00"} in entries[0]["changes"]
    assert entries[1]["summary"] == f"alice set the budget of {board} to 1500.00 EUR at 12.50 per point"


RISKS = """query($k: String!, $state: RiskState, $min: Int, $first: Int, $after: String, $last: Int,
  $before: String) {
  board(key: $k) { risks(state: $state, minScore: $min, first: $first, after: $after, last: $last,
    before: $before) {
    edges { cursor node { key score state } } pageInfo { hasNextPage hasPreviousPage } totalCount } } }"""


def create_risk(server: Server, board: str, title: str, probability: int, impact: int) -> str:
    input = {"boardKey": board, "title": title, "probability": probability, "impact": impact}
    payload = mutate(server, "createRisk", input, "risk { key score state }")
    assert payload["errors"] == []
    return str(payload["risk"]["key"])


def risks(server: Server, board: str, **args: Any) -> Any:
    return server.post(RISKS, {"k": board, **args})["board"]["risks"]


def test_the_risk_register_by_score_paged_both_ways(server: Server) -> None:
    board = create_board(server)
    keys = [create_risk(server, board, f"Risk {p}x{i}", p, i) for p, i in [(1, 2), (3, 4), (5, 5), (2, 2)]]
    assert keys == [f"{board}-R1", f"{board}-R2", f"{board}-R3", f"{board}-R4"]
    mutate(
        server, "setRiskState", {"riskKey": keys[1], "state": "MITIGATING", "note": "plan B"}, "risk { key }"
    )
    everything = risks(server, board)
    assert [(e["node"]["key"], e["node"]["score"]) for e in everything["edges"]] == [
        (keys[2], 25),
        (keys[1], 12),
        (keys[3], 4),
        (keys[0], 2),
    ]
    assert [e["node"]["key"] for e in risks(server, board, state="OPEN", min=4)["edges"]] == [
        keys[2],
        keys[3],
    ]
    cursors = [e["cursor"] for e in everything["edges"]]
    last_two = risks(server, board, last=2)
    assert [e["node"]["key"] for e in last_two["edges"]] == [keys[3], keys[0]]
    assert last_two["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}
    before = risks(server, board, last=1, before=cursors[2])
    assert [e["node"]["key"] for e in before["edges"]] == [keys[1]]
    after = risks(server, board, first=2, after=cursors[0])
    assert [e["node"]["key"] for e in after["edges"]] == [keys[1], keys[3]]
    assert after["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": True} and after["totalCount"] == 4


def test_risk_history_shows_every_change_with_before_and_after(server: Server) -> None:
    board = create_board(server)
    story = create_story(server, board)
    key = create_risk(server, board, "Bank API unstable", 3, 4)
    mutate(server, "updateRisk", {"riskKey": key, "impact": 5, "owner": "bob"}, "risk { key }")
    mutate(server, "setRiskState", {"riskKey": key, "state": "OCCURRED"}, "risk { key }")
    mutate(server, "linkRisk", {"riskKey": key, "storyKeys": [story]}, "risk { key }")
    data = server.post(
        """query($k: String!) { risk(key: $k) { score owner state stories { key }
             history { edges { node { eventType changes { field from to } } } }
             recent: history(last: 1) { edges { node { eventType } } } } }""",
        {"k": key},
    )["risk"]
    assert (data["score"], data["owner"], data["state"], data["stories"]) == (
        15,
        "bob",
        "OCCURRED",
        [{"key": story}],
    )
    history = [(e["node"]["eventType"], e["node"]["changes"]) for e in data["history"]["edges"]]
    assert [event for event, _ in history] == ["RiskCreated", "RiskUpdated", "RiskStateChanged", "RiskLinked"]
    assert history[1][1] == [
        {"field": "impact", "from": 4, "to": 5},
        {"field": "owner", "from": None, "to": "bob"},
    ]
    assert history[2][1] == [{"field": "state", "from": "OPEN", "to": "OCCURRED"}]
    assert data["recent"]["edges"] == [{"node": {"eventType": "RiskLinked"}}]
    # An invalid change is a typed error and records nothing.
    head = server.head()
    refused = mutate(server, "setRiskState", {"riskKey": key, "state": "MITIGATING"}, "risk { key }")
    assert [e["code"] for e in refused["errors"]] == ["INVALID_TRANSITION"] and server.head() == head


def test_milestone_slips_and_health_override(server: Server) -> None:
    board = create_board(server)
    epic = mutate(
        server,
        "createEpic",
        {"boardKey": board, "title": "Checkout", "targetDate": "2026-12-01"},
        "epic { key }",
    )
    key = epic["epic"]["key"]
    create_story(server, board, points=5, epicKey=key)
    later = mutate(
        server,
        "setEpicTargetDate",
        {"epicKey": key, "targetDate": "2026-12-15", "reason": " "},
        "epic { key }",
    )
    assert [(e["code"], e["field"]) for e in later["errors"]] == [("VALIDATION", "reason")]
    moved = mutate(
        server,
        "setEpicTargetDate",
        {"epicKey": key, "targetDate": "2026-12-15", "reason": "PSP late"},
        "epic { targetDate slips { from to reason actor } }",
    )
    assert moved["epic"] == {
        "targetDate": "2026-12-15",
        "slips": [{"from": "2026-12-01", "to": "2026-12-15", "reason": "PSP late", "actor": "alice"}],
    }
    overridden = mutate(
        server,
        "setEpicHealth",
        {"epicKey": key, "health": "OFF_TRACK", "reason": "vendor"},
        "epic { health healthReason healthOverridden }",
    )
    assert overridden["epic"] == {"health": "OFF_TRACK", "healthReason": "vendor", "healthOverridden": True}
    cleared = mutate(
        server,
        "setEpicHealth",
        {"epicKey": key, "health": None},
        "epic { health healthOverridden healthReason"
        " progress { totalPoints remainingPoints forecastDateP50 } }",
    )
    assert cleared["epic"]["health"] == "ON_TRACK" and cleared["epic"]["healthOverridden"] is False
    assert cleared["epic"]["healthReason"].startswith("no forecast yet")
    assert cleared["epic"]["progress"] == {
        "totalPoints": 5.0,
        "remainingPoints": 5.0,
        "forecastDateP50": None,
    }


UPDATES = """query($k: String!, $last: Int, $before: String) { board(key: $k) {
  statusDraft { completedPoints health markdown completedStories { key points } }
  statusUpdates(last: $last, before: $before) { edges { cursor node { summary health
    figures { completedPoints completedStories { key points } } markdown } } totalCount } } }"""


def test_draft_then_publish_then_newest_first(server: Server) -> None:
    board = create_board(server)
    story = create_story(server, board, points=3)
    mutate(server, "moveStory", {"storyKey": story, "toColumn": "DONE"}, "story { key }")
    draft = server.post(UPDATES, {"k": board})["board"]["statusDraft"]
    assert draft["completedStories"] == [{"key": story, "points": 3.0}] and draft["completedPoints"] == 3
    assert f"- {story} A story (3 points)" in draft["markdown"]
    first = mutate(
        server,
        "publishStatusUpdate",
        {"boardKey": board, "health": "ON_TRACK", "summary": "First"},
        "statusUpdate { id summary }",
    )
    assert first["errors"] == [] and first["statusUpdate"]["summary"] == "First"
    # The next draft starts after the published one: nothing done since.
    mutate(server, "estimateStory", {"storyKey": story, "points": 8}, "story { key }")
    data = server.post(UPDATES, {"k": board})["board"]
    assert data["statusDraft"]["completedStories"] == []
    published = data["statusUpdates"]["edges"][0]["node"]
    assert published["figures"]["completedStories"] == [{"key": story, "points": 3.0}]
    mutate(
        server,
        "publishStatusUpdate",
        {"boardKey": board, "health": "AT_RISK", "summary": "Second"},
        "statusUpdate { id }",
    )
    updates = server.post(UPDATES, {"k": board})["board"]["statusUpdates"]
    assert [e["node"]["summary"] for e in updates["edges"]] == ["Second", "First"]
    assert updates["edges"][1]["node"] == published
    older = server.post(UPDATES, {"k": board, "last": 1, "before": updates["edges"][1]["cursor"]})
    assert [e["node"]["summary"] for e in older["board"]["statusUpdates"]["edges"]] == ["Second"]


READS = """query($k: String!, $risk: String!, $riskId: ID!, $updateId: ID!) {
  board(key: $k) {
    budget { amount }
    risks { totalCount }
    statusDraft { health }
    statusUpdates { totalCount }
    epics { health healthReason progress { totalPoints } slips { reason } }
  }
  risk(key: $risk) { key history { totalCount } }
  riskNode: node(id: $riskId) { ... on Risk { key } }
  updateNode: node(id: $updateId) { ... on StatusUpdate { summary figures { health } } }
}"""


def test_a_viewer_reads_all_of_it_and_an_outsider_nothing(server: Server) -> None:
    board = create_board(server)
    mutate(server, "grantRole", {"boardKey": board, "user": "vera", "role": "VIEWER"}, "board { key }")
    mutate(server, "createEpic", {"boardKey": board, "title": "Checkout"}, "epic { key }")
    set_budget(server, board, "500.00")
    risk = mutate(
        server,
        "createRisk",
        {"boardKey": board, "title": "R", "probability": 1, "impact": 1},
        "risk { id key }",
    )["risk"]
    update = mutate(
        server,
        "publishStatusUpdate",
        {"boardKey": board, "health": "ON_TRACK", "summary": "Kick-off"},
        "statusUpdate { id }",
    )["statusUpdate"]
    variables = {"k": board, "risk": risk["key"], "riskId": risk["id"], "updateId": update["id"]}
    seen = server.post(READS, variables, user="vera")
    assert seen["board"]["budget"] == {"amount": "500.00"}
    assert seen["board"]["risks"]["totalCount"] == seen["board"]["statusUpdates"]["totalCount"] == 1
    assert seen["board"]["epics"][0]["health"] == "ON_TRACK" and seen["board"]["epics"][0]["slips"] == []
    assert seen["risk"] == {"key": risk["key"], "history": {"totalCount": 1}}
    assert seen["riskNode"] == {"key": risk["key"]}
    assert seen["updateNode"]["summary"] == "Kick-off"
    hidden = server.post(READS, variables, user="outsider")
    assert (hidden["board"], hidden["risk"], hidden["riskNode"], hidden["updateNode"]) == (
        None,
        None,
        None,
        None,
    )
