"""What the operator needs to run Pulumi locally: the CLI and the test `aws` plugin on PATH, a
state directory, workspaces, and the Secret with the state passphrase.

Used by `fleetyard.devenv.environment`. The plugin under `hack/pulumi-aws-plugin/` serves the
`pulumi_aws` resource types by calling moto; it is never part of the package, and automatic plugin
downloads are off so a missing plugin is an error rather than a download attempt.
"""

from __future__ import annotations

import base64
import os
import pathlib
import secrets

import kubernetes

from fleetyard.devenv import tools
from fleetyard.kube import apply as kube_apply

PASSPHRASE_NAMESPACE = "fleetyard-system"
PASSPHRASE_SECRET = "fleetyard-pulumi"
MOTO_SERVER_ENV = {"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}


def plugin_dir() -> pathlib.Path:
    return tools.repo_root() / "hack" / "pulumi-aws-plugin"


def operator_env(state_dir: pathlib.Path) -> dict[str, str]:
    pulumi_bin = tools.tool_path("pulumi").parent
    return {
        "PATH": os.pathsep.join([str(plugin_dir()), str(pulumi_bin), os.environ.get("PATH", "")]),
        "PULUMI_HOME": str(state_dir / "pulumi-home"),
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "FLEETYARD_STATE_BACKEND": (state_dir / "pulumi-state").as_uri(),
        "FLEETYARD_WORKSPACE_ROOT": str(state_dir / "workspaces"),
        "FLEETYARD_FAKE_AWS_STATE": str(state_dir / "fake-aws-state.json"),
        "FLEETYARD_PASSPHRASE_SECRET": f"{PASSPHRASE_NAMESPACE}/{PASSPHRASE_SECRET}",
    }


def prepare(state_dir: pathlib.Path, api: kubernetes.client.ApiClient) -> None:
    (state_dir / "pulumi-state").mkdir(parents=True, exist_ok=True)
    (state_dir / "workspaces").mkdir(parents=True, exist_ok=True)
    kube_apply.ensure_namespace(api, PASSPHRASE_NAMESPACE)
    core = kubernetes.client.CoreV1Api(api)
    try:
        core.read_namespaced_secret(PASSPHRASE_SECRET, PASSPHRASE_NAMESPACE)
    except kubernetes.client.ApiException as exc:
        if exc.status != 404:
            raise
        value = base64.b64encode(secrets.token_urlsafe(24).encode()).decode()
        core.create_namespaced_secret(PASSPHRASE_NAMESPACE, kubernetes.client.V1Secret(
            metadata=kubernetes.client.V1ObjectMeta(name=PASSPHRASE_SECRET), data={"passphrase": value}))
