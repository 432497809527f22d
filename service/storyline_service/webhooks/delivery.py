"""Delivers the event log to webhooks: at least once, in log order per webhook, signed, retried.

Each active webhook has a thread of its own, so a slow receiver holds up only
itself. A webhook's deliverer reads the audit log (one row per recorded event)
after the webhook's position, and moves the position past an event only once the
receiver took it: a crash or a restart repeats at most the event in flight.
Exactly one process delivers to a webhook at a time: on PostgreSQL it holds an
advisory lock per webhook; on SQLite (one machine) one process holds a file lock
for all of them.
"""

from __future__ import annotations

import fcntl
import ipaddress
import logging
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx
import orjson
from sqlalchemy import Engine, func, select
from tenacity import RetryCallState, Retrying, retry_if_result, wait_exponential_jitter

from storyline_domain.errors import ValidationError
from storyline_domain.webhooks import is_internal, signature
from storyline_service.bootstrap import Runtime
from storyline_service.queries import AuditCriteria, Record, Seek
from storyline_service.settings import Settings
from storyline_service.webhooks.store import DELIVERED, PENDING, WebhookStore

log = logging.getLogger("storyline.webhooks")

POLL_SECONDS = 0.5  # how often a deliverer looks for new events, and the supervisor for new webhooks
BATCH = 100  # audit entries read at a time
MAX_RESPONSE_BYTES = 4096  # of a receiver's answer; the rest is never read
USER_AGENT = "Storyline-Webhooks"


class Refused(Exception):
    """The URL may not be called: its address is internal, or its name does not resolve."""


@dataclass(frozen=True)
class Target:
    """Where a POST goes: the checked address, with the URL's name for Host and TLS (SNI)."""

    url: httpx.URL
    host: str
    sni: str


def resolve(url: str, allow_private: bool) -> Target:
    """Resolves the URL's host once and checks every address it names; DNS may change, so this is
    done again before each attempt, and the request goes to the address that was checked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise Refused(f"{host} does not resolve ({error})") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    internal = [str(address) for address in addresses if is_internal(address)]
    if internal and not allow_private:
        raise Refused(
            f"{host} resolves to an internal address ({', '.join(sorted(set(internal)))}); "
            "set STORYLINE_WEBHOOK_ALLOW_PRIVATE=true to allow it"
        )
    name = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets in Host
    return Target(
        url=httpx.URL(url).copy_with(host=str(addresses[0])),
        host=name if parts.port is None else f"{name}:{port}",
        sni=host,
    )


def check_reachable(url: str, allow_private: bool) -> None:
    """At creation: the URL must resolve, and only to addresses that may be called."""
    try:
        resolve(url, allow_private)
    except Refused as error:
        raise ValidationError(str(error), field="url") from None


def delivery_id(webhook_id: str, sequence: int) -> str:
    """X-Storyline-Delivery and WebhookDelivery.id: the same for every attempt at one event."""
    return f"delivery-{webhook_id}-{sequence}"


def payload(webhook_id: str, entry: Record) -> bytes:
    """The body: the audit entry, and the key of the object that changed."""
    return orjson.dumps(
        {
            "deliveryId": delivery_id(webhook_id, entry.sequence),
            "webhookId": f"webhook-{webhook_id}",
            "eventType": entry.event_type,
            "boardKey": entry.board_key,
            "object": {"type": entry.entity_type, "key": entry.entity_key},
            "entry": {
                "id": f"audit-{entry.sequence}",
                "sequence": entry.sequence,
                "occurredAt": entry.occurred_at.isoformat(),
                "recordedAt": entry.recorded_at.isoformat(),
                "actor": entry.actor,
                "boardKey": entry.board_key,
                "entityType": entry.entity_type,
                "entityKey": entry.entity_key,
                "eventType": entry.event_type,
                "summary": entry.summary,
                "changes": entry.changes,
                "correlationId": entry.correlation_id,
            },
        }
    )


@dataclass(frozen=True)
class Outcome:
    status_code: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(
    client: httpx.Client, url: str, secret: str, entry: Record, webhook_id: str, settings: Settings
) -> Outcome:
    """One attempt. Never follows a redirect, and reads at most MAX_RESPONSE_BYTES of the answer."""
    body = payload(webhook_id, entry)
    try:
        target = resolve(url, settings.webhook_allow_private)
    except Refused as error:
        return Outcome(error=str(error))
    headers = {
        "Host": target.host,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Storyline-Signature": signature(secret, body),
        "X-Storyline-Delivery": delivery_id(webhook_id, entry.sequence),
        "X-Storyline-Event": entry.event_type,
    }
    try:
        with client.stream(
            "POST", target.url, content=body, headers=headers, extensions={"sni_hostname": target.sni}
        ) as response:
            read = 0
            for chunk in response.iter_raw():
                read += len(chunk)
                if read >= MAX_RESPONSE_BYTES:
                    break
            return Outcome(status_code=response.status_code)
    except httpx.TimeoutException:
        return Outcome(error=f"no answer within {settings.webhook_timeout_seconds:g} s")
    except httpx.HTTPError as error:
        return Outcome(error=f"{type(error).__name__}: {error}"[:500])


class Stopping(Exception):
    """The deliverer was told to stop (shutdown, or the webhook was deactivated or deleted)."""


class Deliverer:
    """Delivers one webhook's events, one at a time in log order, until told to stop."""

    def __init__(self, runtime: Runtime, settings: Settings, webhook_id: str, stop: threading.Event) -> None:
        self.runtime = runtime
        self.settings = settings
        self.store = WebhookStore(runtime.engines.write, runtime.engines.read)
        self.webhook_id = webhook_id
        self.stop = stop
        self.backoff = wait_exponential_jitter(
            multiplier=settings.webhook_retry_base_seconds,
            max=settings.webhook_retry_max_seconds,
            jitter=settings.webhook_retry_base_seconds,
        )

    def pause(self, seconds: float) -> None:
        """Backoff that ends early when the deliverer is told to stop."""
        self.stop.wait(seconds)

    def run(self) -> None:
        timeout = httpx.Timeout(self.settings.webhook_timeout_seconds)
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            while not self.stop.is_set():
                try:
                    delivered_all = self.deliver_batch(client)
                except Stopping:
                    return
                except Exception:
                    log.exception("webhook %s: delivery failed; will retry", self.webhook_id)
                    delivered_all = True
                if delivered_all:
                    self.stop.wait(POLL_SECONDS)

    def deliver_batch(self, client: httpx.Client) -> bool:
        """Delivers the next events; True when there were none left to deliver."""
        webhook = self.store.get(self.webhook_id)
        if webhook is None or not webhook.active:
            raise Stopping
        criteria = AuditCriteria(board_key=webhook.board_key, event_types=tuple(webhook.event_types) or None)
        pages = self.runtime.reads.audit_pages(
            ("board_key",), [(webhook.board_key,)], criteria, BATCH, Seek((webhook.position,))
        )
        entries = pages[(webhook.board_key,)]
        for entry in entries:
            self.deliver(client, webhook, entry)
        return len(entries) < BATCH

    def deliver(self, client: httpx.Client, webhook: Record, entry: Record) -> None:
        store, settings = self.store, self.settings
        secret = store.secret_of(webhook.id)
        if secret is None:
            raise Stopping  # deleted meanwhile
        delivery = store.start_delivery(webhook.id, entry.sequence, entry.event_type)
        if delivery.status == DELIVERED:
            return
        # After a restart, the wait that was scheduled before it still holds.
        if delivery.next_attempt_at is not None:
            remaining = (delivery.next_attempt_at - datetime.now(UTC)).total_seconds()
            if remaining > 0 and self.stop.wait(remaining):
                raise Stopping
        attempts = delivery.attempts

        def attempt() -> Outcome:
            nonlocal attempts
            if self.stop.is_set():
                raise Stopping
            outcome = post(client, webhook.url, secret, entry, webhook.id, settings)
            attempts += 1
            store.record_attempt(
                webhook.id,
                entry.sequence,
                status=DELIVERED if outcome.ok else PENDING,
                last_response_code=outcome.status_code,
                last_error=outcome.error,
                last_attempt_at=datetime.now(UTC),
                next_attempt_at=None,
            )
            return outcome

        def exhausted(state: RetryCallState) -> bool:
            return attempts >= settings.webhook_max_attempts or self.stop.is_set()

        def scheduled(state: RetryCallState) -> None:
            wait = state.next_action.sleep if state.next_action else 0
            store.schedule(webhook.id, entry.sequence, datetime.now(UTC) + timedelta(seconds=wait))

        retrying = Retrying(
            retry=retry_if_result(lambda outcome: not outcome.ok),
            wait=self.backoff,
            stop=exhausted,
            sleep=self.pause,
            before_sleep=scheduled,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else Outcome(),
        )
        outcome: Outcome = retrying(attempt)
        if outcome.ok:
            return
        if self.stop.is_set():
            raise Stopping
        reason = (
            f"deactivated after {attempts} failed attempts to deliver event {entry.sequence}: "
            f"{outcome.error or f'HTTP {outcome.status_code}'}"
        )
        store.give_up(webhook.id, entry.sequence, reason)
        log.warning("webhook %s: %s", webhook.id, reason)
        raise Stopping


# ----- one deliverer per webhook across processes -----


class AdvisoryLocks:
    """PostgreSQL: a session-level advisory lock per webhook, on one connection the process keeps."""

    def __init__(self, engine: Engine) -> None:
        self.conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    @staticmethod
    def key(webhook_id: str) -> int:
        return int.from_bytes(bytes.fromhex(webhook_id.replace("-", ""))[:8], "big", signed=True)

    def acquire(self, webhook_id: str) -> bool:
        return bool(self.conn.execute(select(func.pg_try_advisory_lock(self.key(webhook_id)))).scalar())

    def check(self) -> None:
        """Raises if the connection (and so every lock on it) was lost."""
        self.conn.execute(select(1))

    def release(self, webhook_id: str) -> None:
        self.conn.execute(select(func.pg_advisory_unlock(self.key(webhook_id))))

    def close(self) -> None:
        self.conn.close()


class FileLock:
    """SQLite: one process delivers for every webhook, the one holding a lock on a file by the database."""

    def __init__(self, path: Path) -> None:
        self.file: IO[Any] = path.open("a")
        self.held = False

    def acquire(self, webhook_id: str) -> bool:
        if not self.held:
            try:
                fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.held = True
            except BlockingIOError:
                return False
        return True

    def release(self, webhook_id: str) -> None:
        pass  # held for every webhook until the process stops delivering

    def check(self) -> None:
        pass  # a file lock lasts as long as the process

    def close(self) -> None:
        self.file.close()  # releases the lock


def run_webhook_deliveries(runtime: Runtime, settings: Settings, stop: threading.Event) -> None:
    """Delivers to every active webhook until ``stop`` is set, surviving database outages.

    Started beside the projector, in every process that runs one: a webhook that
    another process delivers to is left to it, and taken over if that process stops."""
    store = WebhookStore(runtime.engines.write, runtime.engines.read)
    locks: AdvisoryLocks | FileLock | None = None
    workers: dict[str, tuple[threading.Thread, threading.Event]] = {}
    try:
        while not stop.is_set():
            try:
                if locks is None:
                    locks = (
                        AdvisoryLocks(runtime.engines.write)
                        if settings.is_postgres
                        else FileLock(Path(f"{settings.sqlite_path}.webhooks.lock"))
                    )
                _supervise(runtime, settings, store, locks, workers)
            except Exception:
                log.exception("webhook deliveries: will retry in %s s", POLL_SECONDS)
                _stop_all(workers, locks)
                if locks is not None:
                    locks.close()
                locks = None
            stop.wait(POLL_SECONDS)
    finally:
        _stop_all(workers, locks)
        if locks is not None:
            locks.close()


def _supervise(
    runtime: Runtime,
    settings: Settings,
    store: WebhookStore,
    locks: AdvisoryLocks | FileLock,
    workers: dict[str, tuple[threading.Thread, threading.Event]],
) -> None:
    """Starts a deliverer for each active webhook this process may deliver to; ends finished ones."""
    locks.check()  # with the locks lost, another process may deliver: stop ours (the caller does)
    active = store.active_ids()
    for webhook_id, (thread, own_stop) in list(workers.items()):
        if webhook_id not in active:
            own_stop.set()
        if not thread.is_alive():
            del workers[webhook_id]
            locks.release(webhook_id)
    for webhook_id in sorted(active - set(workers)):
        if not locks.acquire(webhook_id):
            continue  # another process delivers to it
        own_stop = threading.Event()
        deliverer = Deliverer(runtime, settings, webhook_id, own_stop)
        thread = threading.Thread(target=deliverer.run, name=f"storyline-webhook-{webhook_id}", daemon=True)
        workers[webhook_id] = (thread, own_stop)
        thread.start()


def _stop_all(
    workers: dict[str, tuple[threading.Thread, threading.Event]], locks: AdvisoryLocks | FileLock | None
) -> None:
    for _, own_stop in workers.values():
        own_stop.set()
    for webhook_id, (thread, _) in workers.items():
        thread.join()
        if locks is not None:
            try:
                locks.release(webhook_id)
            except Exception:
                log.warning(
                    "webhook %s: could not release its lock; closing the connection frees it", webhook_id
                )
    workers.clear()
