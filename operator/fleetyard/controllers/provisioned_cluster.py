"""Kopf handlers for ProvisionedClusters: the infrastructure reconcile on change, timer and delete,
and the health daemon (day 2: status, kubeconfig Secrets, usage samples).

Registered by `fleetyard.operator_app`.
"""

from __future__ import annotations

import kopf

from fleetyard import settings as settings_mod
from fleetyard.controllers import health_daemon, infra_handlers
from fleetyard.day2 import checks
from fleetyard.models import kinds


def register(registry: kopf.OperatorRegistry, cfg: settings_mod.Settings) -> None:
    infra_handlers.register(registry, cfg, kinds.PROVISIONED_CLUSTER)
    health_daemon.register(registry, cfg, kinds.PROVISIONED_CLUSTER, checks.check_provisioned)
