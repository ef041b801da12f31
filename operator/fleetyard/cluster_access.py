"""What the REST API serves about a provisioned cluster besides its record: the seed's kubeconfig
response and its metrics over time.

Called by the REST API (and the e2e tests, as the REST API would). Each call assumes the
Connection's role; the kubeconfig carries a fresh short-lived token and must not be logged.
"""

from __future__ import annotations

import datetime
from typing import Any

from fleetyard import cluster_metrics, health_probe, kubeconfigs
from fleetyard.cloud import cloudwatch, eks, eks_token


def _cluster_name(obj: dict[str, Any]) -> str:
    name = ((obj.get("status") or {}).get("providerMetadata") or {}).get("clusterName")
    if not name:
        raise LookupError(f"ProvisionedCluster {obj['metadata']['name']} is not provisioned")
    return str(name)


def kubeconfig(obj: dict[str, Any], connection: dict[str, Any]) -> dict[str, str]:
    """The seed's `{kubeconfig, clusterEndpoint, clusterCertificateAuthority}` with a token kubeconfig."""
    name, region = _cluster_name(obj), obj["spec"]["region"]
    sess, _ = health_probe.customer_session(obj["metadata"]["namespace"], connection, "kubeconfig")
    cluster = eks.describe_cluster(sess, name)
    endpoint = kubeconfigs.Endpoint(name, cluster["endpoint"], cluster["certificateAuthority"]["data"], region)
    token = eks_token.get_token(sess, name, region)
    return kubeconfigs.response(endpoint, kubeconfigs.with_token(endpoint, token.value))


def metrics(obj: dict[str, Any], connection: dict[str, Any], period: str | None,
            now: datetime.datetime | None = None) -> dict[str, Any]:
    """The seed's metrics response; ValueError naming `period` for anything but 1h, 24h, 7d."""
    chosen = cluster_metrics.parse_period(period)
    name, region = _cluster_name(obj), obj["spec"]["region"]
    sess, _ = health_probe.customer_session(obj["metadata"]["namespace"], connection, "metrics")
    types = obj["spec"]["config"]["systemNodeGroup"]["instanceTypes"]
    return cluster_metrics.metrics_for(name, region, chosen, cloudwatch.SessionReader(sess),
                                       now or datetime.datetime.now(datetime.timezone.utc), instance_types=types)
