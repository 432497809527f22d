"""Project control over the scripted two-sprint history, against figures computed by hand."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storyline_domain.board import board_id
from storyline_domain.errors import InvalidTransitionError, ValidationError
from storyline_service.application import Caller
from storyline_service.bootstrap import Runtime
from storyline_service.control import commands as control
from storyline_service.control.draft import status_draft
from storyline_service.control.figures import budget_figures, derived_health, epic_status, slips_of
from storyline_service.control.money import money_text, parse_money, round_money
from storyline_service.control.queries import published_updates, risks_of
from storyline_service.projections.rebuild import rebuild
from tests.control.scenario import BOARD, EPIC, by, sprint_one, sprint_two
from tests.helpers import at, importing


def test_epic_health_at_several_moments(runtime: Runtime) -> None:
    """After sprint 1 (today Sat Oct 17, no sprint active) the epic has 2+8+5 = 15 points left and one
    closed sprint of 8 points to sample: 2 sprints at every percentile, of 10 working days each (the
    sprints' planned length, Mon to Fri twice): 20 working days after Oct 17 = Fri Nov 13, after the
    target of Nov 4: OFF_TRACK. After sprint 2 (today Sat Oct 31) 8 points are left (CTL-5, re-estimated
    from 5) and sprints of 8 or 10 points: 1 sprint, Fri Nov 13, before the new target of Nov 27:
    ON_TRACK."""
    sprint_one(runtime)
    engine = runtime.engine
    after_one = epic_status(engine, EPIC, date(2026, 10, 17))
    assert after_one is not None
    assert (after_one.total_points, after_one.completed_points, after_one.remaining_points) == (23, 8, 15)
    assert (after_one.forecast_p50, after_one.forecast_p85) == (date(2026, 11, 13), date(2026, 11, 13))
    assert after_one.health.value == "OFF_TRACK" and not after_one.overridden

    sprint_two(runtime)
    after_two = epic_status(engine, EPIC, date(2026, 10, 31))
    assert after_two is not None
    assert (after_two.total_points, after_two.completed_points, after_two.remaining_points) == (26, 18, 8)
    assert (after_two.forecast_p50, after_two.forecast_p85) == (date(2026, 11, 13), date(2026, 11, 13))
    assert after_two.health.value == "ON_TRACK"

    control.set_epic_health(runtime.app, by("31 09:00"), EPIC, "AT_RISK", "the PSP may slip again")
    overridden = epic_status(engine, EPIC, date(2026, 10, 31))
    assert overridden is not None
    assert (overridden.health.value, overridden.reason, overridden.overridden) == (
        "AT_RISK",
        "the PSP may slip again",
        True,
    )
    control.set_epic_health(runtime.app, by("31 10:00"), EPIC, None, None)
    cleared = epic_status(engine, EPIC, date(2026, 10, 31))
    assert cleared is not None and (cleared.health.value, cleared.overridden) == ("ON_TRACK", False)


def test_the_health_rule_at_its_boundaries() -> None:
    target = date(2026, 11, 27)
    assert derived_health(target, 5, date(2026, 11, 20), target, None)[0].value == "ON_TRACK"
    assert derived_health(target, 5, target, date(2026, 11, 28), None)[0].value == "AT_RISK"
    assert derived_health(target, 5, date(2026, 11, 28), date(2026, 12, 9), None)[0].value == "OFF_TRACK"
    assert derived_health(None, 5, None, None, "no sprints")[0].value == "ON_TRACK"
    assert derived_health(target, 0, None, None, "no sprints")[0].value == "ON_TRACK"


def test_slip_history_keeps_every_change_with_its_reason(runtime: Runtime) -> None:
    sprint_one(runtime)
    sprint_two(runtime)
    slips = [(s.from_date, s.to_date, s.reason, s.actor) for s in slips_of(runtime.engine, EPIC)]
    assert slips == [
        (date(2026, 11, 6), date(2026, 11, 4), "", "alice"),
        (date(2026, 11, 4), date(2026, 11, 27), "PSP contract signed late", "alice"),
    ]
    with pytest.raises(ValidationError) as refused:
        control.set_epic_target_date(runtime.app, by("31 09:00"), EPIC, date(2026, 12, 4), "  ")
    assert refused.value.field == "reason"
    assert len(slips_of(runtime.engine, EPIC)) == 2


def test_budget_burn_and_variance(runtime: Runtime) -> None:
    """PER_POINT at 250.00: sprint 1 committed 10 points (planned 2500.00) and completed 8 (2000.00);
    sprint 2 committed and completed 10 (2500.00 each). Spent 4500.00. Left on the board: CTL-5 (8)
    and CTL-6 (3) = 11 points, 2750.00: at completion 7250.00, variance 10000.00 - 7250.00 = 2750.00."""
    sprint_one(runtime)
    s1 = budget_figures(runtime.engine, BOARD, date(2026, 10, 17))
    assert s1 is not None
    # After sprint 1: 26 - 8 = 18 points left, 4500.00; at completion 2000.00 + 4500.00.
    assert (s1["spent_to_date"], s1["forecast_at_completion"], s1["variance"]) == (
        "2000.00",
        "6500.00",
        "3500.00",
    )
    sprint_two(runtime)
    budget = budget_figures(runtime.engine, BOARD, date(2026, 10, 31))
    assert budget is not None
    assert [(s["sprint_name"], s["planned"], s["actual"]) for s in budget["by_sprint"]] == [
        ("Sprint 1", "2500.00", "2000.00"),
        ("Sprint 2", "2500.00", "2500.00"),
    ]
    assert (budget["amount"], budget["rate"], budget["currency"], budget["basis"]) == (
        "10000.00",
        "250.00",
        "EUR",
        "PER_POINT",
    )
    assert (budget["spent_to_date"], budget["forecast_at_completion"], budget["variance"]) == (
        "4500.00",
        "7250.00",
        "2750.00",
    )

    # A rate of 333.333 rounds half-even to cents: 8 x = 2666.664 -> 2666.66, 10 x = 3333.33,
    # spent 5999.99; 11 x = 3666.663 -> 3666.66; at completion 9666.65; variance 333.35.
    control.set_budget(
        runtime.app, by("31 09:00"), BOARD, "EUR", "10000.00", "PER_POINT", "333.333", "new rate"
    )
    rounded = budget_figures(runtime.engine, BOARD, date(2026, 10, 31))
    assert rounded is not None
    assert (rounded["spent_to_date"], rounded["forecast_at_completion"], rounded["variance"]) == (
        "5999.99",
        "9666.65",
        "333.35",
    )

    # PER_SPRINT at 4000.00: 2 closed sprints spent 8000.00; 11 points at 8 or 10 a sprint take 2
    # more sprints, 8000.00: at completion 16000.00, variance 20000.00 - 16000.00 = 4000.00.
    control.set_budget(runtime.app, by("31 10:00"), BOARD, "EUR", "20000", "PER_SPRINT", "4000.00", None)
    per_sprint = budget_figures(runtime.engine, BOARD, date(2026, 10, 31))
    assert per_sprint is not None
    assert (per_sprint["spent_to_date"], per_sprint["forecast_at_completion"], per_sprint["variance"]) == (
        "8000.00",
        "16000.00",
        "4000.00",
    )


def test_rounding_is_half_even_to_the_currency_minor_unit() -> None:
    assert round_money(Decimal("2.345"), "EUR") == Decimal("2.34")
    assert round_money(Decimal("2.355"), "EUR") == Decimal("2.36")
    assert round_money(Decimal("1250.5"), "JPY") == Decimal("1250")
    assert round_money(Decimal("1251.5"), "JPY") == Decimal("1252")
    assert round_money(Decimal("1.0005"), "BHD") == Decimal("1.000")


def test_malformed_money_is_refused_and_changes_nothing(runtime: Runtime) -> None:
    runtime.app.create_board(importing(by("01 09:00")), BOARD, "Control", None)
    for amount, currency, field in [
        (12.5, "EUR", "amount"),
        ("12,50", "EUR", "amount"),
        ("NaN", "EUR", "amount"),
        ("-1", "EUR", "amount"),
        ("12.345", "EUR", "amount"),
        ("1000.5", "JPY", "amount"),
        ("100", "EURO", "currency"),
        ("100", "ABC", "currency"),
    ]:
        with pytest.raises(ValidationError) as refused:
            control.set_budget(runtime.app, by("01 10:00"), BOARD, currency, amount, "PER_POINT", "1", None)
        assert refused.value.field == field, (amount, currency)
    assert budget_figures(runtime.engine, BOARD) is None


def test_risk_scores_and_ordering(runtime: Runtime) -> None:
    """R1 3x4 = 12 (MITIGATING), R2 2x3 then impact 5: 10 (OPEN), R3 4x4 = 16 (OCCURRED)."""
    sprint_one(runtime)
    sprint_two(runtime)
    everything = risks_of(runtime.engine, BOARD)
    assert [(r.key, r.score, r.state) for r in everything] == [
        ("CTL-R3", 16, "OCCURRED"),
        ("CTL-R1", 12, "MITIGATING"),
        ("CTL-R2", 10, "OPEN"),
    ]
    assert [r.key for r in risks_of(runtime.engine, BOARD, state="OPEN")] == ["CTL-R2"]
    assert [r.key for r in risks_of(runtime.engine, BOARD, min_score=11)] == ["CTL-R3", "CTL-R1"]
    with pytest.raises(InvalidTransitionError):
        control.set_risk_state(runtime.app, by("31 09:00"), "CTL-R3", "MITIGATING")
    with pytest.raises(ValidationError) as refused:
        control.update_risk(runtime.app, by("31 09:00"), "CTL-R1", {"probability": 6})
    assert refused.value.field == "probability"
    control.link_risk(runtime.app, by("31 10:00"), "CTL-R1", ["CTL-2", "CTL-1"], [EPIC])
    linked = risks_of(runtime.engine, BOARD, min_score=12)[1]
    assert (linked.key, linked.story_keys, linked.epic_keys) == ("CTL-R1", ["CTL-1", "CTL-2"], [EPIC])


def test_status_draft_over_the_second_sprint(runtime: Runtime) -> None:
    """From Oct 17 to Oct 31: CTL-3 (2) and CTL-4 (8) done, 10 points; CTL-5 re-estimated 5 -> 8, +3;
    sprint 2 met its goal; the epic slipped Nov 4 -> Nov 27; R3 occurred (16), R2 escalated 6 -> 10.
    Health AT_RISK, for the risk that occurred; the epic is on track and the budget holds."""
    sprint_one(runtime)
    sprint_two(runtime)
    draft = status_draft(
        runtime.engine, BOARD, at("2026-10-17 00:00"), at("2026-10-31 00:00"), date(2026, 10, 31)
    )
    assert [(s["key"], s["points"], s["status"]) for s in draft["completed_stories"]] == [
        ("CTL-3", 2.0, "DONE"),
        ("CTL-4", 8.0, "DONE"),
    ]
    assert (draft["completed_points"], draft["scope_added_points"], draft["scope_removed_points"]) == (
        10,
        3,
        0,
    )
    assert [(g["sprint_name"], g["goal"], g["met"]) for g in draft["sprint_goals"]] == [
        ("Sprint 2", "3DS", True)
    ]
    assert [
        (s["epic_key"], s["slip"]["from"], s["slip"]["to"], s["slip"]["reason"]) for s in draft["slips"]
    ] == [(EPIC, "2026-11-04", "2026-11-27", "PSP contract signed late")]
    assert [(r["risk_key"], r["change"], r["score"], r["state"]) for r in draft["risks"]] == [
        ("CTL-R3", "OCCURRED", 16, "OCCURRED"),
        ("CTL-R2", "ESCALATED", 10, "OPEN"),
    ]
    assert draft["budget"]["variance"] == "2750.00"
    assert (draft["health"], draft["health_reasons"]) == ("AT_RISK", ["risk CTL-R3 PCI audit occurred"])
    assert (
        "## Milestones slipped\n- CTL-E1 Checkout: 2026-11-04 to 2026-11-27 (PSP contract signed late)"
        in (draft["markdown"])
    )


def test_status_draft_over_the_first_sprint(runtime: Runtime) -> None:
    """From the start to Oct 17: CTL-1 and CTL-2 done (8); 26 points of new stories; sprint 1 missed
    its goal; three new risks. The epic is OFF_TRACK (Nov 13 after Nov 4): the worst health."""
    sprint_one(runtime)
    draft = status_draft(
        runtime.engine, BOARD, at("2026-10-01 00:00"), at("2026-10-17 00:00"), date(2026, 10, 17)
    )
    assert [s["key"] for s in draft["completed_stories"]] == ["CTL-1", "CTL-2"]
    assert (draft["completed_points"], draft["scope_added_points"], draft["scope_removed_points"]) == (
        8,
        26,
        0,
    )
    assert [(g["sprint_name"], g["met"]) for g in draft["sprint_goals"]] == [("Sprint 1", False)]
    assert draft["slips"] == []  # moved earlier, not a slip
    assert [(r["risk_key"], r["change"]) for r in draft["risks"]] == [
        ("CTL-R3", "NEW"),
        ("CTL-R1", "NEW"),
        ("CTL-R2", "NEW"),
    ]
    assert draft["health"] == "OFF_TRACK"
    assert draft["health_reasons"][0].startswith("CTL-E1 Checkout is OFF_TRACK")
    assert "risk CTL-R3 PCI audit is OPEN with score 16" in draft["health_reasons"]
    assert "Sprint 1 missed its goal" in draft["health_reasons"]


def test_a_published_update_never_changes(runtime: Runtime) -> None:
    """The live draft follows the history; the published update keeps its figures, through a
    re-estimate of a story it reported and through a rebuild of every read model."""
    sprint_one(runtime)
    sprint_two(runtime)
    since = at("2026-10-17 00:00")
    update_id = control.publish_status_update(
        runtime.app, runtime.engine, by("31 09:00"), BOARD, "AT_RISK", "Second sprint done", since
    )
    published = published_updates(runtime.engine, BOARD)
    assert [(u.id, u.health, u.summary) for u in published] == [(update_id, "AT_RISK", "Second sprint done")]
    frozen = published[0].figures
    assert frozen["completed_points"] == 10

    runtime.app.estimate_story(by("31 10:00"), "CTL-3", 3)
    live = status_draft(runtime.engine, BOARD, since, at("2026-10-31 11:00"), date(2026, 10, 31))
    assert live["completed_points"] == 11
    rebuild(runtime.projector, runtime.projector.projections)
    again = published_updates(runtime.engine, BOARD)
    assert [(u.id, u.figures, u.markdown) for u in again] == [(update_id, frozen, published[0].markdown)]

    # The next draft starts where the published one ended.
    second = control.publish_status_update(
        runtime.app, runtime.engine, by("31 12:00"), BOARD, "ON_TRACK", "Re-estimated"
    )
    newest = published_updates(runtime.engine, BOARD)
    assert [u.id for u in newest] == [second, update_id]
    assert newest[0].since == at("2026-10-31 09:00")
    assert newest[0].figures["scope_added_points"] == 1


def test_money_round_trips_through_the_event_store_and_the_read_models(runtime: Runtime) -> None:
    app = runtime.app
    app.create_board(importing(by("01 09:00")), BOARD, "Control", None)
    control.set_budget(
        app, by("01 10:00"), BOARD, "EUR", "98765432109876543.21", "PER_SPRINT", "0.0000001", None
    )
    board = app.repository.get(board_id(BOARD))
    assert board.budget["amount"].as_tuple() == Decimal("98765432109876543.21").as_tuple()
    assert board.budget["rate"].as_tuple() == Decimal("0.0000001").as_tuple()
    # Stored as exact strings in the event, never as JSON numbers.
    stored = b"".join(n.state for n in app.recorder.select_notifications(start=1, limit=1000))
    assert b'"98765432109876543.21"' in stored
    for attempt in range(2):  # the live read model, then the one a rebuild makes
        budget = budget_figures(runtime.engine, BOARD)
        assert budget is not None, attempt
        assert (budget["amount"], budget["rate"], budget["variance"]) == (
            "98765432109876543.21",
            "0.0000001",
            "98765432109876543.21",
        )
        rebuild(runtime.projector, runtime.projector.projections)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=0, max_value=10**15))
def test_amounts_parse_back_from_their_text_exactly(amount: Decimal) -> None:
    parsed = parse_money(money_text(amount), "amount")
    assert parsed == amount and parsed.as_tuple().exponent == amount.as_tuple().exponent
    assert round_money(parsed, "EUR") == parsed


def test_sixteen_managers_raising_risks_at_once_get_gap_free_keys(runtime: Runtime) -> None:
    runtime.app.create_board(importing(by("01 09:00")), BOARD, "Control", None)

    def raise_risk(n: int) -> str:
        return control.create_risk(
            runtime.app, Caller("alice"), BOARD, {"title": f"Risk {n}", "probability": 1 + n % 5, "impact": 2}
        )

    with ThreadPoolExecutor(16) as pool:
        keys = list(pool.map(raise_risk, range(16)))
    assert sorted(keys) == sorted(f"{BOARD}-R{n}" for n in range(1, 17))
    register = risks_of(runtime.engine, BOARD)
    assert len(register) == 16
    assert [r.score for r in register] == sorted((r.score for r in register), reverse=True)


def test_a_risk_refuses_bad_edits_and_records_nothing(runtime: Runtime) -> None:
    runtime.app.create_board(importing(by("01 09:00")), BOARD, "Control", None)
    key = control.create_risk(
        runtime.app, by("01 10:00"), BOARD, {"title": "R", "probability": 2, "impact": 2}
    )
    head = runtime.app.recorder.max_notification_id()
    for fields, field in [
        ({"title": None}, "title"),
        ({"title": "  "}, "title"),
        ({"impact": 0}, "impact"),
        ({"probability": None}, "probability"),
        ({"probability": 2}, "probability"),  # no change
    ]:
        with pytest.raises(ValidationError) as refused:
            control.update_risk(runtime.app, by("01 11:00"), key, fields)
        assert refused.value.field == field, fields
    assert runtime.app.recorder.max_notification_id() == head
