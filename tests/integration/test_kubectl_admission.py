"""What `kubectl` users see at admission and in `kubectl explain`, against the real apiserver: a CIDR
with host bits set is refused naming the field and the network address meant (never stored, never
left to fail at run time), a Team that does not exist is a warning kubectl prints, and every field
explains itself."""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from fleetyard.devenv import tools
from fleetyard.models import kinds
from tests import manifests


def kubectl(env, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(tools.tool_path("kubectl")), *args], capture_output=True, text=True, timeout=120,
                          input=stdin, env={**os.environ, "KUBECONFIG": str(env.kubeconfig)})


def _doc(kind: kinds.Kind, name: str, spec: dict) -> str:
    return yaml.safe_dump({"apiVersion": kinds.API_VERSION, "kind": kind.kind, "metadata": {"name": name},
                           "spec": spec})


@pytest.mark.parametrize("kind,path,value,field,network", [
    (kinds.NETWORK, "config.cidr", "10.61.1.0/16", "config.cidr", "10.61.0.0/16"),
    (kinds.PROVISIONED_CLUSTER, "config.publicAccessCidrs", ["203.0.113.7/24"], "config.publicAccessCidrs[*]",
     "203.0.113.0/24"),
], ids=["network-cidr", "public-access-cidr"])
def test_cidr_with_host_bits_is_refused_naming_the_field(env, namespace, kind, path, value, field, network) -> None:
    spec = manifests.with_change(manifests.VALID[kind], path, value)
    out = kubectl(env, "apply", "-n", namespace, "-f", "-", stdin=_doc(kind, "x", spec))
    assert out.returncode != 0
    assert f"{field} {value if isinstance(value, str) else value[0]} has host bits set" in out.stderr, out.stderr
    assert "use the network address" in out.stderr
    assert kubectl(env, "get", kind.plural, "-n", namespace, "-o", "name").stdout == ""
    # the network address itself is accepted
    fixed = manifests.with_change(manifests.VALID[kind], path, network if isinstance(value, str) else [network])
    assert kubectl(env, "apply", "-n", namespace, "-f", "-", stdin=_doc(kind, "x", fixed)).returncode == 0


def test_unknown_team_is_a_warning_kubectl_prints(env, namespace) -> None:
    kubectl(env, "apply", "-n", namespace, "-f", "-", stdin=_doc(kinds.TEAM, "platform", {"displayName": "Platform"}))
    spec = manifests.with_change(manifests.CLUSTER_SPEC, "access", {"teams": ["platform", "data"]})
    out = kubectl(env, "apply", "-n", namespace, "-f", "-", stdin=_doc(kinds.PROVISIONED_CLUSTER, "x", spec))
    assert out.returncode == 0, out.stderr
    assert "Warning: spec.access.teams: no Team data in this namespace" in out.stderr
    assert "platform" not in out.stderr.split("no Team", 1)[1].split(";")[0]
    known = manifests.with_change(spec, "access", {"teams": ["platform"]})
    again = kubectl(env, "apply", "-n", namespace, "-f", "-", stdin=_doc(kinds.PROVISIONED_CLUSTER, "x", known))
    assert again.returncode == 0 and "Warning" not in again.stderr, again.stderr
    record = kubectl(env, "apply", "-n", namespace, "-f", "-", stdin=_doc(kinds.CLUSTER, "r", {
        "displayName": "R", "access": {"teams": ["ghosts"]}, "kubeconfigSecretRef": {"name": "r-kubeconfig"}}))
    assert record.returncode == 0 and "no Team ghosts" in record.stderr


@pytest.mark.parametrize("field", [
    "provisionedcluster.spec.region", "provisionedcluster.spec.displayName", "provisionedcluster.spec.config",
    "provisionedcluster.spec.connectionRef", "provisionedcluster.spec.networkRef",
    "provisionedcluster.spec.config.systemNodeGroup", "provisionedcluster.spec.config.systemNodeGroup.name",
    "provisionedcluster.spec.config.systemNodeGroup.diskSizeGb", "provisionedcluster.spec.config.systemNodeGroup.minSize",
    "provisionedcluster.status.kubeconfigSecretRef", "network.spec.region", "network.spec.config",
    "operation.status.progressCount", "cluster.status.conditions", "connection.spec.providerConfig",
])
def test_kubectl_explain_describes_the_field(env, field) -> None:
    out = kubectl(env, "explain", field)
    assert out.returncode == 0, out.stderr
    assert "<no description>" not in out.stdout, out.stdout
    assert "DESCRIPTION:" in out.stdout

