"""Builds the `Job` for an Operation from its target, Connection and Network, read at run time.

Called by the runner just before a worker starts, so a run always uses the current spec and
credentials. Pure apart from the two injected readers (external id, passphrase); raises
`JobProblem` with a message naming the field or object when the work cannot be described.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from fleetyard import settings as settings_mod
from fleetyard.provisioning import aws_target, job as job_mod

PROGRAMS = {"Network": "network", "ProvisionedCluster": "cluster"}


class JobProblem(Exception):
    """The Operation cannot run as asked; the message is safe to show in status."""

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


def _id(obj: dict[str, Any]) -> str:
    value = (obj["metadata"].get("labels") or {}).get("fleetyard.io/id") or (obj.get("status") or {}).get("id")
    if not value:
        raise JobProblem(f"{obj['kind']} {obj['metadata']['name']} has no id yet", retryable=True)
    return str(value)


def _dns_name(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def cluster_name(namespace: str, name: str, cluster_id: str) -> str:
    """The EKS cluster's name: readable, unique per organization and id, within EKS's 100 characters."""
    return f"fy-{_dns_name(namespace)[:30]}-{_dns_name(name)[:50]}-{cluster_id.lower()}"


def build(op: dict[str, Any], target: dict[str, Any], connection: dict[str, Any], network: dict[str, Any] | None,
          external_id: str, passphrase: str, cfg: settings_mod.Settings, *, recover: bool = False,
          endpoint_url: str | None = None) -> job_mod.Job:
    kind = target["kind"]
    namespace = target["metadata"]["namespace"]
    target_id = _id(target)
    spec = target.get("spec") or {}
    config = (connection.get("spec") or {}).get("providerConfig") or {}
    aws = aws_target.AwsTarget(
        region=spec["region"], role_arn=config["roleArn"], external_id=external_id,
        session_name=f"fleetyard-{op['metadata']['name']}"[:64], organization=namespace,
        endpoint_url=endpoint_url if endpoint_url is not None else os.environ.get("AWS_ENDPOINT_URL") or None)
    program = PROGRAMS[kind]
    status = target.get("status") or {}
    if program == "network":
        args: dict[str, Any] = {"network_id": target_id, "name": target["metadata"]["name"],
                                "cidr": spec["config"]["cidr"],
                                "nat_gateways": spec["config"].get("natGateways") or "OnePerAz"}
        verify = {"vpcId": status["providerNetworkId"]} if status.get("providerNetworkId") else {}
    else:
        args = _cluster_args(target, target_id, connection, network)
        name = (status.get("providerMetadata") or {}).get("clusterName") or args["cluster_name"]
        verify = {"clusterName": name}
    args["target"] = aws.__dict__.copy()
    stack = job_mod.stack_name(namespace, target_id)
    return job_mod.Job(
        operation=op["spec"]["operation"], program=program, stack_name=stack,  # type: ignore[arg-type]
        backend_url=cfg.state_backend_url, passphrase=passphrase,
        work_dir=os.path.join(cfg.workspace_root, job_mod.PROJECTS[program], stack), args=args,
        recover=recover, verify_gone=verify if op["spec"]["operation"] == "destroy" else {},
        attempt=int(op["spec"].get("attempt") or 1))


def _cluster_args(target: dict[str, Any], target_id: str, connection: dict[str, Any],
                  network: dict[str, Any] | None) -> dict[str, Any]:
    spec = target["spec"]
    if network is None:
        raise JobProblem(f"Network {spec['networkRef']['name']} (spec.networkRef) was not found", retryable=True)
    outputs = (network.get("status") or {}).get("iacOutputs") or {}
    public, private = outputs.get("publicSubnetIds"), outputs.get("privateSubnetIds")
    if not public or not private:
        raise JobProblem(f"Network {network['metadata']['name']} has no subnets yet", retryable=True)
    group = spec["config"]["systemNodeGroup"]
    conn_id = _id(connection)
    return {
        "cluster_id": target_id,
        "cluster_name": cluster_name(target["metadata"]["namespace"], target["metadata"]["name"], target_id),
        "role_prefix": f"fy-{conn_id}-{target_id}".lower(),
        "kubernetes_version": spec["config"]["kubernetesVersion"],
        "node_group": {"name": group.get("name") or "system", "instance_types": list(group["instanceTypes"]),
                       "min_size": group["minSize"], "max_size": group["maxSize"],
                       "desired_size": group["desiredSize"], "disk_size_gb": group.get("diskSizeGb") or 100},
        "public_subnet_ids": public.split(","),
        "private_subnet_ids": private.split(","),
        "public_access_cidrs": list(spec["config"].get("publicAccessCidrs") or []),
    }


PassphraseReader = Callable[[str, str, str], str]


def passphrase(cfg: settings_mod.Settings, read_secret: PassphraseReader) -> str:
    namespace, _, name = cfg.passphrase_secret.partition("/")
    return read_secret(namespace, name, "passphrase")
