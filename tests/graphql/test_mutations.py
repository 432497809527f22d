"""Every mutation on success: the payload shows the change, and the next read through the API sees it."""

from __future__ import annotations

from typing import Any

from tests.graphql.conftest import Server, create_board, create_story, mutate, new_board_key

STORY_FIELDS = """{
  key version title description type priority labels points assignee rank
  blocked blockedReason archived status { key } epic { key } sprint { id }
}"""
STORY = f"story {STORY_FIELDS}"
SPRINT = """sprint {
  id name goal state startDate endDate startedAt completedAt version stories { edges { node { key } } }
}"""


def read_story(server: Server, key: str) -> Any:
    return server.post(f'{{ story(key: "{key}") {STORY_FIELDS} }}')["story"]


def succeed(server: Server, mutation: str, input: dict[str, Any], selection: str, **kw: Any) -> Any:
    head = server.head()
    payload = mutate(server, mutation, input, selection, **kw)
    assert payload["errors"] == [], payload
    assert server.head() > head
    return payload


def test_create_board_with_default_and_custom_columns(server: Server) -> None:
    key = new_board_key()
    payload = succeed(
        server,
        "createBoard",
        {"key": key, "name": "Payments", "clientMutationId": "new-board"},
        "board { id key name version columns { key name category wipLimit } }",
    )
    board = payload["board"]
    assert (board["key"], board["name"], board["version"]) == (key, "Payments", 1)
    assert [c["key"] for c in board["columns"]] == ["TODO", "IN_PROGRESS", "DONE"]
    assert payload["clientMutationId"] == "new-board"
    assert server.post(f'{{ board(key: "{key}") {{ id name }} }}')["board"] == {
        "id": board["id"],
        "name": "Payments",
    }

    custom = [
        {"key": "NEW", "name": "New", "category": "TODO"},
        {"key": "SHIP", "name": "Shipped", "category": "DONE"},
    ]
    payload = succeed(
        server,
        "createBoard",
        {"key": new_board_key(), "name": "Ops", "columns": custom},
        "board { columns { key } }",
    )
    assert [c["key"] for c in payload["board"]["columns"]] == ["NEW", "SHIP"]


def test_configure_columns_with_expected_version(server: Server) -> None:
    key = create_board(server)
    columns = [
        {"key": "TODO", "name": "Backlog", "category": "TODO"},
        {"key": "REVIEW", "name": "Review", "category": "IN_PROGRESS", "wipLimit": 2},
        {"key": "DONE", "name": "Done", "category": "DONE"},
    ]
    payload = succeed(
        server,
        "configureColumns",
        {"boardKey": key, "columns": columns, "expectedVersion": 1},
        "board { version columns { key name wipLimit } }",
    )
    assert payload["board"]["version"] == 2
    assert payload["board"]["columns"][1] == {"key": "REVIEW", "name": "Review", "wipLimit": 2}


def test_grant_and_revoke_role(server: Server) -> None:
    key = create_board(server)
    succeed(server, "grantRole", {"boardKey": key, "user": "carol", "role": "MANAGER"}, "board { key }")
    roles = server.post("{ viewer { name roles { boardKey role } } }", user="carol")["viewer"]
    assert roles == {"name": "carol", "roles": [{"boardKey": key, "role": "MANAGER"}]}
    # The new manager can now plan sprints on the board.
    sprint = {"boardKey": key, "name": "S1", "startDate": "2026-01-05", "endDate": "2026-01-16"}
    succeed(server, "createSprint", sprint, "sprint { id }", user="carol")

    succeed(server, "revokeRole", {"boardKey": key, "user": "carol"}, "board { key }")
    assert server.post("{ viewer { roles { boardKey } } }", user="carol")["viewer"]["roles"] == []


def test_create_story_and_edit_every_field(server: Server) -> None:
    key = create_board(server)
    for user in ("bob", "carol"):  # stories are assigned to members
        succeed(server, "grantRole", {"boardKey": key, "user": user, "role": "MEMBER"}, "board { key }")
    epic = succeed(
        server,
        "createEpic",
        {"boardKey": key, "title": "Checkout", "targetDate": "2026-06-30"},
        "epic { key title targetDate totalPoints }",
    )["epic"]
    assert epic == {"key": f"{key}-E1", "title": "Checkout", "targetDate": "2026-06-30", "totalPoints": 0.0}
    created = succeed(
        server,
        "createStory",
        {
            "boardKey": key,
            "title": "Pay by card",
            "description": "Visa and Mastercard",
            "type": "BUG",
            "priority": "HIGH",
            "labels": ["payments", "ui"],
            "points": 3,
            "assignee": "bob",
            "epicKey": epic["key"],
        },
        STORY,
    )["story"]
    assert created["key"] == f"{key}-1"
    assert (created["type"], created["priority"], created["points"], created["assignee"]) == (
        "BUG",
        "HIGH",
        3.0,
        "bob",
    )
    assert created["status"] == {"key": "TODO"} and created["epic"] == {"key": epic["key"]}
    assert created["labels"] == ["payments", "ui"]
    story = created["key"]

    edited = succeed(
        server,
        "updateStory",
        {"storyKey": story, "title": "Pay by any card", "labels": ["payments"], "expectedVersion": 1},
        STORY,
    )["story"]
    assert (edited["title"], edited["labels"], edited["version"]) == ("Pay by any card", ["payments"], 2)
    assert edited["description"] == "Visa and Mastercard"  # left out, so unchanged

    assert succeed(server, "estimateStory", {"storyKey": story, "points": 5}, STORY)["story"]["points"] == 5.0
    assert (
        succeed(server, "estimateStory", {"storyKey": story, "points": None}, STORY)["story"]["points"]
        is None
    )
    assert (
        succeed(server, "assignStory", {"storyKey": story, "assignee": "carol"}, STORY)["story"]["assignee"]
        == "carol"
    )
    assert succeed(server, "assignStory", {"storyKey": story}, STORY)["story"]["assignee"] is None
    moved = succeed(server, "moveStory", {"storyKey": story, "toColumn": "IN_PROGRESS"}, STORY)["story"]
    assert moved["status"] == {"key": "IN_PROGRESS"}
    blocked = succeed(server, "blockStory", {"storyKey": story, "reason": "waiting on the bank"}, STORY)[
        "story"
    ]
    assert (blocked["blocked"], blocked["blockedReason"]) == (True, "waiting on the bank")
    unblocked = succeed(server, "unblockStory", {"storyKey": story}, STORY)["story"]
    assert (unblocked["blocked"], unblocked["blockedReason"]) == (False, None)
    assert succeed(server, "setStoryEpic", {"storyKey": story}, STORY)["story"]["epic"] is None
    assert succeed(server, "setStoryEpic", {"storyKey": story, "epicKey": epic["key"]}, STORY)["story"][
        "epic"
    ] == {"key": epic["key"]}
    archived = succeed(server, "archiveStory", {"storyKey": story}, STORY)["story"]
    assert archived["archived"] is True

    # Read-your-writes: the next query sees the last change.
    assert read_story(server, story) == archived
    board = server.post(
        """query($key: String!) { board(key: $key) {
          stories { totalCount }
          archived: stories(filter: {archived: true}) { edges { node { key } } }
        } }""",
        {"key": key},
    )["board"]
    assert board["stories"]["totalCount"] == 0
    assert board["archived"]["edges"] == [{"node": {"key": story}}]


def test_rank_story_before_and_after(server: Server) -> None:
    key = create_board(server)
    first, second, third = (create_story(server, key, title) for title in ("one", "two", "three"))

    def order() -> list[str]:
        data = server.post(f'{{ board(key: "{key}") {{ backlog {{ edges {{ node {{ key }} }} }} }} }}')
        return [e["node"]["key"] for e in data["board"]["backlog"]["edges"]]

    succeed(server, "rankStory", {"storyKey": third, "before": first}, STORY)
    assert order() == [third, first, second]
    succeed(server, "rankStory", {"storyKey": third, "after": second}, STORY)
    assert order() == [first, second, third]
    succeed(server, "rankStory", {"storyKey": first, "after": second, "before": third}, STORY)
    assert order() == [second, first, third]


def test_sprint_lifecycle(server: Server) -> None:
    key = create_board(server)
    stories = [
        create_story(server, key, title, points=points) for title, points in (("a", 3), ("b", 5), ("c", 2))
    ]
    sprint = succeed(
        server,
        "createSprint",
        {
            "boardKey": key,
            "name": "Sprint 1",
            "goal": "Cards",
            "startDate": "2026-01-05",
            "endDate": "2026-01-16",
        },
        SPRINT,
    )["sprint"]
    assert (sprint["state"], sprint["goal"], sprint["startDate"], sprint["version"]) == (
        "PLANNED",
        "Cards",
        "2026-01-05",
        1,
    )
    sprint_id = sprint["id"]
    updated = succeed(
        server,
        "updateSprint",
        {"sprintId": sprint_id, "name": "Sprint One", "endDate": "2026-01-19", "expectedVersion": 1},
        SPRINT,
    )["sprint"]
    assert (updated["name"], updated["endDate"], updated["goal"]) == ("Sprint One", "2026-01-19", "Cards")
    for story in stories:
        succeed(server, "addStoryToSprint", {"sprintId": sprint_id, "storyKey": story}, SPRINT)
    removed = succeed(
        server, "removeStoryFromSprint", {"sprintId": sprint_id, "storyKey": stories[2]}, SPRINT
    )["sprint"]
    assert [e["node"]["key"] for e in removed["stories"]["edges"]] == stories[:2]

    started = succeed(server, "startSprint", {"sprintId": sprint_id}, SPRINT)["sprint"]
    assert started["state"] == "ACTIVE" and started["startedAt"]
    board = server.post(
        f'{{ board(key: "{key}") {{ activeSprint {{ id }} backlog {{ edges {{ node {{ key }} }} }} }} }}'
    )["board"]
    assert board["activeSprint"] == {"id": sprint_id}
    assert [e["node"]["key"] for e in board["backlog"]["edges"]] == [stories[2]]

    succeed(server, "moveStory", {"storyKey": stories[0], "toColumn": "DONE"}, STORY)
    next_sprint = succeed(
        server,
        "createSprint",
        {"boardKey": key, "name": "Sprint 2", "startDate": "2026-01-19", "endDate": "2026-01-30"},
        "sprint { id }",
    )["sprint"]["id"]
    completed = succeed(
        server, "completeSprint", {"sprintId": sprint_id, "carryOverTo": next_sprint}, SPRINT
    )["sprint"]
    assert completed["state"] == "CLOSED" and completed["completedAt"]
    assert [e["node"]["key"] for e in completed["stories"]["edges"]] == [stories[0]]
    carried = server.post(
        f'{{ sprint(id: "{next_sprint}") {{ stories {{ edges {{ node {{ key sprint {{ name }} }} }} }} }} }}'
    )
    assert carried["sprint"]["stories"]["edges"] == [
        {"node": {"key": stories[1], "sprint": {"name": "Sprint 2"}}}
    ]
    board = server.post(
        """query($key: String!) { board(key: $key) {
          activeSprint { id } sprints(state: CLOSED) { edges { node { id } } }
        } }""",
        {"key": key},
    )["board"]
    assert board == {"activeSprint": None, "sprints": {"edges": [{"node": {"id": sprint_id}}]}}


def test_epic_totals_follow_the_stories(server: Server) -> None:
    key = create_board(server)
    epic = succeed(server, "createEpic", {"boardKey": key, "title": "Refunds"}, "epic { key }")["epic"]["key"]
    done = create_story(server, key, "done", points=5, epicKey=epic)
    create_story(server, key, "open", points=3, epicKey=epic)
    succeed(server, "moveStory", {"storyKey": done, "toColumn": "DONE"}, STORY)
    data = server.post(
        """query($key: String!) { board(key: $key) {
          epics { key totalPoints completedPoints stories { totalCount } }
        } }""",
        {"key": key},
    )
    assert data["board"]["epics"] == [
        {"key": epic, "totalPoints": 8.0, "completedPoints": 5.0, "stories": {"totalCount": 2}}
    ]


def test_client_mutation_id_replays_the_first_result(server: Server) -> None:
    key = create_board(server)
    input = {"boardKey": key, "title": "Once", "clientMutationId": "import-42"}
    first = succeed(server, "createStory", input, "story { key }")
    head = server.head()

    again = mutate(server, "createStory", input, "story { key }")
    assert again == first
    assert server.head() == head

    reused = mutate(server, "createStory", {**input, "title": "Other"}, "story { key }")
    assert reused["story"] is None
    assert [(e["code"], e["field"]) for e in reused["errors"]] == [("VALIDATION", "clientMutationId")]
    assert server.head() == head
    # Keys are per user: bob's "import-42" is a different key.
    succeed(server, "grantRole", {"boardKey": key, "user": "bob", "role": "MEMBER"}, "board { key }")
    assert (
        mutate(server, "createStory", input, "story { key }", user="bob")["story"]["key"]
        != first["story"]["key"]
    )


def test_occurred_at_backfills_history(server: Server) -> None:
    # Backfilling a new board needs an admin token; alice, ADMIN on it, may then backfill its stories.
    key = create_board(server, user="admin", occurredAt="2025-03-01T09:00:00+01:00")
    grant = {"boardKey": key, "user": "alice", "role": "ADMIN"}
    assert mutate(server, "grantRole", grant, "board { key }", user="admin")["errors"] == []
    story = create_story(server, key, "Imported", occurredAt="2025-03-02T10:00:00Z")
    succeed(
        server,
        "moveStory",
        {"storyKey": story, "toColumn": "DONE", "occurredAt": "2025-03-04T16:30:00Z"},
        STORY,
    )
    data = server.post(
        """query($key: String!) { story(key: $key) {
          createdAt updatedAt history { edges { node { eventType occurredAt recordedAt } } }
        } }""",
        {"key": story},
    )["story"]
    assert data["createdAt"] == "2025-03-02T10:00:00+00:00"
    assert data["updatedAt"] == "2025-03-04T16:30:00+00:00"
    moved = data["history"]["edges"][-1]["node"]
    assert moved["eventType"] == "StoryMoved" and moved["occurredAt"] == "2025-03-04T16:30:00+00:00"
    assert moved["recordedAt"] > moved["occurredAt"]  # both kept: the move was recorded later

    # History only moves forward in business time.
    head = server.head()
    early = mutate(
        server,
        "moveStory",
        {"storyKey": story, "toColumn": "TODO", "occurredAt": "2025-03-03T00:00:00Z"},
        "story { key }",
    )
    assert [(e["code"], e["field"]) for e in early["errors"]] == [("VALIDATION", "occurredAt")]
    assert server.head() == head


def test_sprint_changes_return_the_stories_they_touched(server: Server) -> None:
    """A client keeps working with the versions a sprint payload hands back: no reload, no CONFLICT."""
    key = create_board(server)
    dates = {"startDate": "2026-01-05", "endDate": "2026-01-16"}
    sprint = succeed(server, "createSprint", {"boardKey": key, "name": "S", **dates}, "sprint { id }")
    sprint_id = sprint["sprint"]["id"]
    done, unfinished = create_story(server, key, "Done"), create_story(server, key, "Unfinished")
    touched = "sprint { id } stories { key version sprint { id } }"
    versions = {}
    for story in (done, unfinished):
        added = succeed(server, "addStoryToSprint", {"sprintId": sprint_id, "storyKey": story}, touched)
        [payload_story] = added["stories"]
        assert (payload_story["key"], payload_story["sprint"]) == (story, {"id": sprint_id})
        versions[story] = payload_story["version"]
    started = succeed(server, "startSprint", {"sprintId": sprint_id}, touched)
    assert sorted(s["key"] for s in started["stories"]) == sorted([done, unfinished])
    versions |= {s["key"]: s["version"] for s in started["stories"]}
    moved = succeed(
        server, "moveStory", {"storyKey": done, "toColumn": "DONE", "expectedVersion": versions[done]}, STORY
    )
    assert moved["story"]["status"]["key"] == "DONE"

    completed = succeed(server, "completeSprint", {"sprintId": sprint_id}, touched)
    after = {s["key"]: s for s in completed["stories"]}
    assert set(after) == {done, unfinished}
    assert after[unfinished]["sprint"] is None and after[unfinished]["version"] > versions[unfinished]
    # The carried-over story's new version is the one to use next.
    again = {"storyKey": unfinished, "toColumn": "DONE", "expectedVersion": after[unfinished]["version"]}
    assert succeed(server, "moveStory", again, STORY)["story"]["status"]["key"] == "DONE"

    refused = mutate(server, "completeSprint", {"sprintId": sprint_id}, touched)
    assert refused["errors"] and refused["stories"] == []
