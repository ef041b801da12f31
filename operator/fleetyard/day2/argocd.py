"""The Argo CD cluster Secret of a provisioned cluster: the machine kubeconfig's token in Argo CD's
declarative cluster format, so the cluster shows up in Argo CD as a deployment target by itself.

Pure; called by the kubeconfig Secret writer (`day2.kubeconfig_secrets`), which writes it with the
machine token (same refresh) when the cluster opts in, and by the infra targets, which delete it
when the cluster is destroyed or deleted. Format (Argo CD "Declarative Setup", Clusters): label
`argocd.argoproj.io/secret-type: cluster`; data `name`, `server`, `config` (JSON with `bearerToken`
and `tlsClientConfig.caData`). The token is the Connection role's: the Secret lives in Argo CD's
namespace, for Argo CD only.
"""

from __future__ import annotations

import json

from fleetyard.day2 import kubeconfigs

SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"
TRUE = ("true", "yes", "1")


def secret_name(namespace: str, name: str) -> str:
    """Unique per cluster across organizations, within a Secret name's 253 characters."""
    return f"fleetyard-{namespace}-{name}"[:253]


def opted_in(cluster_annotations: dict[str, str], namespace_labels: dict[str, str], key: str) -> bool:
    """The cluster's annotation decides when present, else its namespace's label."""
    value = cluster_annotations.get(key, namespace_labels.get(key, ""))
    return value.strip().lower() in TRUE


def labels(namespace: str, name: str) -> dict[str, str]:
    return {SECRET_TYPE_LABEL: "cluster", "app.kubernetes.io/managed-by": "fleetyard",
            "fleetyard.io/cluster-namespace": namespace[:63], "fleetyard.io/cluster-name": name[:63]}


def data(namespace: str, name: str, endpoint: kubeconfigs.Endpoint, token: str) -> dict[str, str]:
    config = {"bearerToken": token, "tlsClientConfig": {"insecure": False, "caData": endpoint.ca_data}}
    return {"name": f"{namespace}/{name}", "server": endpoint.server, "config": json.dumps(config)}
