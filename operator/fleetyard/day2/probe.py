"""Gathers what a health check needs, from EKS and from the cluster's own API, then judges it.

Called by `day2.checks` in a worker thread. For a ProvisionedCluster it assumes the Connection's
role (the customer session), asks EKS for the cluster and its node groups, mints an EKS token and
reads Nodes and kube-system Pods through the cluster's endpoint; for a self-registered Cluster it
uses the kubeconfig from its Secret. An unreachable or slow API is a finding (ApiUnreachable), never
an exception.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import boto3

from fleetyard.cloud import eks, eks_token, errors
from fleetyard.connections import customer_session, external_id
from fleetyard.day2 import assessment, kubeconfigs
from fleetyard.kube import remote, secret_data
from fleetyard.models import cluster as cluster_model, connection, provisioned_cluster, timestamps

INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"


@dataclasses.dataclass(frozen=True)
class Probe:
    assessment: assessment.Assessment
    endpoint: kubeconfigs.Endpoint | None = None
    token: eks_token.Token | None = None
    role_arn: str | None = None
    kubernetes_version: str | None = None
    ready_nodes_by_type: dict[str, int] = dataclasses.field(default_factory=dict)
    active_jobs: int | None = None
    session: boto3.Session | None = dataclasses.field(default=None, repr=False)  # to publish samples


def _unknown(reason: str, message: str, checked: str) -> Probe:
    return Probe(assessment.Assessment("unknown", reason, message, {"status": "unknown", "lastCheckedAt": checked}))


def _ready_by_type(nodes: list[dict[str, Any]] | None) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in nodes or []:
        if node["ready"]:
            kind = (node.get("labels") or {}).get(INSTANCE_TYPE_LABEL, "unknown")
            counts[kind] = counts.get(kind, 0) + 1
    return counts


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


def provisioned(obj: provisioned_cluster.ProvisionedCluster, conn: connection.Connection,
                read_secret: external_id.SecretReader, *, timeout: float, job_namespace: str,
                token_lifetime: float) -> Probe:
    metadata = obj.status.providerMetadata
    name = metadata.clusterName if metadata else None
    region = obj.spec.region
    checked = timestamps.now()
    if not name:
        return _unknown("NotProvisioned", "the cluster is not built yet", checked)
    try:
        access = customer_session.for_connection(conn, "health", read_secret)
        sess = customer_session.session(access)
        cluster = eks.describe_cluster(sess, name)
        groups = eks.nodegroups(sess, name)
    except errors.CloudError as exc:
        return _unknown("ProviderUnreachable", f"EKS could not be asked: {exc.code}: {exc.message}", checked)
    endpoint = kubeconfigs.Endpoint(name, cluster.get("endpoint") or "",
                                    (cluster.get("certificateAuthority") or {}).get("data") or "", region)
    token = eks_token.get_token(sess, name, region, lifetime=datetime.timedelta(seconds=token_lifetime))
    nodes, pods, jobs, api_error = (None, None, None, "the cluster has no endpoint yet")
    if endpoint.server and endpoint.ca_data:
        with remote.client_for_token(endpoint.server, endpoint.ca_data, token.value) as api:
            nodes, pods, jobs, api_error = _read_api(api, job_namespace, timeout)
    facts = assessment.Facts(checked, cluster.get("status"), groups, nodes, pods, api_error)
    return Probe(assessment.assess(facts), endpoint, token, access.role_arn, cluster.get("version"),
                 _ready_by_type(nodes), jobs, sess)


def registered(obj: cluster_model.Cluster, read_secret: external_id.SecretReader, *, timeout: float,
               job_namespace: str) -> Probe:
    """A self-registered Cluster: only its own API, through the kubeconfig Secret it names."""
    ref = obj.spec.kubeconfigSecretRef
    assert ref is not None  # the daemon runs only for Clusters that name one
    checked = timestamps.now()
    try:
        document = read_secret(obj.namespace, ref.name, ref.key or "value")
    except secret_data.SecretProblem as exc:
        return _unknown("KubeconfigMissing", str(exc), checked)
    version = None
    try:
        with remote.client_for_kubeconfig(document) as api:
            nodes, pods, jobs, api_error = _read_api(api, job_namespace, timeout)
            if api_error is None:
                version = remote.version(api, timeout)
    except remote.RemoteError as exc:
        nodes, pods, jobs, api_error = None, None, None, str(exc)
    facts = assessment.Facts(checked, None, [], nodes, pods, api_error)
    return Probe(assessment.assess(facts), kubernetes_version=version,
                 ready_nodes_by_type=_ready_by_type(nodes), active_jobs=jobs)
