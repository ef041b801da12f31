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
    assert f"{field} must not have host bits set" in out.stderr, out.stderr
    assert kubectl(env, "get", kind.plural, "-n", namespace, "-o", "name").stdout == ""
    # the network address itself is accepted
    fixed = manifests.with_change(manifests.VALID[kind], path, network if isinstance(value, str) else [network])
    assert kubectl(env, "apply", "-n", namespace, "-f", "-", stdin=_doc(kind, "x", fixed)).returncode == 0


def test_a_team_that_is_gone_is_a_warning_kubectl_prints(env, namespace) -> None:
    team = _doc(kinds.TEAM, "platform", {"displayName": "Platform"})
    assert kubectl(env, "apply", "-n", namespace, "-f", "-", stdin=team).returncode == 0
    spec = manifests.with_change(manifests.CLUSTER_SPEC, "access", {"teams": ["platform"]})
    first = kubectl(env, "apply", "-n", namespace, "-f", "-", stdin=_doc(kinds.PROVISIONED_CLUSTER, "x", spec))
    assert first.returncode == 0 and "Warning" not in first.stderr, first.stderr
    # a new name must exist (refused); one named before whose Team was deleted since is a warning
    unknown = manifests.with_change(spec, "access", {"teams": ["platform", "data"]})
    refused = kubectl(env, "apply", "-n", namespace, "-f", "-", stdin=_doc(kinds.PROVISIONED_CLUSTER, "x", unknown))
    assert refused.returncode != 0 and "no Team data" in refused.stderr, refused.stderr
    assert kubectl(env, "delete", "-n", namespace, "team/platform").returncode == 0
    renamed = manifests.with_change(spec, "displayName", "Renamed")
    again = kubectl(env, "apply", "-n", namespace, "-f", "-", stdin=_doc(kinds.PROVISIONED_CLUSTER, "x", renamed))
    assert again.returncode == 0, again.stderr
    assert "Warning: spec.access.teams: no Team platform in this namespace" in again.stderr, again.stderr


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

