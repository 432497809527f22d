"""Creating, deleting and re-activating webhooks: the board's ADMINs only.

The commands run through the application's command path, so that a retry with
the same idempotency key replays the first result (its receipt is the only
thing they record in the event log, and it holds the webhook's id, never its
secret).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID, uuid4

from storyline_domain.base import Stamp, StorylineAggregate
from storyline_domain.board import Role
from storyline_domain.errors import NotFoundError
from storyline_domain.webhooks import check_url
from storyline_service.application import Caller
from storyline_service.bootstrap import Runtime
from storyline_service.event_types import check_event_types
from storyline_service.queries import Record
from storyline_service.webhooks.delivery import check_reachable
from storyline_service.webhooks.store import WebhookStore

SECRET_PREFIX = "whsec_"


def store_of(runtime: Runtime) -> WebhookStore:
    return WebhookStore(runtime.engines.write, runtime.engines.read)


def create_webhook(
    runtime: Runtime, caller: Caller, board_key: str, url: str, event_types: Sequence[str] | None
) -> tuple[str, str | None]:
    """The new webhook's id and its secret; the secret is None when an idempotent retry replays it."""
    new_id, secret = str(uuid4()), f"{SECRET_PREFIX}{secrets.token_urlsafe(32)}"
    store = store_of(runtime)
    args = {"board_key": board_key, "url": url, "event_types": event_types}

    def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
        runtime.app._board(board_key, caller, Role.ADMIN)
        checked_url = check_url(url)
        types = check_event_types(event_types or ())
        check_reachable(checked_url, runtime.settings.webhook_allow_private)
        row = dict(
            id=new_id,
            board_key=board_key,
            url=checked_url,
            event_types=list(types),
            active=True,
            created_at=datetime.now(UTC),
            created_by=caller.actor,
            position=runtime.projector.head(),
        )
        store.add(row, secret)
        return new_id, []

    try:
        result = runtime.app._execute("createWebhook", caller, args, run)
    except BaseException:
        store.remove(new_id)  # added, but its command failed to complete
        raise
    if result != new_id:  # a retry replayed the first result; a concurrent one may have added ours
        store.remove(new_id)
        return result, None
    return result, secret


def _webhook(runtime: Runtime, caller: Caller, webhook_id: str) -> Record:
    """The webhook, if it exists and the caller is ADMIN of its board."""
    missing = NotFoundError("webhook not found", field="webhookId")
    try:
        UUID(webhook_id)
    except ValueError:
        raise missing from None
    webhook = store_of(runtime).get(webhook_id)
    if webhook is None:
        raise missing
    try:
        runtime.app._board(webhook.board_key, caller, Role.ADMIN)
    except NotFoundError:
        raise missing from None
    return webhook


def delete_webhook(runtime: Runtime, caller: Caller, webhook_id: str) -> Record | None:
    """Deletes the webhook with its secret and deliveries; returns it as it was."""
    found: list[Record] = []

    def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
        found.append(_webhook(runtime, caller, webhook_id))
        store_of(runtime).remove(webhook_id)
        return webhook_id, []

    runtime.app._execute("deleteWebhook", caller, {"webhook_id": webhook_id}, run)
    return found[0] if found else None


def activate_webhook(runtime: Runtime, caller: Caller, webhook_id: str) -> str:
    """Re-activates a webhook; its failed deliveries are tried again from the first."""

    def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
        _webhook(runtime, caller, webhook_id)
        store = store_of(runtime)
        store.reopen(webhook_id)
        store.set_active(webhook_id, True)
        return webhook_id, []

    return runtime.app._execute("activateWebhook", caller, {"webhook_id": webhook_id}, run)
