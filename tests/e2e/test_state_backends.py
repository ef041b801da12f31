"""The worker keeps Pulumi state in an s3:// bucket as well as in a file:// directory: a Network is
built with its state in a moto bucket, a second run finds it there (no duplicate VPC), and a destroy
empties the cloud. Runs the worker process exactly as the operator starts it."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from fleetyard import settings
from tests.e2e import connections, infra

pytestmark = pytest.mark.timeout(300)


def _run(env, job) -> dict:
    proc = subprocess.run([sys.executable, "-m", "fleetyard.provisioning.worker"], input=job.to_json(),
                          capture_output=True, text=True, env=env.operator_settings, timeout=240)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    final = lines[-1]
    assert "result" in final, f"{final}\n{proc.stderr[-3000:]}"
    return final["result"]


def test_network_state_in_an_s3_bucket(env, tmp_path) -> None:
    bucket = f"fy-state-{uuid.uuid4().hex[:8]}"
    infra.aws(env, "s3").create_bucket(Bucket=bucket)
    endpoint = env.aws_env()["AWS_ENDPOINT_URL"]
    backend = f"s3://{bucket}?region=us-east-1&endpoint={endpoint}&s3ForcePathStyle=true"
    role = connections.deploy_role(env)
    network_id = "S3STATE" + uuid.uuid4().hex[:3].upper()
    conn = infra.connection_body("prod", "s3org", "CONNS3TEST", role.role_arn)
    net = {"kind": "Network", "metadata": {"name": "net", "namespace": "s3org",
                                           "labels": {"fleetyard.io/id": network_id}},
           "spec": {"connectionRef": {"name": "prod"}, "displayName": "net", "region": "us-east-1",
                    "config": {"cidr": "10.60.0.0/20", "natGateways": "Single"}}}
    cfg = settings.Settings(state_backend_url=backend, workspace_root=str(tmp_path))
    job = infra.worker_job("net-provision-s3", "provision", net, conn, None, connections.EXTERNAL_ID, "s3-passphrase",
                           cfg)

    first = _run(env, job)
    vpc = first["outputs"]["vpcId"]
    keys = [o["Key"] for o in infra.aws(env, "s3").list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert any(k.endswith(f"fleetyard-byoc-network/s3org-{network_id.lower()}.json") for k in keys), keys
    again = _run(env, infra.worker_job("net-update-s3", "provision", net, conn, None, connections.EXTERNAL_ID,
                                       "s3-passphrase", cfg))
    assert again["outputs"]["vpcId"] == vpc and len(infra.vpcs_of(env, network_id)) == 1

    net["status"] = {"providerNetworkId": vpc}
    _run(env, infra.worker_job("net-destroy-s3", "destroy", net, conn, None, connections.EXTERNAL_ID, "s3-passphrase",
                               cfg))
    assert infra.vpcs_of(env, network_id) == []
