"""Webhooks: their management (ADMIN only), and every delivery with its attempts."""

from __future__ import annotations

import asyncio
from datetime import datetime
from enum import Enum
from functools import partial
from typing import TYPE_CHECKING

import strawberry
from sqlmodel import col

from storyline_domain.board import Role
from storyline_graphql.common import (
    Connection,
    MutationInput,
    Node,
    PageArgs,
    UserError,
    make_connection,
    page_request,
    run_command,
)
from storyline_graphql.context import Info
from storyline_service.application import Caller
from storyline_service.queries import Record
from storyline_service.webhooks import management
from storyline_service.webhooks.delivery import delivery_id
from storyline_service.webhooks.store import WebhookDeliveryRow

ID_PREFIX = "webhook-"
DELIVERY_ORDER = (col(WebhookDeliveryRow.sequence),)


def webhook_uuid(node_id: str) -> str | None:
    """The webhook an id names, if it names one."""
    return node_id.removeprefix(ID_PREFIX) if node_id.startswith(ID_PREFIX) else None


def is_admin(info: Info, board_key: str) -> bool:
    access = info.context.access
    return access.superuser or access.roles.get(board_key) == Role.ADMIN


@strawberry.enum
class DeliveryStatus(Enum):
    PENDING = strawberry.enum_value("PENDING", description="not delivered yet; retried at nextAttemptAt")
    DELIVERED = strawberry.enum_value("DELIVERED", description="the receiver answered 2xx")
    FAILED = strawberry.enum_value(
        "FAILED", description="failed too often: the webhook was deactivated; activating it retries"
    )


@strawberry.type(description="One event sent (or being sent) to one webhook.")
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="Also sent as X-Storyline-Delivery.")
    sequence: int = strawberry.field(description="The event's position in the log (AuditEntry.sequence).")
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_response_code: int | None = strawberry.field(description="HTTP status of the last answer, if any.")
    last_error: str | None = strawberry.field(description="Why the last attempt failed without an answer.")
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None

    @classmethod
    def from_row(cls, row: Record) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(delivery_id(row.webhook_id, row.sequence)),
            sequence=row.sequence,
            event_type=row.event_type,
            status=DeliveryStatus(row.status),
            attempts=row.attempts,
            last_response_code=row.last_response_code,
            last_error=row.last_error,
            last_attempt_at=row.last_attempt_at,
            next_attempt_at=row.next_attempt_at,
        )


@strawberry.type(description="Matching events of a board are POSTed to `url` as signed JSON, in log order.")
class Webhook(Node):
    id: strawberry.ID
    board_key: str
    url: str
    event_types: list[str] = strawberry.field(description="Empty: every event.")
    active: bool
    deactivated_reason: str | None = strawberry.field(
        description="Why it was deactivated; `activateWebhook` turns it on again."
    )
    created_at: datetime
    webhook_id: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: Record) -> Webhook:
        return cls(
            id=strawberry.ID(f"{ID_PREFIX}{row.id}"),
            board_key=row.board_key,
            url=row.url,
            event_types=list(row.event_types),
            active=row.active,
            deactivated_reason=row.deactivated_reason,
            created_at=row.created_at,
            webhook_id=row.id,
        )

    @strawberry.field(description="Newest first. `last`/`before` page towards the newest.")
    async def deliveries(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[WebhookDelivery]:
        args = PageArgs(first, after, last, before)
        page = page_request(info, args, "delivery", DELIVERY_ORDER, descending=True)
        past = page.seek.past[0] if page.seek.past else None
        backward = page.seek.backward
        store, webhook_id = management.store_of(info.context.runtime), self.webhook_id
        rows = await asyncio.to_thread(
            partial(
                store.delivery_page,
                webhook_id,
                page.size + 1,
                # Newest first: forward pages go to lower sequences, backward pages to higher ones.
                before=None if backward else past,
                after=past if backward else None,
                newest_first=not backward,
            )
        )
        if backward:
            rows.reverse()  # read oldest first from the cursor; the list runs newest first
        return make_connection(
            rows,
            page,
            "delivery",
            DELIVERY_ORDER,
            WebhookDelivery.from_row,
            lambda: asyncio.to_thread(store.delivery_count, webhook_id),
        )


async def load_webhook(info: Info, webhook_id: str) -> Webhook | None:
    """The webhook, for the ADMINs of its board; nobody else sees it."""
    row = await asyncio.to_thread(management.store_of(info.context.runtime).get, webhook_id)
    return Webhook.from_row(row) if row and is_admin(info, row.board_key) else None


@strawberry.type
class BoardWebhooks:
    """Board.webhooks: mixed into Board."""

    if TYPE_CHECKING:
        key: str

    @strawberry.field(description="ADMIN only; others see an empty list.")
    async def webhooks(self, info: Info) -> list[Webhook]:
        if not is_admin(info, self.key):
            return []
        store = management.store_of(info.context.runtime)
        found = await asyncio.to_thread(store.of_boards, [self.key])
        return [Webhook.from_row(row) for row in found[self.key]]


@strawberry.input
class CreateWebhookInput(MutationInput):
    board_key: str
    url: str = strawberry.field(description="http:// or https://, not resolving to an internal address.")
    event_types: list[str] | None = strawberry.field(
        default=None, description="Names from `eventTypes`; none or empty: every event."
    )


@strawberry.input
class WebhookRefInput(MutationInput):
    webhook_id: strawberry.ID


@strawberry.type
class WebhookPayload:
    webhook: Webhook | None
    secret: str | None = strawberry.field(
        description="Signs every delivery (X-Storyline-Signature). Shown once, on creation; never again."
    )
    errors: list[UserError]
    client_mutation_id: str | None


def _payload(
    input: MutationInput, webhook: Webhook | None, errors: list[UserError], secret: str | None = None
) -> WebhookPayload:
    return WebhookPayload(
        webhook=webhook, secret=secret, errors=errors, client_mutation_id=input.client_mutation_id
    )


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(description="ADMIN of the board. The payload carries the secret, this once.")
    async def create_webhook(self, info: Info, input: CreateWebhookInput) -> WebhookPayload:
        runtime = info.context.runtime
        secrets: list[str | None] = []

        def create(caller: Caller) -> str:
            webhook_id, secret = management.create_webhook(
                runtime, caller, input.board_key, input.url, input.event_types
            )
            secrets.append(secret)
            return webhook_id

        webhook_id, errors = await run_command(info, input, create)
        webhook = await load_webhook(info, webhook_id) if webhook_id else None
        return _payload(input, webhook, errors, secrets[0] if secrets and webhook else None)

    @strawberry.mutation(description="ADMIN of the board. Deletes it with its secret and deliveries.")
    async def delete_webhook(self, info: Info, input: WebhookRefInput) -> WebhookPayload:
        runtime = info.context.runtime
        webhook_id = webhook_uuid(input.webhook_id) or ""
        deleted: list[Webhook] = []

        def delete(caller: Caller) -> str:
            row = management.delete_webhook(runtime, caller, webhook_id)
            if row is not None:
                deleted.append(Webhook.from_row(row))
            return webhook_id

        _, errors = await run_command(info, input, delete)
        return _payload(input, deleted[0] if deleted else None, errors)

    @strawberry.mutation(
        description="ADMIN of the board. Turns a deactivated webhook on; its FAILED delivery is retried."
    )
    async def activate_webhook(self, info: Info, input: WebhookRefInput) -> WebhookPayload:
        runtime = info.context.runtime
        webhook_id = webhook_uuid(input.webhook_id) or ""
        result, errors = await run_command(
            info, input, lambda caller: management.activate_webhook(runtime, caller, webhook_id)
        )
        return _payload(input, await load_webhook(info, result) if result else None, errors)
