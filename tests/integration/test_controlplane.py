"""Integration tests of `fleetyard.devenv.controlplane` against real etcd and kube-apiserver.

One control plane serves the module; the tests use it as a client would (the kubernetes
Python client with the generated kubeconfigs): the admin can write, an unbound user is
forbidden until RBAC grants access, admission webhooks are called, a second control plane
runs alongside and stops without leftovers, and a failing start reports the log tail.
"""

from __future__ import annotations

import collections.abc
import os
import pathlib
import socket
import stat
import time
import urllib.parse
import uuid

import kubernetes
import pytest
import yaml

from fleetyard.devenv import controlplane, processes

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def plane(
    tmp_path_factory: pytest.TempPathFactory,
) -> collections.abc.Iterator[controlplane.ControlPlane]:
    with controlplane.ControlPlane(tmp_path_factory.mktemp("controlplane")) as cp:
        yield cp


def _api(kubeconfig: pathlib.Path) -> kubernetes.client.ApiClient:
    return kubernetes.config.new_client_from_config(config_file=str(kubeconfig))


def _namespace(api: kubernetes.client.ApiClient, labels: dict[str, str] | None = None) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    kubernetes.client.CoreV1Api(api).create_namespace(
        kubernetes.client.V1Namespace(
            metadata=kubernetes.client.V1ObjectMeta(name=name, labels=labels)
        )
    )
    return name


def _whoami(api: kubernetes.client.ApiClient) -> tuple[str, list[str]]:
    review = kubernetes.client.AuthenticationV1Api(api).create_self_subject_review(
        kubernetes.client.V1SelfSubjectReview()
    )
    info = review.status.user_info
    return info.username, list(info.groups or [])


def _eventually(call: collections.abc.Callable[[], object], timeout: float = 10) -> None:
    """RBAC reads bindings from an informer: a fresh binding takes effect within moments."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            call()
            return
        except kubernetes.client.ApiException as exc:
            if exc.status != 403 or time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def _port(server: str) -> int:
    port = urllib.parse.urlsplit(server).port
    assert port is not None
    return port


def _refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_admin_kubeconfig(plane: controlplane.ControlPlane) -> None:
    config = yaml.safe_load(plane.kubeconfig.read_text())
    assert config["current-context"] == "fleetyard-dev"
    assert config["clusters"][0]["cluster"]["server"] == plane.server
    assert config["users"][0]["name"] == "fleetyard-admin"
    assert "client-key-data" in config["users"][0]["user"]
    assert stat.S_IMODE(plane.kubeconfig.stat().st_mode) == 0o600
    assert plane.server.startswith("https://127.0.0.1:")
    assert plane.ca_file.is_file() and plane.ca_key_file.is_file()

    with _api(plane.kubeconfig) as api:
        username, groups = _whoami(api)
        assert username == "fleetyard-admin"
        assert "system:masters" in groups
        name = _namespace(api)
        got = kubernetes.client.CoreV1Api(api).read_namespace(name)
        assert got.metadata.name == name


def test_user_without_bindings_is_forbidden_until_bound(plane: controlplane.ControlPlane) -> None:
    with _api(plane.kubeconfig) as admin:
        namespace = _namespace(admin)
        user_config = plane.user_kubeconfig("alice@example.com", ["team-a"])
        with _api(user_config) as alice:
            assert _whoami(alice) == ("alice@example.com", ["team-a", "system:authenticated"])
            with pytest.raises(kubernetes.client.ApiException) as denied:
                kubernetes.client.CoreV1Api(alice).list_namespace()
            assert denied.value.status == 403
            with pytest.raises(kubernetes.client.ApiException) as denied:
                kubernetes.client.CoreV1Api(alice).list_namespaced_config_map(namespace)
            assert denied.value.status == 403

            rbac = kubernetes.client.RbacAuthorizationV1Api(admin)
            rbac.create_namespaced_role(
                namespace,
                {
                    "metadata": {"name": "configmap-reader"},
                    "rules": [
                        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}
                    ],
                },
            )
            rbac.create_namespaced_role_binding(
                namespace,
                {
                    "metadata": {"name": "team-a-reads-configmaps"},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Role",
                        "name": "configmap-reader",
                    },
                    "subjects": [
                        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "team-a"}
                    ],
                },
            )
            _eventually(
                lambda: kubernetes.client.CoreV1Api(alice).list_namespaced_config_map(namespace)
            )


def test_admission_webhooks_are_called(plane: controlplane.ControlPlane) -> None:
    closed_port = processes.free_port()
    with _api(plane.kubeconfig) as admin:
        namespace = _namespace(admin, labels={"webhook-test": "yes"})
        name = f"deny-{namespace}"
        admission = kubernetes.client.AdmissionregistrationV1Api(admin)
        admission.create_validating_webhook_configuration(
            {
                "metadata": {"name": name},
                "webhooks": [
                    {
                        "name": "deny.fleetyard.io",
                        "clientConfig": {"url": f"https://127.0.0.1:{closed_port}/validate"},
                        "rules": [
                            {
                                "apiGroups": [""],
                                "apiVersions": ["v1"],
                                "operations": ["CREATE"],
                                "resources": ["configmaps"],
                            }
                        ],
                        "namespaceSelector": {"matchLabels": {"webhook-test": "yes"}},
                        "failurePolicy": "Fail",
                        "sideEffects": "None",
                        "admissionReviewVersions": ["v1"],
                        "timeoutSeconds": 5,
                    }
                ],
            }
        )
        try:
            # the apiserver reads webhook configurations from an informer: the first creates
            # after this one may still be admitted (a few ms; longer while the controller
            # manager's start keeps it busy)
            deadline = time.monotonic() + 10
            with pytest.raises(kubernetes.client.ApiException) as rejected:
                for attempt in range(1000):
                    kubernetes.client.CoreV1Api(admin).create_namespaced_config_map(
                        namespace, {"metadata": {"name": f"probe-{attempt}"}}
                    )
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
            assert rejected.value.status == 500
            assert "deny.fleetyard.io" in str(rejected.value.body)
        finally:
            admission.delete_validating_webhook_configuration(name)


def test_second_control_plane_runs_alongside_and_stops_cleanly(
    plane: controlplane.ControlPlane, tmp_path: pathlib.Path
) -> None:
    second = controlplane.ControlPlane(tmp_path / "workload", context_name="workload")
    second.start()
    try:
        assert second.server != plane.server
        assert yaml.safe_load(second.kubeconfig.read_text())["current-context"] == "workload"
        with _api(second.kubeconfig) as api:
            name = _namespace(api)
        with _api(plane.kubeconfig) as api, pytest.raises(kubernetes.client.ApiException) as e:
            kubernetes.client.CoreV1Api(api).read_namespace(name)
        assert e.value.status == 404
        started = second.started_processes
        second_port = _port(second.server)
        assert [p.name for p in started] == ["etcd", "kube-apiserver", "kube-controller-manager"]
    finally:
        second.stop()

    for proc in started:
        assert not proc.alive()
        assert proc.pid is not None
        with pytest.raises(ProcessLookupError):
            os.kill(proc.pid, 0)
    assert _refuses_connections(second_port)
    assert (tmp_path / "workload" / "etcd.log").stat().st_size > 0
    assert (tmp_path / "workload" / "kube-apiserver.log").stat().st_size > 0
    assert (tmp_path / "workload" / "kube-controller-manager.log").stat().st_size > 0
    assert plane.running()


def test_failed_start_reports_log_tail_and_stops_etcd(tmp_path: pathlib.Path) -> None:
    fake = tmp_path / "kube-apiserver"
    fake.write_text("#!/bin/sh\necho 'fake apiserver: cannot start' >&2\nexit 3\n")
    fake.chmod(0o755)
    broken = controlplane.ControlPlane(tmp_path / "state", kube_apiserver=fake)
    with pytest.raises(processes.ProcessError) as failed:
        broken.start(timeout=30)
    message = str(failed.value)
    assert "kube-apiserver" in message
    assert "exited with code 3" in message
    assert "fake apiserver: cannot start" in message
    assert [p.name for p in broken.started_processes] == ["etcd", "kube-apiserver"]
    assert not any(p.alive() for p in broken.started_processes)
