"""Webhook delivery from the event log, against a real HTTP receiver on loopback, on both backends."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from storyline_domain.errors import ValidationError
from storyline_service.application import Caller
from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.event_types import DESCRIPTIONS, EVENT_TYPES, check_event_types
from storyline_service.settings import Settings
from storyline_service.webhooks import management
from storyline_service.webhooks.delivery import Refused, resolve, run_webhook_deliveries
from storyline_service.webhooks.store import DELIVERED
from tests.conftest import make_settings
from tests.helpers import ALICE
from tests.receiver import Receiver, receiver

ADMIN = Caller("admin", superuser=True)
FAST = dict(
    webhook_allow_private=True,
    webhook_retry_base_seconds=0.02,
    webhook_retry_max_seconds=0.1,
    webhook_timeout_seconds=30,
)


@pytest.fixture
def fast_settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(backend, tmp_path, request, **FAST)


@contextmanager
def delivering(runtime: Runtime, settings: Settings) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=run_webhook_deliveries, args=(runtime, settings, stop))
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@pytest.fixture
def hooks(fast_settings: Settings) -> Iterator[tuple[Runtime, Receiver]]:
    runtime = bootstrap(fast_settings)
    runtime.app.create_board(ALICE, "PAY", "Payments")
    with receiver() as found:
        yield runtime, found
    runtime.close()


def delivery_ids(found: Receiver) -> list[str]:
    return [r.delivery for r in found.received() if r.status == 200]


def test_a_slow_receiver_never_holds_up_another_webhook(
    hooks: tuple[Runtime, Receiver], fast_settings: Settings
) -> None:
    runtime, found = hooks
    slow, _ = management.create_webhook(runtime, ADMIN, "PAY", found.url("/hang/1"), ["StoryCreated"])
    management.create_webhook(runtime, ADMIN, "PAY", found.url("/ok"), ["StoryCreated"])
    store = management.store_of(runtime)
    with delivering(runtime, fast_settings):
        runtime.app.create_story(ALICE, "PAY", "First")
        found.wait_for(lambda: "/hang/1" in found.arrived, "the slow webhook's request")
        found.wait_for(lambda: found.received("/ok"), "the fast webhook's delivery")
        # The slow receiver still holds its first request (it is released only below).
        assert found.received("/hang/1") == []
        [pending] = store.delivery_page(slow, 10, before=None, after=None, newest_first=True)
        assert (pending.status, pending.attempts) == ("PENDING", 0)
        found.release.set()
        found.wait_for(lambda: found.received("/hang/1"), "the slow webhook's delivery")


def test_two_deliverers_never_both_deliver(fast_settings: Settings) -> None:
    """Two processes' deliverers (two runtimes on one database) share the work: each event once."""
    first, second = bootstrap(fast_settings), bootstrap(fast_settings)
    first.app.create_board(ALICE, "PAY", "Payments")
    with receiver() as found:
        management.create_webhook(first, ADMIN, "PAY", found.url("/ok"), [])
        with delivering(first, fast_settings), delivering(second, fast_settings):
            for n in range(12):
                first.app.create_story(ALICE, "PAY", f"story {n}")
            found.wait_for(lambda: len(found.received()) >= 12, "twelve deliveries")
            # Both keep running a little longer: anything delivered twice would show now.
            head = first.projector.head()
            runtime_store = management.store_of(first)
            found.wait_for(
                lambda: all(w.position == head for w in runtime_store.of_boards(["PAY"])["PAY"]),
                "the position at the head",
            )
        counts = Counter(r.delivery for r in found.received())
    first.close()
    second.close()
    assert len(counts) == 12
    assert set(counts.values()) == {1}


def test_a_webhook_failing_past_the_limit_is_deactivated_and_can_be_activated_again(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    settings = make_settings(backend, tmp_path, request, **FAST, webhook_max_attempts=3)
    runtime = bootstrap(settings)
    runtime.app.create_board(ALICE, "PAY", "Payments")
    store = management.store_of(runtime)
    with receiver() as found, delivering(runtime, settings):
        found.down.set()
        webhook, _ = management.create_webhook(runtime, ADMIN, "PAY", found.url("/down"), [])
        runtime.app.create_story(ALICE, "PAY", "First")
        stopped = found.wait_for(lambda: not store.get(webhook).active and store.get(webhook), "deactivation")
        assert stopped.deactivated_reason.startswith("deactivated after 3 failed attempts")
        assert "HTTP 503" in stopped.deactivated_reason
        [failed] = store.delivery_page(webhook, 10, before=None, after=None, newest_first=True)
        assert (failed.status, failed.attempts, failed.last_response_code) == ("FAILED", 3, 503)
        # Later events wait behind the failed one, in log order.
        runtime.app.create_story(ALICE, "PAY", "Second")
        found.down.clear()
        management.activate_webhook(runtime, ADMIN, webhook)
        found.wait_for(lambda: len(delivery_ids(found)) == 2, "both events")
    sequences = [int(r.delivery.rsplit("-", 1)[1]) for r in found.received() if r.status == 200]
    assert sequences == sorted(sequences)
    delivered = store.delivery_page(webhook, 10, before=None, after=None, newest_first=False)
    assert [(d.status, d.attempts) for d in delivered] == [(DELIVERED, 1), (DELIVERED, 1)]
    runtime.close()


def test_the_secret_never_reaches_the_event_log(hooks: tuple[Runtime, Receiver]) -> None:
    runtime, found = hooks
    caller = Caller("admin", superuser=True, idempotency_key="make-hook")
    webhook, secret = management.create_webhook(runtime, caller, "PAY", found.url("/ok"), [])
    assert secret is not None and secret.startswith("whsec_")
    # A retry replays the webhook, not its secret.
    assert management.create_webhook(runtime, caller, "PAY", found.url("/ok"), []) == (webhook, None)
    assert len(management.store_of(runtime).of_boards(["PAY"])["PAY"]) == 1
    recorded = runtime.app.recorder.select_notifications(start=1, limit=10_000)
    assert recorded and not any(secret.encode() in n.state for n in recorded)
    assert any(webhook.encode() in n.state for n in recorded)  # the retry's receipt


# ----- refusals, at creation and at delivery -----


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://localhost/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
    ],
)
def test_internal_addresses_are_refused_without_the_setting(url: str) -> None:
    with pytest.raises(Refused, match="internal address"):
        resolve(url, allow_private=False)
    assert resolve(url, allow_private=True).url.host


def test_a_delivery_goes_to_the_checked_address_with_the_name_as_host() -> None:
    target = resolve("http://localhost:8080/hook?x=1", allow_private=True)
    assert target.url.host in ("127.0.0.1", "::1")
    assert (target.url.port, target.url.path, target.url.query) == (8080, "/hook", b"x=1")
    assert (target.host, target.sni) == ("localhost:8080", "localhost")
    assert resolve("https://[::1]/", allow_private=True).host == "[::1]"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("https:///nohost", "host"),
        ("http://127.0.0.1/", "internal address"),
        ("http://no-such-host.invalid/", "does not resolve"),
    ],
)
def test_create_refuses_bad_urls(hooks: tuple[Runtime, Receiver], url: str, message: str) -> None:
    runtime, _ = hooks
    strict = runtime.settings.model_copy(update={"webhook_allow_private": False})
    runtime = replace(runtime, settings=strict)
    with pytest.raises(ValidationError, match=message) as refused:
        management.create_webhook(runtime, ADMIN, "PAY", url, [])
    assert refused.value.field == "url"
    assert management.store_of(runtime).of_boards(["PAY"])["PAY"] == []


def test_unknown_event_types_are_refused_with_the_valid_ones_listed() -> None:
    with pytest.raises(ValidationError) as refused:
        check_event_types(["StoryMoved", "StoryMovd"])
    assert refused.value.field == "eventTypes"
    assert "StoryMovd" in refused.value.message and "StoryMoved" in refused.value.message
    assert all(name in refused.value.message for name in EVENT_TYPES)
    assert check_event_types(["StoryMoved", "StoryMoved", "BoardCreated"]) == ("StoryMoved", "BoardCreated")


def test_every_event_type_has_a_description() -> None:
    assert set(EVENT_TYPES) == set(DESCRIPTIONS)
    assert EVENT_TYPES["StoryMoved"].entity_type == "Story"
    assert EVENT_TYPES["SprintStarted"].entity_type == "Sprint"
