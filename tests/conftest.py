"""Shared fixtures: one local environment (apiserver + etcd + moto + operator) for the whole run,
a fresh namespace per test, and small helpers to wait for what a user would wait for."""

from __future__ import annotations

import os
import pathlib
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import kubernetes
import pytest

from fleetyard.devenv import environment
from fleetyard.kube import apply as kube_apply
from fleetyard.models import kinds

T = TypeVar("T")

OPERATOR_ENV = {
    # changes arrive by watch; the resync is only the safety net, well above what any test waits for a
    # reaction, so a missing wake-up shows as a failure rather than as a slow pass
    "FLEETYARD_RESYNC_INTERVAL": "120",
    "FLEETYARD_CONNECTION_RETRY_INTERVAL": "2",
    "FLEETYARD_CONNECTION_VERIFY_INTERVAL": "600",
    "FLEETYARD_LOG_FORMAT": "json",
    "FLEETYARD_HEARTBEAT_INTERVAL": "1",
    "FLEETYARD_PROGRESS_INTERVAL": "0.5",
    "FLEETYARD_OPERATION_HISTORY": "3",
    "FLEETYARD_HEALTH_INTERVAL": "2",
    "FLEETYARD_HEALTH_TIMEOUT": "5",
    "FLEETYARD_TOKEN_LIFETIME": "30",
    "FLEETYARD_TOKEN_REFRESH_BEFORE": "20",
    # a replica killed by a test (crash recovery, failover) stops holding the peering claim this soon
    "FLEETYARD_PEERING_LIFETIME": "10",
}


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[environment.Environment]:
    state = pathlib.Path(tmp_path_factory.mktemp("fleetyard-env"))
    e = environment.Environment(state, OPERATOR_ENV)
    e.start()
    saved = {k: os.environ.get(k) for k in ("KUBECONFIG", *e.aws_env())}
    os.environ["KUBECONFIG"] = str(e.kubeconfig)
    os.environ.update(e.aws_env())
    try:
        yield e
    finally:
        e.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture()
def namespace(env: environment.Environment, request: pytest.FixtureRequest) -> str:
    name = f"t-{request.node.name[:40].lower().replace('_', '-').strip('-')}-{uuid.uuid4().hex[:5]}"
    name = "".join(c for c in name if c.isalnum() or c == "-")
    kube_apply.ensure_namespace(env.api, name)
    return name


@pytest.fixture()
def custom(env: environment.Environment) -> kubernetes.client.CustomObjectsApi:
    return kubernetes.client.CustomObjectsApi(env.api)


@pytest.fixture()
def core(env: environment.Environment) -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(env.api)


# Every wait in the suite follows what it waits for (it returns as soon as the probe says yes); its bound
# only decides when a test gives up. Bounds are written for a quiet machine and stretched by this factor,
# so a busy CI machine (2 cores, a Pulumi run beside) fails a test only when something is really stuck.
WAIT_SCALE = float(os.environ.get("FLEETYARD_TEST_WAIT_SCALE", "3"))


def wait_for(probe: Callable[[], T | None], timeout: float = 20, what: str = "condition") -> T:
    timeout *= WAIT_SCALE
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def create(custom: kubernetes.client.CustomObjectsApi, namespace: str, kind: kinds.Kind, body: dict[str, Any],
           ) -> dict[str, Any]:
    body = {"apiVersion": kinds.API_VERSION, "kind": kind.kind, **body}
    return dict(custom.create_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kind.plural, body))


def get(custom: kubernetes.client.CustomObjectsApi, namespace: str, kind: kinds.Kind, name: str) -> dict[str, Any]:
    return dict(custom.get_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kind.plural, name))
