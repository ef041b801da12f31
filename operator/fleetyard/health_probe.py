"""Gathers what a health check needs, from EKS and from the cluster's own API, then judges it.

Called by the health daemons (`fleetyard.controllers.health`) in a worker thread. For a
ProvisionedCluster it assumes the Connection's role, asks EKS for the cluster and its node groups,
mints an EKS token and reads Nodes and kube-system Pods through the cluster's endpoint; for a
self-registered Cluster it uses the kubeconfig from its Secret. An unreachable or slow API is a
finding (ApiUnreachable), never an exception.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import boto3

from fleetyard import cluster_health, conditions, kubeconfigs
from fleetyard.cloud import eks, eks_token, errors, session as sessions, sts
from fleetyard.controllers import connection_phases
from fleetyard.kube import remote, resources

INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"


@dataclasses.dataclass(frozen=True)
class Probe:
    assessment: cluster_health.Assessment
    endpoint: kubeconfigs.Endpoint | None = None
    token: eks_token.Token | None = None
    role_arn: str | None = None
    kubernetes_version: str | None = None
    ready_nodes_by_type: dict[str, int] = dataclasses.field(default_factory=dict)
    active_jobs: int | None = None
    session: boto3.Session | None = dataclasses.field(default=None, repr=False)  # to publish samples


def _ready_by_type(nodes: list[dict[str, Any]] | None) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in nodes or []:
        if node["ready"]:
            kind = (node.get("labels") or {}).get(INSTANCE_TYPE_LABEL, "unknown")
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def customer_session(namespace: str, connection: dict[str, Any], purpose: str) -> tuple[boto3.Session, str]:
    """A session of the Connection's role (and the role ARN), for day-2 reads."""
    try:
        config, external_id = connection_phases.external_id_of(namespace, connection)
    except connection_phases.Failed as exc:
        raise errors.CloudError("ConnectionUnusable", exc.outcome.message) from None
    role = sts.assume_role(sessions.base_session(config.region), config.roleArn, external_id,
                           f"fleetyard-{purpose}"[:64])
    return role.session(config.region), config.roleArn


def _read_api(api: Any, job_namespace: str, timeout: float) -> tuple[Any, Any, int | None, str | None]:
    try:
        nodes = remote.nodes(api, timeout)
        pods = remote.system_pods(api, timeout)
    except remote.RemoteError as exc:
        return None, None, None, str(exc)
    try:
        jobs = remote.active_jobs(api, job_namespace, timeout)
    except remote.RemoteError:
        jobs = None  # no job namespace yet is not a health problem
    return nodes, pods, jobs, None


def provisioned(obj: dict[str, Any], connection: dict[str, Any], *, timeout: float, job_namespace: str,
                token_lifetime: float) -> Probe:
    meta, status = obj["metadata"], obj.get("status") or {}
    name = (status.get("providerMetadata") or {}).get("clusterName")
    region = obj["spec"]["region"]
    checked = conditions.now()
    if not name:
        return Probe(cluster_health.Assessment("unknown", "NotProvisioned", "the cluster is not built yet",
                                               {"status": "unknown", "lastCheckedAt": checked}))
    try:
        sess, role_arn = customer_session(meta["namespace"], connection, "health")
        cluster = eks.describe_cluster(sess, name)
        groups = eks.nodegroups(sess, name)
    except errors.CloudError as exc:
        message = f"EKS could not be asked: {exc.code}: {exc.message}"
        return Probe(cluster_health.Assessment("unknown", "ProviderUnreachable", message,
                                               {"status": "unknown", "lastCheckedAt": checked}))
    endpoint = kubeconfigs.Endpoint(name, cluster.get("endpoint") or "",
                                    (cluster.get("certificateAuthority") or {}).get("data") or "", region)
    token = eks_token.get_token(sess, name, region, lifetime=datetime.timedelta(seconds=token_lifetime))
    nodes, pods, jobs, api_error = (None, None, None, "the cluster has no endpoint yet")
    if endpoint.server and endpoint.ca_data:
        with remote.client_for_token(endpoint.server, endpoint.ca_data, token.value) as api:
            nodes, pods, jobs, api_error = _read_api(api, job_namespace, timeout)
    facts = cluster_health.Facts(checked, cluster.get("status"), groups, nodes, pods, api_error)
    return Probe(cluster_health.assess(facts), endpoint, token, role_arn, cluster.get("version"),
                 _ready_by_type(nodes), jobs, sess)


def registered(obj: dict[str, Any], *, timeout: float, job_namespace: str) -> Probe:
    """A self-registered Cluster: only its own API, through the kubeconfig Secret it names."""
    meta = obj["metadata"]
    ref = obj["spec"]["kubeconfigSecretRef"]
    checked = conditions.now()
    try:
        document = resources.secret_value(meta["namespace"], ref["name"], ref.get("key") or "value")
    except resources.SecretProblem as exc:
        return Probe(cluster_health.Assessment("unknown", "KubeconfigMissing", str(exc),
                                               {"status": "unknown", "lastCheckedAt": checked}))
    version = None
    try:
        with remote.client_for_kubeconfig(document) as api:
            nodes, pods, jobs, api_error = _read_api(api, job_namespace, timeout)
            if api_error is None:
                version = remote.version(api, timeout)
    except remote.RemoteError as exc:
        nodes, pods, jobs, api_error = None, None, None, str(exc)
    facts = cluster_health.Facts(checked, None, [], nodes, pods, api_error)
    return Probe(cluster_health.assess(facts), kubernetes_version=version,
                 ready_nodes_by_type=_ready_by_type(nodes), active_jobs=jobs)
