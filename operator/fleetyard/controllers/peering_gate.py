"""Whether this replica acts, by Kopf's own peering rule, for the work Kopf does not drive itself.

Used by `fleetyard.operator_app` for the reconcile queue (`controllers.wakeups`). Kopf pauses its
handlers while another live peer has a higher or equal priority; the queue must pause with them, or
a standing-by replica would reconcile too. This reads the same ClusterKopfPeering Kopf reads (one
GET every few seconds for the whole process, not per object) and applies the same rule: acting
while no other live peer's priority is at least ours. Standalone (no peering): always acting.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable
from typing import Any

from fleetyard.kube import resources
from fleetyard.models import timestamps

log = logging.getLogger(__name__)


def acting(peers: dict[str, Any] | None, identity: str, priority: int, now: datetime.datetime) -> bool:
    """Kopf's rule over its peer table (identity -> {priority, lifetime, lastseen})."""
    if peers is None or identity not in peers:
        return False  # not announced yet: Kopf starts paused until its own keep-alive is seen
    for other, info in peers.items():
        if other == identity or not isinstance(info, dict):
            continue
        seen = timestamps.parse(info.get("lastseen")) or now  # Kopf's reading: no lastseen is "just seen"
        alive = seen + datetime.timedelta(seconds=int(info.get("lifetime") or 60)) > now
        if alive and int(info.get("priority") or 0) >= priority:
            return False
    return True


class PeeringGate:
    def __init__(self, peering_name: str, identity: str, priority: int, on_change: Callable[[bool], None],
                 every: float = 3.0) -> None:
        self._name, self._identity, self._priority = peering_name, identity, priority
        self._on_change = on_change
        self._every = every
        self._stopped = threading.Event()
        self.acting = False
        self._thread = threading.Thread(target=self._run, name="peering-gate", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def check(self) -> bool:
        now_acting = acting(resources.kopf_peers(self._name), self._identity, self._priority, timestamps.utcnow())
        if now_acting != self.acting:
            log.info("peering: %s", "acting" if now_acting else "standing by",
                     extra={"identity": self._identity, "priority": self._priority})
            self.acting = now_acting
            self._on_change(now_acting)
        return now_acting

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self.check()
            except Exception as exc:  # noqa: BLE001 - the API is unreachable: keep the last answer, ask again
                log.warning("peering check failed", extra={"error": type(exc).__name__})
            self._stopped.wait(self._every)
