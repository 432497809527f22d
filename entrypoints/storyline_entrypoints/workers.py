"""Background workers, started in one place for both process roles: the API (`storyline serve`)
and the worker (`storyline projector`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from storyline_service.bootstrap import Runtime
from storyline_service.projections.feed import run_projector
from storyline_service.webhooks.delivery import run_webhook_deliveries

# Events written by other processes are projected at least this often.
CATCH_UP_SECONDS = 0.5


@dataclass
class Workers:
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self, name: str, work: Callable[[], None]) -> None:
        thread = threading.Thread(target=work, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def shut_down(self, timeout: float = CATCH_UP_SECONDS * 4) -> None:
        """Stops every worker; the projector releases its leases as it ends."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)


def start_workers(runtime: Runtime, *, projector: bool) -> Workers:
    """Every background worker this process runs; ``projector``: whether it projects too."""
    workers = Workers()
    if projector:
        workers.start(
            "storyline-projector",
            lambda: run_projector(runtime.projector, runtime.settings, workers.stop, CATCH_UP_SECONDS),
        )
        # Webhooks are delivered beside the projector (one deliverer per webhook across processes).
        workers.start(
            "storyline-webhooks", lambda: run_webhook_deliveries(runtime, runtime.settings, workers.stop)
        )
    return workers
