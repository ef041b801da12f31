"""An engine killed in the middle of creating resources leaves *pending creates* in the stack. The
recovering worker finds those resources in the cloud (by their names or fleetyard's tags), adopts
them, and the run completes without creating anything twice. Simulated in the harshest form: every
resource of a built Network and cluster is turned back into a pending create."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import uuid

import pytest

from fleetyard import settings
from tests.e2e import connections, infra

pytestmark = pytest.mark.timeout(400)


def _worker(env, job) -> dict:
    proc = subprocess.run([sys.executable, "-m", "fleetyard.provisioning.worker"], input=job.to_json(),
                          capture_output=True, text=True, env=env.operator_settings, timeout=300)
    messages = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert "result" in messages[-1], f"{messages[-1]}\n{proc.stderr[-3000:]}"
    return {"result": messages[-1]["result"], "stages": [m["message"] for m in messages if "stage" in m]}


def _everything_pending(job) -> int:
    """Rewrite the stack's checkpoint as if the engine died while creating every resource.

    Written into the file backend directly: `pulumi stack import` drops pending operations."""
    path = pathlib.Path(job.backend_url.removeprefix("file://")) / ".pulumi" / "stacks" / job.project / \
        f"{job.stack_name}.json"
    checkpoint = json.loads(path.read_text())
    deployment = checkpoint["checkpoint"]["latest"]
    custom = [r for r in deployment["resources"] if r.get("custom") and not r["type"].startswith("pulumi:")]
    deployment["resources"] = [r for r in deployment["resources"] if r not in custom]
    deployment["pending_operations"] = [
        {"type": "creating", "resource": {k: v for k, v in r.items() if k not in ("id", "outputs")}} for r in custom]
    data = json.dumps(checkpoint).encode()
    path.write_bytes(data)
    attrs = path.with_name(path.name + ".attrs")
    meta = json.loads(attrs.read_text())
    meta["md5"] = base64.b64encode(hashlib.md5(data).digest()).decode()
    attrs.write_text(json.dumps(meta))
    return len(custom)


def _job(op: str, target: dict, conn: dict, network: dict | None, cfg: settings.Settings, recover: bool = False):
    return infra.worker_job(f"{target['metadata']['name']}-{op}", op, target, conn, network, connections.EXTERNAL_ID,
                            "pass", cfg, recover=recover)


def test_pending_creates_are_adopted_not_duplicated(env, tmp_path) -> None:
    role = connections.deploy_role(env)
    cfg = settings.Settings(state_backend_url=(tmp_path / "state").as_uri(), workspace_root=str(tmp_path / "ws"))
    os.makedirs(tmp_path / "state")
    suffix = uuid.uuid4().hex[:4].upper()
    conn = infra.connection_body("prod", "adopt", "CONNADOPT1", role.role_arn)
    net = {"kind": "Network", "metadata": {"name": "net", "namespace": "adopt", "labels": {"fleetyard.io/id": f"NETADO{suffix}"}},
           "spec": {"connectionRef": {"name": "prod"}, "displayName": "net", "region": "us-east-1",
                    "config": {"cidr": "10.100.0.0/20", "natGateways": "OnePerAz"}}}
    built = _worker(env, _job("provision", net, conn, None, cfg))["result"]["outputs"]
    net["status"] = {"providerNetworkId": built["vpcId"], "iacOutputs": built}
    cluster = {"kind": "ProvisionedCluster", "metadata": {"name": "prod", "namespace": "adopt",
                                                          "labels": {"fleetyard.io/id": f"CLUADO{suffix}"}},
               "spec": {"connectionRef": {"name": "prod"}, "displayName": "prod", "region": "us-east-1",
                        "networkRef": {"name": "net"}, "config": {
                   "kubernetesVersion": "1.35", "systemNodeGroup": {"name": "system", "instanceTypes": ["m7g.large"],
                                                                    "minSize": 1, "maxSize": 2, "desiredSize": 1}}}}
    cluster_out = _worker(env, _job("provision", cluster, conn, net, cfg))["result"]["outputs"]

    ec2, eks = infra.aws(env, "ec2"), infra.aws(env, "eks")
    vpc_filter = [{"Name": "vpc-id", "Values": [built["vpcId"]]}]
    before = (len(ec2.describe_subnets(Filters=vpc_filter)["Subnets"]),
              len([n for n in ec2.describe_nat_gateways(Filters=vpc_filter)["NatGateways"] if n["State"] != "deleted"]))
    for target, network in ((net, None), (cluster, net)):
        job = _job("provision", target, conn, network, cfg, recover=True)
        pending = _everything_pending(job)
        run = _worker(env, job)
        assert any(f"{pending} resource(s) the stopped run was creating were found and adopted; 0 will be created"
                   in m for m in run["stages"]), run["stages"]
        assert "create" not in run["result"]["changes"], run["result"]["changes"]

    assert len(infra.vpcs_of(env, f"NETADO{suffix}")) == 1
    after = (len(ec2.describe_subnets(Filters=vpc_filter)["Subnets"]),
             len([n for n in ec2.describe_nat_gateways(Filters=vpc_filter)["NatGateways"] if n["State"] != "deleted"]))
    assert after == before == (6, 3)
    name = cluster_out["clusterName"]
    assert infra.eks_clusters(env, name) == [name]
    assert eks.list_nodegroups(clusterName=name)["nodegroups"] == [cluster_out["nodeGroupName"]]

    cluster["status"] = {"providerMetadata": {"clusterName": name}}
    _worker(env, _job("destroy", cluster, conn, net, cfg))
    _worker(env, _job("destroy", net, conn, None, cfg))
    assert infra.vpcs_of(env, f"NETADO{suffix}") == [] and infra.eks_clusters(env, name) == []
