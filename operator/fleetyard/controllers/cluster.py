"""Kopf handlers for Clusters: the health daemon of a self-registered Cluster (one that names a
kubeconfig Secret). A Cluster that mirrors a ProvisionedCluster is kept by that one's reconcile.

Registered by `fleetyard.operator_app`.
"""

from __future__ import annotations

from typing import Any

import kopf

from fleetyard import settings as settings_mod
from fleetyard.controllers import health_daemon
from fleetyard.day2 import checks
from fleetyard.models import kinds


def _self_registered(spec: Any, **_: Any) -> bool:
    return bool((spec or {}).get("kubeconfigSecretRef"))


def register(registry: kopf.OperatorRegistry, cfg: settings_mod.Settings) -> None:
    health_daemon.register(registry, cfg, kinds.CLUSTER, checks.check_registered, when=_self_registered)
