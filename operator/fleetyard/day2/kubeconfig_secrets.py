"""The two kubeconfig Secrets of a provisioned cluster (Cluster API's `<name>-kubeconfig` convention):
a machine one with a short-lived token of the Connection's role (for fleetyard and tools in the
management cluster; rewritten before it expires), and a user one whose `aws eks get-token` entry
authenticates as whoever uses it (no role, no credential: safe to hand to people).

Called by the infrastructure reconciler (`publish`, before a cluster first says Ready; `remove`, when the
infrastructure goes: a kubeconfig for a cluster that is gone is no use to anyone) and by the health
check (`day2.checks`, after each probe reached EKS). The documents are credentials: only their expiry
and names are logged.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from fleetyard import metrics
from fleetyard.cloud import eks, eks_token
from fleetyard.connections import customer_session, external_id
from fleetyard.day2 import argocd, kubeconfigs
from fleetyard.kube import secrets
from fleetyard.models import connection, kinds, provisioned_cluster, timestamps

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
          refresh_before: float, argocd_namespace: str | None = None) -> dict[str, Any]:
    """Both Secrets, each written only when it changes, and the Argo CD cluster Secret when the cluster
    opts in (removed when it opts out); returns the status refs to the two kubeconfig Secrets."""
    machine, user = names(obj.name)
    now = timestamps.utcnow()
    expires = timestamps.format(token.expires_at)
    if token_due(secrets.annotations(obj.namespace, machine), now, refresh_before):
        secrets.apply(obj, machine, {"value": kubeconfigs.with_token(endpoint, token.value)},
                      {EXPIRES_AT: expires}, SECRET_LABELS)
        metrics.TOKEN_REFRESHES.inc()
        log.info("machine kubeconfig written", extra={"object": f"{obj.namespace}/{obj.name}", "expiresAt": expires})
    document = kubeconfigs.with_exec(endpoint)
    if secrets.value_or_none(obj.namespace, user) != document:
        secrets.apply(obj, user, {"value": document}, {}, SECRET_LABELS)
    if argocd_namespace:
        _argocd(obj, endpoint, token, refresh_before, argocd_namespace, now)
    return {"kubeconfigSecretRef": {"name": machine}, "userKubeconfigSecretRef": {"name": user}}


def remove(obj: provisioned_cluster.ProvisionedCluster) -> list[str]:
    """Delete both Secrets; returns the names that existed."""
    return [name for name in names(obj.name) if secrets.delete(obj.namespace, name)]
def _argocd(obj: provisioned_cluster.ProvisionedCluster, endpoint: kubeconfigs.Endpoint, token: eks_token.Token,
            refresh_before: float, namespace: str, now: datetime.datetime) -> None:
    name = argocd.secret_name(obj.namespace, obj.name)
    if not argocd.opted_in(dict(obj.metadata.annotations), secrets.namespace_labels(obj.namespace),
                           kinds.ARGOCD_OPT_IN):
        if secrets.delete(namespace, name):
            log.info("Argo CD cluster Secret removed (opted out)", extra={"object": f"{obj.namespace}/{obj.name}"})
        return
    if token_due(secrets.annotations(namespace, name), now, refresh_before):
        expires = timestamps.format(token.expires_at)
        secrets.apply_unowned(namespace, name, argocd.data(obj.namespace, obj.name, endpoint, token.value),
                              argocd.labels(obj.namespace, obj.name), {EXPIRES_AT: expires})
        log.info("Argo CD cluster Secret written", extra={"object": f"{obj.namespace}/{obj.name}",
                                                          "secret": f"{namespace}/{name}", "expiresAt": expires})


def remove_argocd(obj: provisioned_cluster.ProvisionedCluster, namespace: str) -> None:
    """The cluster is destroyed or deleted: Argo CD no longer gets it as a target."""
    if secrets.delete(namespace, argocd.secret_name(obj.namespace, obj.name)):
        log.info("Argo CD cluster Secret removed", extra={"object": f"{obj.namespace}/{obj.name}"})


def publish(obj: provisioned_cluster.ProvisionedCluster, cluster_name: str, conn: connection.Connection,
            read_secret: external_id.SecretReader, *, token_lifetime: float, refresh_before: float,
            argocd_namespace: str | None = None) -> dict[str, Any]:
    """Both Secrets now, from EKS's answer through the Connection's role; the status refs to them.
    `cloud.errors.CloudError` when the role or EKS cannot be reached."""
    access = customer_session.for_connection(conn, "kubeconfig", read_secret, obj.spec.region)
    sess = customer_session.session(access)
    cluster = eks.describe_cluster(sess, cluster_name)
    endpoint = kubeconfigs.Endpoint(cluster_name, cluster.get("endpoint") or "",
                                    (cluster.get("certificateAuthority") or {}).get("data") or "", obj.spec.region)
    token = eks_token.get_token(sess, cluster_name, obj.spec.region,
                                lifetime=datetime.timedelta(seconds=token_lifetime))
    return write(obj, endpoint, token, refresh_before, argocd_namespace)
