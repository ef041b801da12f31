"""Kopf handlers for ProvisionedClusters: the destroy on delete, and the health daemon (day 2: status,
kubeconfig Secrets, usage samples) of a cluster that is, or was, built.

Registered by `fleetyard.operator_app`.
"""

from __future__ import annotations

from typing import Any

import kopf

from fleetyard import settings as settings_mod
from fleetyard.controllers import health_daemon, infra_handlers
from fleetyard.day2 import checks
from fleetyard.models import kinds


def has_health(status: Any, **_: Any) -> bool:
    """A daemon only for a cluster that is checked now or was (its health series and conditions stay
    its daemon's): a fleet's never-built clusters (Pending, a first provision) cost no task and no copy
    of their body in Kopf. Kopf starts the daemon on the status change that makes this true."""
    status = status or {}
    return status.get("status") in checks.CHECKED_PHASES or bool(status.get("lastHealthStatus"))


def register(registry: kopf.OperatorRegistry, cfg: settings_mod.Settings) -> None:
    infra_handlers.register(registry, cfg, kinds.PROVISIONED_CLUSTER)
    health_daemon.register(registry, cfg, kinds.PROVISIONED_CLUSTER, checks.check_provisioned, when=has_health)
