"""Kopf handlers for Networks: the infrastructure reconcile on change, timer and delete.

Registered by `fleetyard.operator_app`.
"""

from __future__ import annotations

import kopf

from fleetyard import settings as settings_mod
from fleetyard.controllers import infra_handlers
from fleetyard.models import kinds


def register(registry: kopf.OperatorRegistry, cfg: settings_mod.Settings) -> None:
    infra_handlers.register(registry, cfg, kinds.NETWORK)
