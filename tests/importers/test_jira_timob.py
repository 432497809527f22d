"""Real Jira data (Titanium SDK, TIMOB), imported and checked through the API against the raw data.

The import takes the issues of the SDK board's 2017 sprints 01 to 09 (and every
other sprint those issues were in); each expectation is computed here from the
raw JSON and the story-points CSV, independently of the importer.
"""

from __future__ import annotations

import csv
import gzip
import json
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.eventlog.conftest import storyline
from tests.graphql.conftest import Server

DATA = Path("/work/shared/data/jira-timob")
if not DATA.exists():
    DATA = Path(__file__).parents[3] / "shared" / "data" / "jira-timob"
pytestmark = pytest.mark.skipif(not (DATA / "issues.jsonl.gz").exists(), reason="the TIMOB data is not here")
BOARD = "TIMOB"


def chosen(issue: dict[str, Any]) -> bool:
    return any(
        s["name"].startswith("2017 Sprint 0") and s.get("originBoardId") == 114
        for s in issue["fields"].get("closedSprints") or []
    )


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    with gzip.open(DATA / "issues.jsonl.gz", "rt", encoding="utf-8") as lines:
        kept = [line for line in lines if chosen(json.loads(line))]
    path = tmp_path_factory.mktemp("jira") / "issues.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.writelines(kept)
    return path, [json.loads(line) for line in kept]


@pytest.fixture(scope="module")
def imported(server: Server, raw: tuple[Path, list[dict[str, Any]]]) -> str:
    args = ["import", "jira", str(raw[0]), "--board", BOARD, "--story-points", str(DATA / "storypoints.csv")]
    first = storyline(server.settings, *args)
    assert first.returncode == 0, first.stdout + first.stderr
    return first.stdout


def points() -> dict[str, float]:
    with (DATA / "storypoints.csv").open() as rows:
        return {row["issuekey"]: float(row["storypoint"]) for row in csv.DictReader(rows)}


def sprints_of(issues: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for issue in issues for s in issue["fields"]["closedSprints"]}


def in_sprint(issues: list[dict[str, Any]], sprint: dict[str, Any]) -> list[dict[str, Any]]:
    """The issues Jira lists in the sprint, but for those created after it completed (they never were)."""
    return [
        i
        for i in issues
        if any(s["id"] == sprint["id"] for s in i["fields"]["closedSprints"])
        and when(i["fields"]["created"]) <= when(sprint["completeDate"])
    ]


def done_by(issue: dict[str, Any], moment: datetime) -> bool:
    fields = issue["fields"]
    return (
        fields["status"]["statusCategory"]["key"] == "done"
        and fields["resolutiondate"] is not None
        and when(fields["resolutiondate"]) <= moment
    )


SPRINTS = """query($board: String!) { board(key: $board) {
  stories(first: 1) { totalCount }
  sprints(first: 100) { edges { node { id name startDate endDate state
    report { completedPoints carriedOver { key } } } } } } }"""
JOINED = """query($sprint: ID!, $after: String) {
  auditLog(filter: {sprintId: $sprint, eventTypes: ["StorySprintChanged"]}, first: 500, after: $after) {
    edges { node { entityKey } } pageInfo { hasNextPage endCursor } } }"""


def board(server: Server) -> dict[str, Any]:
    return server.post(SPRINTS, {"board": BOARD}, user="admin")["board"]  # type: ignore[no-any-return]


def joined(server: Server, sprint_id: str) -> set[str]:
    keys: set[str] = set()
    after = None
    while True:
        page = server.post(JOINED, {"sprint": sprint_id, "after": after}, user="admin")["auditLog"]
        keys |= {edge["node"]["entityKey"] for edge in page["edges"]}
        if not page["pageInfo"]["hasNextPage"]:
            return keys
        after = page["pageInfo"]["endCursor"]


def test_stories_and_sprints_with_names_and_dates(
    server: Server, raw: tuple[Path, list[dict[str, Any]]], imported: str
) -> None:
    issues = raw[1]
    found = board(server)
    assert found["stories"]["totalCount"] == len(issues)
    expected = {
        (s["name"], s["startDate"][:10], max(s["endDate"][:10], s["startDate"][:10]), "CLOSED")
        for s in sprints_of(issues).values()
    }
    served = {
        (n["name"], n["startDate"], n["endDate"], n["state"])
        for n in (edge["node"] for edge in found["sprints"]["edges"])
    }
    assert served == expected
    assert f"{len(issues)} issues, {len(expected)} sprints" in imported


def test_each_sprint_has_the_member_issues_jira_lists(
    server: Server, raw: tuple[Path, list[dict[str, Any]]], imported: str
) -> None:
    issues = raw[1]
    by_name = {edge["node"]["name"]: edge["node"] for edge in board(server)["sprints"]["edges"]}
    for name, sprint in sprints_of(issues).items():
        expected = {
            i["key"]
            for i in in_sprint(issues, sprint)
            if when(i["fields"]["created"]) <= when(sprint["completeDate"])
        }
        assert joined(server, by_name[name]["id"]) == expected, name


def test_carry_over_and_completed_points_follow_resolution_dates(
    server: Server, raw: tuple[Path, list[dict[str, Any]]], imported: str
) -> None:
    issues, estimates = raw[1], points()
    by_name = {edge["node"]["name"]: edge["node"] for edge in board(server)["sprints"]["edges"]}
    ordered = sorted(sprints_of(issues).values(), key=lambda s: s["startDate"])
    # Sprints that began after the one before had completed run in Storyline exactly as in Jira.
    on_their_own = [s for before, s in pairwise(ordered) if s["startDate"] >= before["completeDate"]]
    assert len(on_their_own) >= 5
    for sprint in on_their_own:
        completed_at = when(sprint["completeDate"])
        members = in_sprint(issues, sprint)
        done = [i for i in members if done_by(i, completed_at)]
        report = by_name[sprint["name"]]["report"]
        assert report["completedPoints"] == sum(estimates.get(i["key"], 0) for i in done), sprint["name"]
        carried = {i["key"] for i in members if not done_by(i, completed_at)}
        assert {story["key"] for story in report["carriedOver"]} == carried, sprint["name"]


def test_a_second_run_records_nothing_new(
    server: Server, raw: tuple[Path, list[dict[str, Any]]], imported: str
) -> None:
    head = server.head()
    again = storyline(server.settings, "import", "jira", str(raw[0]), "--board", BOARD)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 events recorded" in again.stdout
    assert server.head() == head
