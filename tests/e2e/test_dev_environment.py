"""`fleetyard dev` as a developer uses it: `up --detach` builds the samples, `dev restart operator`
restarts only the operator (which then acts on requests again), and after `down` the next `up`
starts from an empty cloud, so every sample is built again in the new moto instead of showing
`active` on resources that no longer exist."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time

import boto3
import kubernetes
import pytest

from fleetyard.kube import client as kube_client
from fleetyard.models import kinds
from tests.conftest import wait_for

pytestmark = pytest.mark.timeout(1200)


def _dev(state: pathlib.Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fleetyard.cli", "dev", "--state-dir", str(state), *args],
                          capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


def _exports(state: pathlib.Path) -> dict[str, str]:
    out = {}
    for line in (state / "env").read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        out[key] = value
    return out


def _networks(state: pathlib.Path) -> list[dict]:
    api = kubernetes.client.CustomObjectsApi(kube_client.client_for(str(state / "kubeconfig")))
    return api.list_cluster_custom_object(kinds.GROUP, kinds.VERSION, kinds.NETWORK.plural)["items"]


def _all_active(state: pathlib.Path, timeout: float = 400) -> list[dict]:
    def probe():
        items = _networks(state)
        return items if items and all((i.get("status") or {}).get("status") == "active" for i in items) else None
    return wait_for(probe, timeout, "every sample Network to be active")


def _vpc_exists(state: pathlib.Path, vpc_id: str) -> bool:
    e = _exports(state)
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=e["AWS_ENDPOINT_URL"],
                       aws_access_key_id=e["AWS_ACCESS_KEY_ID"], aws_secret_access_key=e["AWS_SECRET_ACCESS_KEY"])
    return bool(ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"])


def test_restart_operator_then_down_and_up_rebuild_in_the_new_cloud(tmp_path) -> None:
    state = tmp_path / "dev"
    try:
        started = _dev(state, "up", "--detach")
        assert started.returncode == 0, started.stdout + started.stderr
        first = {n["metadata"]["uid"]: n["status"]["providerNetworkId"] for n in _all_active(state)}
        assert all(_vpc_exists(state, vpc) for vpc in first.values())

        restarted = _dev(state, "restart", "operator", timeout=180)
        assert restarted.returncode == 0 and "operator restarted" in restarted.stdout, restarted.stderr
        assert "restarting operator" in (state / "up.log").read_text()
        # the new operator acts: a refresh asked for now is handled
        net = _networks(state)[0]
        api = kubernetes.client.CustomObjectsApi(kube_client.client_for(str(state / "kubeconfig")))
        api.patch_namespaced_custom_object(kinds.GROUP, kinds.VERSION, net["metadata"]["namespace"],
                                           kinds.NETWORK.plural, net["metadata"]["name"], {"metadata": {
                                               "annotations": {kinds.REFRESH_REQUESTED_ANNOTATION: "after-restart"}}})
        wait_for(lambda: next(n for n in _networks(state) if n["metadata"]["uid"] == net["metadata"]["uid"]).get(
            "status", {}).get("lastHandledRefreshAt") == "after-restart", 120, "the restarted operator to act")

        assert _dev(state, "down", timeout=120).returncode == 0
        again = _dev(state, "up", "--detach")
        assert again.returncode == 0, again.stdout + again.stderr
        log = (state / "up.log").read_text()
        assert "removed the previous environment's cloud state" in log and "pulumi-state" in log
        second = _all_active(state)
        # new objects (etcd was reset), built in the new moto: every VPC named in status exists there
        assert not set(first) & {n["metadata"]["uid"] for n in second}
        assert all(_vpc_exists(state, n["status"]["providerNetworkId"]) for n in second)
    finally:
        _dev(state, "down", timeout=120)
        time.sleep(0.5)
