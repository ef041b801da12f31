"""What day 2 leaves behind when a provisioned cluster's infrastructure goes: nothing stale.

Called by the infra reconciler (through `controllers.infra_targets.ClusterTarget`) on every reconcile of a
ProvisionedCluster that is destroying, destroyed or being deleted. From the moment the destroy starts
there is no cluster to check: the health fields say `unknown` with the reason (the seed's health
shape falls back to `{"status": "unknown"}`), EKS's `providerMetadata.status` is dropped, the
kubeconfig Secrets are deleted and their refs cleared, and the `fleetyard_cluster_healthy` series is
removed. The health check itself skips these phases and drops a result computed before the phase
changed (`day2.checks`). The Cluster record mirrors the health fields, so it says the same.
"""

from __future__ import annotations

from typing import Any

from fleetyard import metrics
from fleetyard.day2 import kubeconfig_secrets
from fleetyard.models import provisioned_cluster

RETIRED_PHASES = ("destroying", "destroyed")
_REASONS = {"destroying": "Destroying", "destroyed": "Destroyed"}


def reason(phase: str, deleting: bool) -> str | None:
    """The Healthy condition's reason while the infrastructure goes or is gone; None while it may run."""
    if deleting:
        return "Deleting"
    return _REASONS.get(phase)


def message(phase: str, deleting: bool) -> str:
    return "not checked: the cluster is being deleted" if deleting else f"not checked: the cluster is {phase}"


def status_fields(text: str) -> dict[str, Any]:
    """The status fields a retired cluster shows (a merge patch: None removes the field)."""
    return {"health": None, "lastHealthStatus": "unknown", "lastHealthMessage": text, "lastHealthCheckAt": None,
            "kubeconfigSecretRef": None, "userKubeconfigSecretRef": None, "providerMetadata": {"status": None}}


def needs_cleanup(stored: dict[str, Any], phase_changed: bool) -> bool:
    """Secrets may exist: the status names them, or the phase just changed (a check may have raced)."""
    return phase_changed or bool(stored.get("kubeconfigSecretRef") or stored.get("userKubeconfigSecretRef"))


def clean_up(obj: provisioned_cluster.ProvisionedCluster) -> list[str]:
    """Delete the kubeconfig Secrets and the health series; returns the Secrets deleted."""
    forget(obj.kind, obj.namespace, obj.name)
    return kubeconfig_secrets.remove(obj)


def forget(kind: str, namespace: str, name: str) -> None:
    """No `fleetyard_cluster_healthy` series for a cluster nobody checks any more."""
    metrics.CLUSTER_HEALTHY.remove(kind, namespace, name)
