"""What a `kubectl apply` (Argo CD's two ways of syncing) does to a field the manifest leaves out, as
docs/rest-api-guide.md ("Omitted fields in kubectl and Argo CD applies") states it, checked against the
real apiserver with fleetyard's CRDs and webhooks:

- server-side apply: a field the applier never set keeps its value, whoever set it; a field it set
  and then leaves out is removed, and the CRD default (if any) comes back (diskSizeGb -> 100, the node
  group is replaced) or nothing does (publicAccessCidrs: the endpoint opens to 0.0.0.0/0);
- a field another manager changed (the REST API, as `fleetyard-api`) conflicts with a re-apply of the
  old value, unless the applier forces (Argo CD does) and takes it back;
- client-side apply (`kubectl.kubernetes.io/last-applied-configuration`) does the same three-way.

Nothing is built: the clusters are Pending records.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from typing import Any

import pytest
import yaml

from fleetyard.devenv import tools
from fleetyard.models import kinds
from tests.conftest import get
from tests.e2e import rest

pytestmark = pytest.mark.timeout(300)

APPLIER = "gitops"
MANIFEST = {
    "apiVersion": kinds.API_VERSION, "kind": "ProvisionedCluster", "metadata": {"name": "prod"},
    "spec": {"connectionRef": {"name": "prod"}, "networkRef": {"name": "net"}, "displayName": "Prod",
             "region": "us-east-1", "desiredState": "Pending", "config": {
                 "kubernetesVersion": "1.34", "publicAccessCidrs": ["203.0.113.0/24"],
                 "systemNodeGroup": {"instanceTypes": ["m7g.large"], "minSize": 1, "maxSize": 3, "desiredSize": 2,
                                     "diskSizeGb": 50}}},
}


def _without(manifest: dict[str, Any], *paths: str) -> dict[str, Any]:
    out = copy.deepcopy(manifest)
    for path in paths:
        *parents, last = path.split(".")
        node = out["spec"]
        for part in parents:
            node = node[part]
        del node[last]
    return out


def _kubectl(env, tmp_path, *args: str, manifest: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    extra = []
    if manifest is not None:
        path = tmp_path / "manifest.yaml"
        path.write_text(yaml.safe_dump(manifest))
        extra = [f"--filename={path}"]
    return subprocess.run([str(tools.tool_path("kubectl")), *args, *extra], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "KUBECONFIG": str(env.kubeconfig)})


def _config(custom, namespace: str, name: str = "prod") -> dict[str, Any]:
    return get(custom, namespace, kinds.PROVISIONED_CLUSTER, name)["spec"]["config"]


def _owned(custom, namespace: str, manager: str, name: str = "prod") -> set[str]:
    """The node group fields `manager` owns (managedFields), e.g. {"diskSizeGb", "minSize"}."""
    obj = get(custom, namespace, kinds.PROVISIONED_CLUSTER, name)
    owned: set[str] = set()
    for entry in obj["metadata"].get("managedFields") or []:
        if entry["manager"] == manager:
            group = (((entry.get("fieldsV1") or {}).get("f:spec") or {}).get("f:config") or {}).get(
                "f:systemNodeGroup") or {}
            owned |= {k.removeprefix("f:") for k in group if k.startswith("f:")}
    return owned


def test_server_side_apply_resets_only_what_the_applier_had_set(env, custom, namespace, tmp_path) -> None:
    ssa = ("apply", "--server-side", f"--field-manager={APPLIER}", "-n", namespace)
    rest.team(custom, namespace, "blue")  # named by the REST API's change below: a Team must exist
    assert _kubectl(env, tmp_path, *ssa, manifest=MANIFEST).returncode == 0
    group = _config(custom, namespace)["systemNodeGroup"]
    assert group["name"] == "system" and group["diskSizeGb"] == 50  # name: the CRD default
    assert _owned(custom, namespace, APPLIER) == {"instanceTypes", "minSize", "maxSize", "desiredSize",
                                                  "diskSizeGb"}  # not `name`: a default has no owner

    # the REST API (another manager) sets a field the manifest never had: re-applies keep it
    patched = _kubectl(env, tmp_path, "patch", "provisionedcluster", "prod", "-n", namespace, "--type=merge",
                       "--field-manager=fleetyard-api", "-p", json.dumps({"spec": {"access": {"teams": ["blue"]}}}))
    assert patched.returncode == 0, patched.stderr
    assert _kubectl(env, tmp_path, *ssa, manifest=MANIFEST).returncode == 0
    assert get(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod")["spec"]["access"] == {"teams": ["blue"]}

    # the manifest leaves out two fields it had set: both go; one has a default, the other none
    leaner = _without(MANIFEST, "config.systemNodeGroup.diskSizeGb", "config.publicAccessCidrs")
    assert _kubectl(env, tmp_path, *ssa, manifest=leaner).returncode == 0
    config = _config(custom, namespace)
    assert config["systemNodeGroup"]["diskSizeGb"] == 100
    assert "publicAccessCidrs" not in config  # read as 0.0.0.0/0

    # the REST API changes a field the applier owns; re-applying the old value is a conflict ...
    patched = _kubectl(env, tmp_path, "patch", "provisionedcluster", "prod", "-n", namespace, "--type=merge",
                       "--field-manager=fleetyard-api",
                       "-p", json.dumps({"spec": {"config": {"systemNodeGroup": {"desiredSize": 3}}}}))
    assert patched.returncode == 0, patched.stderr
    assert "desiredSize" not in _owned(custom, namespace, APPLIER)  # taken over by the update
    assert _owned(custom, namespace, "fleetyard-api") == {"desiredSize"}
    conflict = _kubectl(env, tmp_path, *ssa, manifest=leaner)
    assert conflict.returncode != 0 and "conflict" in conflict.stderr.lower() and "fleetyard-api" in conflict.stderr
    assert _config(custom, namespace)["systemNodeGroup"]["desiredSize"] == 3
    # ... and a forced apply (Argo CD's ServerSideApply=true) takes it back
    assert _kubectl(env, tmp_path, *ssa, "--force-conflicts", manifest=leaner).returncode == 0
    assert _config(custom, namespace)["systemNodeGroup"]["desiredSize"] == 2

    # a dry run shows the reset before it happens: kubectl diff names the field
    diff = _kubectl(env, tmp_path, "diff", "--server-side", f"--field-manager={APPLIER}", "-n", namespace,
                    manifest=_without(leaner, "config.systemNodeGroup.maxSize"))
    assert diff.returncode != 0  # maxSize is required: the apply would be refused, and diff says so
    diff = _kubectl(env, tmp_path, "diff", "--server-side", f"--field-manager={APPLIER}", "-n", namespace,
                    manifest=MANIFEST)
    assert diff.returncode == 1 and "diskSizeGb: 50" in diff.stdout and "203.0.113.0/24" in diff.stdout


def test_client_side_apply_resets_what_the_last_applied_manifest_had(env, custom, namespace, tmp_path) -> None:
    csa = ("apply", "-n", namespace)
    rest.team(custom, namespace, "blue")
    assert _kubectl(env, tmp_path, *csa, manifest=MANIFEST).returncode == 0
    patched = _kubectl(env, tmp_path, "patch", "provisionedcluster", "prod", "-n", namespace, "--type=merge",
                       "-p", json.dumps({"spec": {"access": {"teams": ["blue"]}}}))
    assert patched.returncode == 0, patched.stderr
    leaner = _without(MANIFEST, "config.systemNodeGroup.diskSizeGb", "config.publicAccessCidrs")
    applied = _kubectl(env, tmp_path, *csa, manifest=leaner)
    assert applied.returncode == 0, applied.stderr
    spec = get(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod")["spec"]
    assert spec["config"]["systemNodeGroup"]["diskSizeGb"] == 100 and "publicAccessCidrs" not in spec["config"]
    assert spec["access"] == {"teams": ["blue"]}  # never in a manifest: kept
