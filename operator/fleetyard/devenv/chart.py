"""The Helm chart (`charts/fleetyard/`) rendered for the test bed: one source for the CRDs, the RBAC,
the ServiceAccounts, the peering object and the webhook configurations of `fleetyard dev up` and the
tests.

`render` runs `helm template` (Helm is a test-bed tool, `hack/tools.sh`). The test bed has no
kubelet, so the chart's Deployments, Services and PodDisruptionBudgets are not applied: the dev
environment runs the same three processes on loopback instead (`webhooks_process`,
`operator_process`, `api_process`), each as its chart ServiceAccount (`service_account_kubeconfig`),
and the webhook configurations point at the local webhook server (`for_test_bed`), everything else
exactly as rendered.
"""

from __future__ import annotations

import base64
import copy
import json
import pathlib
import subprocess
import tempfile
from collections.abc import Iterable
from typing import Any

import kubernetes
import yaml

from fleetyard.devenv import tools
from fleetyard.kube import service_accounts

CHART = pathlib.Path("charts", "fleetyard")
RELEASE = "fleetyard"
NAMESPACE = "fleetyard-system"
# The three processes and their ServiceAccounts (`<release>-<component>`).
COMPONENTS = ("operator", "webhooks", "api")
# Kinds the test bed takes from the chart as they are; the rest needs a kubelet or is the dev
# environment's own (the passphrase Secret, the webhook serving certificate).
APPLIED_KINDS = frozenset({"CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
                           "ServiceAccount", "ClusterKopfPeering", "MutatingWebhookConfiguration",
                           "ValidatingWebhookConfiguration"})
WEBHOOK_KINDS = frozenset({"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"})
TOKEN_SECONDS = 7 * 24 * 3600


def chart_dir() -> pathlib.Path:
    return tools.repo_root() / CHART


def render(values: dict[str, Any] | None = None, release: str = RELEASE, namespace: str = NAMESPACE,
           values_files: Iterable[pathlib.Path] = ()) -> list[dict[str, Any]]:
    """The chart's objects for these values (`helm template`); raises with Helm's message on refusal."""
    helm = tools.tool_path("helm")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as extra:
        json.dump(values or {}, extra)
        extra.flush()
        args = [str(helm), "template", release, str(chart_dir()), "--namespace", namespace]
        for f in values_files:
            args += ["--values", str(f)]
        args += ["--values", extra.name]
        out = subprocess.run(args, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise ValueError(f"helm template refused the values: {out.stderr.strip()}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def component_account(component: str, release: str = RELEASE) -> str:
    return f"{release}-{component}"


def for_test_bed(docs: list[dict[str, Any]], webhook_url: str, ca_bundle: bytes) -> list[dict[str, Any]]:
    """The objects the test bed applies: webhook configurations call `webhook_url` (the local server)
    with the same paths, rules and policies as rendered; Deployments and the like are left out."""
    out = []
    for doc in docs:
        if doc["kind"] not in APPLIED_KINDS:
            continue
        doc = copy.deepcopy(doc)
        if doc["kind"] in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
            for hook in doc["webhooks"]:
                path = hook["clientConfig"]["service"]["path"]
                hook["clientConfig"] = {"url": webhook_url.rstrip("/") + path,
                                        "caBundle": base64.b64encode(ca_bundle).decode()}
        out.append(doc)
    return out


def rbac(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only the RBAC objects and ServiceAccounts of a render."""
    kinds_ = {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount"}
    return [d for d in docs if d["kind"] in kinds_]


def service_account_kubeconfig(api: kubernetes.client.ApiClient, server: str, ca_file: pathlib.Path,
                               namespace: str, name: str, path: pathlib.Path) -> pathlib.Path:
    """A kubeconfig (mode 0600) authenticating as the ServiceAccount with a TokenRequest token, as a
    pod of that ServiceAccount would: how the dev environment runs each process as its chart identity."""
    token = service_accounts.token(api, namespace, name, TOKEN_SECONDS)
    user = service_accounts.username(namespace, name)
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": "fleetyard-dev", "cluster": {"server": server, "certificate-authority": str(ca_file)}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": "fleetyard-dev", "user": user}}],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(yaml.safe_dump(config))
    return path
