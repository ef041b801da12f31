"""The Helm chart (`charts/fleetyard/`) against a real kube-apiserver: what a platform team installs.

`helm lint`; `helm template` of the default values and of every documented values file
(`charts/fleetyard/examples/*.yaml`), each applied to a fresh control plane (stored: nothing refused);
a wrong value refused by `helm install` with the field named; the rendered RBAC passes the security
checks of `tests/chart_checks.py`; and `helm install` + `helm upgrade` keep the generated webhook
certificate and the Pulumi passphrase. The test bed has no kubelet, so Deployments are stored, not run:
the processes themselves run as the chart's ServiceAccounts in every e2e test (`devenv.environment`).
"""

from __future__ import annotations

import base64
import collections.abc
import os
import pathlib
import subprocess
import uuid
from typing import Any

import kubernetes
import pytest

from fleetyard.devenv import chart, controlplane, tools
from fleetyard.kube import apply as kube_apply
from tests import chart_checks

pytestmark = pytest.mark.integration

EXAMPLES = sorted((tools.repo_root() / chart.CHART / "examples").glob("*.yaml"))
# Stand-ins for the CRDs of cert-manager and the Prometheus operator, which a management cluster has
# when those values are used: enough for the apiserver to store the chart's Certificate, Issuer and
# ServiceMonitor (their own schemas are those projects' business).
FOREIGN_CRDS = [("cert-manager.io", "Certificate", "certificates"), ("cert-manager.io", "Issuer", "issuers"),
                ("monitoring.coreos.com", "ServiceMonitor", "servicemonitors")]


def _helm(*args: str, kubeconfig: pathlib.Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"KUBECONFIG": str(kubeconfig)} if kubeconfig else {})}
    return subprocess.run([str(tools.tool_path("helm")), *args], capture_output=True, text=True, env=env,
                          check=False)


def _stand_in_crd(group: str, kind: str, plural: str) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
                     "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                         "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> collections.abc.Iterator[controlplane.ControlPlane]:
    with controlplane.ControlPlane(tmp_path_factory.mktemp("chart")) as cp:
        api = kubernetes.config.new_client_from_config(config_file=str(cp.kubeconfig))
        crds = [_stand_in_crd(*c) for c in FOREIGN_CRDS]
        kube_apply.apply(api, crds)
        kube_apply.wait_crds_established(api, [c["metadata"]["name"] for c in crds])
        yield cp


@pytest.fixture(scope="module")
def admin(plane: controlplane.ControlPlane) -> kubernetes.client.ApiClient:
    return kubernetes.config.new_client_from_config(config_file=str(plane.kubeconfig))


@pytest.mark.parametrize("values", [None, *EXAMPLES], ids=lambda p: p.name if p else "defaults")
def test_the_chart_lints(values: pathlib.Path | None) -> None:
    out = _helm("lint", "--strict", str(chart.chart_dir()), *(["--values", str(values)] if values else []))
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("values", [None, *EXAMPLES], ids=lambda p: p.name if p else "defaults")
def test_every_documented_setup_is_stored_by_the_apiserver(admin: kubernetes.client.ApiClient,
                                                           values: pathlib.Path | None) -> None:
    namespace = f"fy-{uuid.uuid4().hex[:6]}"
    docs = chart.render(namespace=namespace, release=namespace, values_files=[values] if values else [])
    for ns in {namespace} | {d["metadata"]["namespace"] for d in docs if d["metadata"].get("namespace")}:
        kube_apply.ensure_namespace(admin, ns)  # the release's, and organizations named in the values
    crds = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
    kube_apply.apply(admin, crds)
    kube_apply.wait_crds_established(admin, [d["metadata"]["name"] for d in crds])
    kube_apply.apply(admin, [d for d in docs if d["kind"] != "CustomResourceDefinition"])

    dynamic = kubernetes.dynamic.DynamicClient(admin)
    for doc in docs:
        resource = dynamic.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
        stored = resource.get(name=doc["metadata"]["name"],
                              namespace=doc["metadata"].get("namespace") if resource.namespaced else None)
        assert stored.metadata.name == doc["metadata"]["name"]
    kinds_ = {d["kind"] for d in docs}
    assert {"Deployment", "ServiceAccount", "ClusterRole", "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration", "Service"} <= kinds_
    # nothing of this release may keep refusing writes on the shared apiserver once stored
    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        dynamic.resources.get(api_version="admissionregistration.k8s.io/v1", kind=kind).delete(name=f"{namespace}-fleetyard")


@pytest.mark.parametrize("values", [None, *EXAMPLES], ids=lambda p: p.name if p else "defaults")
def test_the_rendered_rbac_grants_no_wildcard_escalation_or_rbac_writes(values: pathlib.Path | None) -> None:
    docs = chart.render(values_files=[values] if values else [])

    assert chart_checks.rbac_problems(docs) == []


def test_the_rbac_check_fails_on_what_it_must_refuse() -> None:
    bad = [
        {"kind": "ClusterRole", "metadata": {"name": "x"}, "rules": [{"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}]},
        {"kind": "ClusterRole", "metadata": {"name": "y"}, "rules": [
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterrolebindings"], "verbs": ["create"]}]},
        {"kind": "Role", "metadata": {"name": "z"}, "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]},
        {"kind": "ClusterRole", "metadata": {"name": "w"}, "rules": [
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["bind"]}]},
        {"kind": "ClusterRoleBinding", "metadata": {"name": "v"}, "roleRef": {"name": "cluster-admin"}},
        {"kind": "ClusterRole", "metadata": {"name": "operator"}, "rules": [
            {"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}]},
    ]
    for doc in bad:
        assert chart_checks.rbac_problems([doc]), doc


def test_each_process_has_its_own_serviceaccount_and_the_operator_reads_secrets_by_name_only() -> None:
    docs = chart.render()
    accounts = {d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"}
    assert accounts == {f"fleetyard-{c}" for c in chart.COMPONENTS}
    roles = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ClusterRole"}
    secret_rules = [r for r in roles["fleetyard-operator-secrets"]["rules"] if "secrets" in r["resources"]]
    assert secret_rules and all(not {"list", "watch"} & set(r["verbs"]) for r in secret_rules)
    webhook_verbs = {v for r in roles["fleetyard-webhooks"]["rules"] for v in r["verbs"]}
    assert webhook_verbs <= {"get", "list", "watch"}


def test_listed_secret_namespaces_narrow_the_operator_to_them() -> None:
    docs = chart.render({"rbac": {"secretNamespaces": ["acme", "globex"]}})
    bindings = [d for d in docs if d["metadata"]["name"] == "fleetyard-operator-secrets" and "Binding" in d["kind"]]
    assert sorted((d["kind"], d["metadata"].get("namespace")) for d in bindings) == [
        ("RoleBinding", "acme"), ("RoleBinding", "fleetyard-system"), ("RoleBinding", "globex")]


@pytest.mark.parametrize(("values", "field"), [
    ({"operator": {"replicaCount": "two"}}, "/operator/replicaCount"),
    ({"operator": {"replicaCont": 2}}, "replicaCont"),
    ({"state": {"backend": "gcs"}}, "/state/backend"),
    ({"webhooks": {"timeoutSeconds": 60}}, "/webhooks/timeoutSeconds"),
    ({"api": {"impersonateExtras": ["*"]}}, "/api/impersonateExtras/0"),
    ({"image": {"digest": "latest"}}, "/image/digest"),
])
def test_a_wrong_value_is_refused_with_the_field_named(values: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError) as refused:
        chart.render(values)
    assert field in str(refused.value)


def test_an_s3_backend_without_a_bucket_is_refused_naming_the_value() -> None:
    with pytest.raises(ValueError, match="state.s3.bucket is required"):
        chart.render({"state": {"backend": "s3"}})


def test_install_and_upgrade_keep_the_generated_certificate_and_passphrase(plane: controlplane.ControlPlane,
                                                                         admin: kubernetes.client.ApiClient) -> None:
    namespace = f"fy-{uuid.uuid4().hex[:6]}"
    release = namespace
    base = ["--namespace", namespace, "--set", "crds.install=false", "--set", "rbac.userRoles=false"]
    installed = _helm("install", release, str(chart.chart_dir()), "--create-namespace", *base,
                      kubeconfig=plane.kubeconfig)
    assert installed.returncode == 0, installed.stderr
    core = kubernetes.client.CoreV1Api(admin)
    try:
        tls = core.read_namespaced_secret(f"{release}-fleetyard-webhooks-tls", namespace).data
        passphrase = core.read_namespaced_secret(f"{release}-fleetyard-pulumi", namespace).data["passphrase"]
        hooks = kubernetes.client.AdmissionregistrationV1Api(admin).read_mutating_webhook_configuration(
            f"{release}-fleetyard")
        assert {h.client_config.ca_bundle for h in hooks.webhooks} == {tls["ca.crt"]}
        assert b"BEGIN CERTIFICATE" in base64.b64decode(tls["tls.crt"])

        upgraded = _helm("upgrade", release, str(chart.chart_dir()), *base, "--set", "operator.replicaCount=3",
                         kubeconfig=plane.kubeconfig)
        assert upgraded.returncode == 0, upgraded.stderr

        assert core.read_namespaced_secret(f"{release}-fleetyard-webhooks-tls", namespace).data == tls
        assert core.read_namespaced_secret(f"{release}-fleetyard-pulumi", namespace).data["passphrase"] == passphrase
        deployment = kubernetes.client.AppsV1Api(admin).read_namespaced_deployment(f"{release}-fleetyard-operator",
                                                                                    namespace)
        assert deployment.spec.replicas == 3
    finally:
        _helm("uninstall", release, "--namespace", namespace, kubeconfig=plane.kubeconfig)
    # uninstall keeps the passphrase (helm.sh/resource-policy: keep): the state's secrets stay readable
    assert core.read_namespaced_secret(f"{release}-fleetyard-pulumi", namespace).data["passphrase"] == passphrase


def test_the_pods_run_locked_down() -> None:
    docs = chart.render()
    for deployment in (d for d in docs if d["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert container["livenessProbe"] and container["readinessProbe"] and container["resources"]["requests"]
            assert not any(e["name"].startswith("AWS_SECRET") or e["name"] == "AWS_ACCESS_KEY_ID"
                           for e in container.get("env", []))
    replicas = {d["metadata"]["name"]: d["spec"]["replicas"] for d in docs if d["kind"] == "Deployment"}
    assert replicas == {"fleetyard-operator": 2, "fleetyard-webhooks": 2, "fleetyard-api": 2}
    budgets = {d["metadata"]["name"] for d in docs if d["kind"] == "PodDisruptionBudget"}
    assert budgets == {"fleetyard-operator", "fleetyard-webhooks", "fleetyard-api"}
