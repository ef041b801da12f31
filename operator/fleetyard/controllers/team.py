"""Kopf handlers for Teams: a change of a Team's principals or access (or its creation or deletion)
reconciles, at once, the ProvisionedClusters whose `access.teams` name it, so their EKS access
entries follow (an update Operation scoped to the access entries). The timer of each cluster would
notice too, one tick later.

Registered by `fleetyard.operator_app`.
"""

from __future__ import annotations

from typing import Any

import kopf

from fleetyard import settings as settings_mod
from fleetyard.controllers import infra_reconciler
from fleetyard.day2 import teams
from fleetyard.kube import resources
from fleetyard.models import kinds


def clusters_naming(namespace: str, team: str) -> list[str]:
    return sorted(c["metadata"]["name"] for c in resources.list_objects(kinds.PROVISIONED_CLUSTER, namespace)
                  if team in teams.names(((c.get("spec") or {}).get("access") or {}).get("teams")))


def register(registry: kopf.OperatorRegistry, cfg: settings_mod.Settings) -> None:
    resource = (kinds.GROUP, kinds.VERSION, kinds.TEAM.plural)

    @kopf.on.create(*resource, registry=registry, id="reconcile-clusters-on-create")
    @kopf.on.update(*resource, field="spec", registry=registry, id="reconcile-clusters-on-change")
    @kopf.on.delete(*resource, registry=registry, id="reconcile-clusters-on-delete", optional=True)
    def on_change(name: str, namespace: str, **_: Any) -> None:
        for cluster in clusters_naming(namespace, name):
            infra_reconciler.reconcile(kinds.PROVISIONED_CLUSTER.kind, namespace, cluster, cfg)
