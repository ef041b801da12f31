"""Helpers of the provisioning e2e tests: manifests for a Network and a ProvisionedCluster, waiting
for their phases, and looking at what moto (the AWS endpoint) holds."""

from __future__ import annotations

import json
import pathlib
import urllib.request
from typing import Any

import boto3

from fleetyard import settings
from fleetyard.models import kinds
from fleetyard.provisioning import job as job_mod
from tests.conftest import create, get, wait_for

PROVISION_TIMEOUT = 240


def network(custom, namespace: str, name: str = "net", connection: str = "prod", cidr: str = "10.30.0.0/16",
            **spec: Any) -> dict[str, Any]:
    return create(custom, namespace, kinds.NETWORK, {"metadata": {"name": name}, "spec": {
        "connectionRef": {"name": connection}, "displayName": "Network", "region": "us-east-1",
        "config": {"cidr": cidr, "natGateways": "Single"}, **spec}})


def cluster(custom, namespace: str, name: str = "prod", network_name: str = "net", connection: str = "prod",
            **spec: Any) -> dict[str, Any]:
    return create(custom, namespace, kinds.PROVISIONED_CLUSTER, {"metadata": {"name": name}, "spec": {
        "connectionRef": {"name": connection}, "networkRef": {"name": network_name}, "displayName": "Cluster",
        "region": "us-east-1", "config": {
            "kubernetesVersion": "1.34", "publicAccessCidrs": ["203.0.113.0/24"],
            "systemNodeGroup": {"name": "system", "instanceTypes": ["m7g.large"], "minSize": 1, "maxSize": 3,
                                "desiredSize": 2, "diskSizeGb": 50}}, **spec}})


def patch_spec(custom, namespace: str, kind: kinds.Kind, name: str, spec: dict[str, Any]) -> None:
    custom.patch_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kind.plural, name, {"spec": spec},
                                          _content_type="application/merge-patch+json")


def phase_is(custom, namespace: str, kind: kinds.Kind, name: str, phase: str,
             timeout: float = PROVISION_TIMEOUT, generation: bool = True) -> dict[str, Any]:
    """The object once status.status is `phase` (and, by default, reflects the current generation)."""
    def probe() -> dict[str, Any] | None:
        obj = get(custom, namespace, kind, name)
        status = obj.get("status") or {}
        if status.get("status") == "failed" and phase != "failed" and "retrying" not in (status.get("statusMessage") or ""):
            raise AssertionError(f"{kind.kind} {name} failed: {status.get('statusMessage')}")
        fresh = not generation or status.get("observedGeneration") == obj["metadata"]["generation"]
        return obj if status.get("status") == phase and fresh else None
    return wait_for(probe, timeout, f"{kind.kind} {name} to be {phase}")


def operations(custom, namespace: str, target: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The Operations of `target` (by default a Network or ProvisionedCluster, not a Connection of the
    same name, whose catalog runs are Operations too)."""
    items = custom.list_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, "operations")["items"]
    mine = [o for o in items if o["spec"]["resourceRef"]["name"] == target
            and (o["spec"]["resourceRef"]["kind"] == kind if kind else o["spec"]["resourceRef"]["kind"] != "Connection")]
    # oldest first, as the operator orders them (`kube.operations.for_target`): creationTimestamp has
    # one-second resolution, so ties go by the generation each names, then the attempt
    return sorted(mine, key=lambda o: (o["metadata"]["creationTimestamp"], o["spec"].get("targetGeneration") or 0,
                                       o["spec"].get("attempt") or 1, o["metadata"]["name"]))


def operation_names(custom, namespace: str, target: str) -> set[str]:
    """The names of `target`'s Operations: compare these, not counts, since the operator prunes a
    target's finished Operations to its history limit (3 in the tests) and a new one can replace a
    pruned one without the count changing."""
    return {o["metadata"]["name"] for o in operations(custom, namespace, target)}


def new_operations(custom, namespace: str, target: str, seen: set[str]) -> list[dict[str, Any]]:
    """`target`'s Operations not among `seen`, oldest first."""
    return [o for o in operations(custom, namespace, target) if o["metadata"]["name"] not in seen]


def gone(custom, namespace: str, kind: kinds.Kind, name: str, timeout: float = PROVISION_TIMEOUT) -> bool:
    import kubernetes

    def probe() -> bool:
        try:
            get(custom, namespace, kind, name)
        except kubernetes.client.ApiException as exc:
            return exc.status == 404
        return False
    return wait_for(probe, timeout, f"{kind.kind} {name} to be deleted")


def aws(env, service: str) -> Any:
    e = env.aws_env()
    return boto3.client(service, region_name="us-east-1", endpoint_url=e["AWS_ENDPOINT_URL"],
                        aws_access_key_id=e["AWS_ACCESS_KEY_ID"], aws_secret_access_key=e["AWS_SECRET_ACCESS_KEY"])


def vpcs_of(env, network_id: str) -> list[dict[str, Any]]:
    return aws(env, "ec2").describe_vpcs(Filters=[{"Name": "tag:fleetyard.io/network-id",
                                                   "Values": [network_id]}])["Vpcs"]


def eks_clusters(env, prefix: str) -> list[str]:
    return [n for n in aws(env, "eks").list_clusters()["clusters"] if n.startswith(prefix)]


def fake_aws_state(env) -> dict[str, Any]:
    """What the test `aws` plugin keeps for APIs moto lacks (cluster versions, addons, access entries)."""
    path = pathlib.Path(env.operator_settings["FLEETYARD_FAKE_AWS_STATE"])
    return json.loads(path.read_text()) if path.exists() else {}


def create_cluster_record(custom, namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return create(custom, namespace, kinds.CLUSTER, {"metadata": {"name": name}, "spec": spec})


def connection_body(name: str, namespace: str, seed_id: str, role_arn: str) -> dict[str, Any]:
    """A Connection as stored, for tests that run the worker without the operator."""
    return {"kind": "Connection", "metadata": {"name": name, "namespace": namespace, "labels": {kinds.ID_LABEL: seed_id}},
            "spec": {"displayName": name, "providerConfig": {
                "accountId": role_arn.split(":")[4], "region": "us-east-1", "roleArn": role_arn,
                "externalIdSecretRef": {"name": f"{name}-external-id"}}}}


def worker_job(op_name: str, operation: str, target: dict[str, Any], conn: dict[str, Any],
               network: dict[str, Any] | None, external_id: str, passphrase: str, cfg: settings.Settings,
               **kw: Any) -> job_mod.Job:
    """The job the runner would build for an Operation `op_name` over these bodies (each parsed as the
    runner parses what it reads)."""
    op = {"metadata": {"name": op_name, "namespace": target["metadata"]["namespace"]},
          "spec": {"operation": operation, "resourceType": "network" if target["kind"] == "Network" else "externalCluster",
                   "resourceRef": {"kind": target["kind"], "name": target["metadata"]["name"]}}}
    return job_mod.build(kinds.OPERATION.parse(op), kinds.BY_KIND[target["kind"]].parse(target),
                         kinds.CONNECTION.parse(conn), kinds.NETWORK.parse(network) if network else None,
                         external_id, passphrase, cfg, **kw)


def operator_endpoint(env, port_setting: str, path: str) -> tuple[int, str]:
    """GET one of the operator's own endpoints (`FLEETYARD_HEALTH_PORT` /healthz, `FLEETYARD_METRICS_PORT` /metrics)."""
    port = env.operator_settings[port_setting]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
        return resp.status, resp.read().decode()
