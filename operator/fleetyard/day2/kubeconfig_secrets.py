"""The two kubeconfig Secrets of a provisioned cluster (Cluster API's `<name>-kubeconfig` convention):
a machine one with a short-lived token, rewritten before it expires, and a user one whose
`aws eks get-token` entry assumes the Connection's role.

Called by the health check (`day2.checks`) after a probe reached EKS, and by the reconciler when the
infrastructure goes (`remove`: a kubeconfig for a cluster that is gone is no use to anyone). The
documents are credentials: only their expiry and names are logged.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from fleetyard import metrics
from fleetyard.cloud import eks_token
from fleetyard.day2 import kubeconfigs
from fleetyard.kube import secrets
from fleetyard.models import provisioned_cluster, timestamps

log = logging.getLogger(__name__)
EXPIRES_AT = "fleetyard.io/expires-at"
SECRET_LABELS = {"app.kubernetes.io/managed-by": "fleetyard", "cluster.x-k8s.io/secret-type": "kubeconfig"}


def names(cluster: str) -> tuple[str, str]:
    """(machine, user) Secret names of the cluster named `cluster`."""
    return f"{cluster}-kubeconfig", f"{cluster}-user-kubeconfig"


def token_due(annotations: dict[str, str] | None, now: datetime.datetime, refresh_before: float) -> bool:
    """Rewrite the machine kubeconfig when it is missing or expires within `refresh_before` seconds."""
    expires = timestamps.parse((annotations or {}).get(EXPIRES_AT))
    if expires is None:
        return True
    return (expires - now).total_seconds() <= refresh_before


def write(obj: provisioned_cluster.ProvisionedCluster, endpoint: kubeconfigs.Endpoint, token: eks_token.Token,
          role_arn: str | None, refresh_before: float) -> dict[str, Any]:
    """Both Secrets, each written only when it changes; returns the status refs to them."""
    machine, user = names(obj.name)
    if token_due(secrets.annotations(obj.namespace, machine), timestamps.utcnow(), refresh_before):
        expires = timestamps.format(token.expires_at)
        secrets.apply(obj, machine, {"value": kubeconfigs.with_token(endpoint, token.value)},
                      {EXPIRES_AT: expires}, SECRET_LABELS)
        metrics.TOKEN_REFRESHES.inc()
        log.info("machine kubeconfig written", extra={"object": f"{obj.namespace}/{obj.name}", "expiresAt": expires})
    document = kubeconfigs.with_exec(endpoint, role_arn)
    if secrets.value_or_none(obj.namespace, user) != document:
        secrets.apply(obj, user, {"value": document}, {}, SECRET_LABELS)
    return {"kubeconfigSecretRef": {"name": machine}, "userKubeconfigSecretRef": {"name": user}}


def remove(obj: provisioned_cluster.ProvisionedCluster) -> list[str]:
    """Delete both Secrets; returns the names that existed."""
    return [name for name in names(obj.name) if secrets.delete(obj.namespace, name)]
