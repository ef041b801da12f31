"""examples/ the way a GitOps tool applies them: `kubectl apply --server-side` of the files as they
are in git, reconciled until everything is active, then `kubectl diff --server-side` of the same
files, by the same field manager, prints nothing. Nothing fleetyard adds (the id label, authorship
annotations, CRD defaults, finalizers, status) looks like drift, so Argo CD or Flux stay in sync."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from fleetyard.devenv import samples, tools
from fleetyard.models import kinds
from tests.conftest import wait_for

pytestmark = pytest.mark.timeout(600)

EXAMPLES = tools.repo_root() / "examples"
FIELD_MANAGER = "gitops"  # one manager for both, as a GitOps controller re-applies its own manifests


def _kubectl(env, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(tools.tool_path("kubectl")), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "KUBECONFIG": str(env.kubeconfig)})


@pytest.mark.parametrize("org", samples.organizations(EXAMPLES), ids=lambda p: p.name)
def test_examples_applied_with_kubectl_show_no_diff_once_active(env, custom, org, tmp_path) -> None:
    namespace = samples.prepare_organization(env, org, f"gitops-{org.name}-{uuid.uuid4().hex[:5]}")
    files = [f"--filename={path}" for path in sorted(org.glob("*.yaml"))]
    applied = _kubectl(env, "apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-n", namespace, *files)
    assert applied.returncode == 0, applied.stderr

    def active(kind: kinds.Kind):
        def probe():
            items = custom.list_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kind.plural)["items"]
            return items and all((i.get("status") or {}).get("status") == "active" for i in items)
        return probe
    wait_for(active(kinds.CONNECTION), 30, f"the {org.name} Connection to be active")
    for kind in (kinds.NETWORK, kinds.PROVISIONED_CLUSTER):
        wait_for(active(kind), 240, f"the {org.name} {kind.kind} to be active")

    diff = _kubectl(env, "diff", "--server-side", f"--field-manager={FIELD_MANAGER}", "-n", namespace, *files)
    assert (diff.returncode, diff.stdout, diff.stderr) == (0, "", ""), \
        f"kubectl diff after reconciliation (exit {diff.returncode}):\n{diff.stdout}{diff.stderr}"

    # the same diff does see a change made in git
    edited = tmp_path / "network.yaml"
    edited.write_text((org / "network.yaml").read_text().replace("displayName: ", "displayName: Renamed "))
    changed = _kubectl(env, "diff", "--server-side", f"--field-manager={FIELD_MANAGER}", "-n", namespace,
                       f"--filename={edited}")
    assert changed.returncode == 1 and "+  displayName: Renamed " in changed.stdout, changed.stdout + changed.stderr
