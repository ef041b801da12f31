"""The whole local environment: control plane, moto, the workload cluster, CRDs and RBAC, the
operator and the REST API server, started and stopped together.

Used by `fleetyard dev up` and by the pytest session fixtures (one environment per test run).
Start order: control plane, workload cluster (`workload_cluster.WorkloadCluster`, unless
`workload=False`: the API server every fake EKS cluster points at; its token webhook checks EKS
tokens against moto's STS, looked up at each review, for the clusters in the fake plugin's state
file, and lets in whom those clusters' access entries name), moto, the Helm chart's CRDs, RBAC,
ServiceAccounts, peering object and webhook configurations (`chart`), the admission webhook
server (with moto's AWS settings: it asks EKS which Kubernetes versions a region offers), operator,
API server (`api_process`: moto's AWS settings, `api_env` on top; it does not need the operator to
start). The three fleetyard
processes run as their chart ServiceAccounts (a TokenRequest token each), so a permission the
chart forgets fails the tests. Stop runs the other way round, and a failed start stops whatever had
started. The workload cluster starts before moto because moto's
server (`moto_main`) and the operator (with the Pulumi plugin it runs) both get
`FLEETYARD_FAKE_EKS_ENDPOINT` / `FLEETYARD_FAKE_EKS_CA_DATA`, so EKS's DescribeCluster and the stack
outputs agree on them.
"""

from __future__ import annotations

import pathlib
import time
from typing import Any

import kubernetes

from fleetyard.devenv import api_process, chart, controlplane, moto_server, operator_process, processes, provisioning
from fleetyard.devenv import eks_access, webhooks_process, workload_cluster
from fleetyard.kube import apply as kube_apply
from fleetyard.kube import client as kube_client
from fleetyard.models import kinds

# = provisioning.operator_env()'s FLEETYARD_FAKE_AWS_STATE (without building the Pulumi CLI to learn it)
FAKE_AWS_STATE = "fake-aws-state.json"


def rbac_docs() -> list[dict[str, Any]]:
    """The chart's ClusterRoles, bindings and ServiceAccounts (default values), with their namespace."""
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": chart.NAMESPACE}},
            *chart.rbac(chart.render())]


class Environment:
    def __init__(self, state_dir: pathlib.Path, operator_env: dict[str, str] | None = None,
                 access_control: bool = True, workload: bool = True,
                 api_env: dict[str, str] | None = None) -> None:
        self.state_dir = state_dir
        self.control_plane = controlplane.ControlPlane(state_dir / "control-plane")
        self.moto = moto_server.MotoServer(state_dir / "moto", access_control=access_control,
                                           server_env=provisioning.MOTO_SERVER_ENV)
        self.workload: workload_cluster.WorkloadCluster | None = None
        if workload:
            self.workload = workload_cluster.WorkloadCluster(
                state_dir / "workload", lambda: self.moto.endpoint,
                workload_cluster.plugin_cluster_names(state_dir / FAKE_AWS_STATE),
                access_entries=eks_access.plugin_clusters(state_dir / FAKE_AWS_STATE))
        self.operator_env = dict(operator_env or {})
        self.operator: processes.ManagedProcess | None = None
        self.webhooks: processes.ManagedProcess | None = None
        self.webhooks_url: str | None = None
        self.chart_docs: list[dict[str, Any]] = []
        self.operator_settings: dict[str, str] = {}
        self.api_env = dict(api_env or {})
        self.api_server: processes.ManagedProcess | None = None  # `fleetyard api`, the REST API
        self._api_url: str | None = None
        self._api: kubernetes.client.ApiClient | None = None

    @property
    def kubeconfig(self) -> pathlib.Path:
        return self.control_plane.kubeconfig

    @property
    def api(self) -> kubernetes.client.ApiClient:
        if self._api is None:
            self._api = kube_client.client_for(str(self.kubeconfig))
        return self._api

    @property
    def api_url(self) -> str:
        """Base URL of the REST API server (`http://127.0.0.1:<port>`)."""
        if self._api_url is None:
            raise RuntimeError(f"the API server of the environment in {self.state_dir} is not started")
        return self._api_url

    def aws_env(self) -> dict[str, str]:
        return self.moto.env()

    def workload_env(self) -> dict[str, str]:
        """`FLEETYARD_FAKE_EKS_ENDPOINT` / `_CA_DATA` for the fake plugin ({} without a workload cluster)."""
        return self.workload.env() if self.workload is not None else {}

    def start(self, with_operator: bool = True, with_api: bool = True) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.control_plane.start()
            if self.workload is not None:
                self.workload.start()
                self.moto.server_env.update(self.workload.env())
            self.moto.start()
            self.install_chart()
            self.start_webhooks()
            provisioning.prepare(self.state_dir, self.api)
            if with_operator:
                self.start_operator()
            if with_api:
                self.start_api()
        except BaseException:
            self.stop()
            raise

    def install_chart(self) -> None:
        """The chart's CRDs, RBAC, ServiceAccounts and peering object (`chart`); the webhook
        configurations follow in `start_webhooks`, once their server answers."""
        kube_apply.ensure_namespace(self.api, chart.NAMESPACE)
        self.chart_docs = chart.render()
        crds = [d for d in self.chart_docs if d["kind"] == "CustomResourceDefinition"]
        kube_apply.apply(self.api, crds)
        kube_apply.wait_crds_established(self.api, [d["metadata"]["name"] for d in crds])
        kube_apply.apply(self.api, [d for d in chart.for_test_bed(self.chart_docs, "", b"")
                                    if d["kind"] not in chart.WEBHOOK_KINDS and d["kind"] != "CustomResourceDefinition"])

    def kubeconfig_of(self, component: str) -> pathlib.Path:
        """A kubeconfig for the chart ServiceAccount of `component` (operator, webhooks, api)."""
        return chart.service_account_kubeconfig(
            self.api, self.control_plane.server, self.control_plane.ca_file, chart.NAMESPACE,
            chart.component_account(component), self.state_dir / "identities" / f"{component}.kubeconfig")

    def start_webhooks(self, timeout: float = 60) -> None:
        """The admission server as its ServiceAccount, then the chart's webhook configurations pointed
        at it; returns once a dry-run create comes back stamped."""
        self.webhooks, self.webhooks_url = webhooks_process.start(
            self.state_dir, self.kubeconfig_of("webhooks"), self.control_plane.ca_file,
            self.control_plane.ca_key_file, {**self.aws_env(), "FLEETYARD_LOG_FORMAT": "json"}, timeout)
        kube_apply.apply(self.api, [d for d in chart.for_test_bed(self.chart_docs, self.webhooks_url,
                                                                  self.control_plane.ca_file.read_bytes())
                                    if d["kind"] in chart.WEBHOOK_KINDS])
        self.wait_for_webhooks(timeout)

    def stop_webhooks(self) -> None:
        if self.webhooks is not None:
            self.webhooks.stop()
            self.webhooks = None

    def start_operator(self, timeout: float = 60) -> None:
        self.operator, self.operator_settings = operator_process.start(
            self.state_dir, self.kubeconfig_of("operator"), self.aws_env(),
            {**provisioning.operator_env(self.state_dir), **self.workload_env(), **self.operator_env}, timeout)

    def stop_operator(self) -> None:
        if self.operator is not None:
            self.operator.stop()
            self.operator = None

    def start_api(self, timeout: float = 60) -> None:
        self.api_server, self._api_url = api_process.start(self.state_dir, self.kubeconfig_of("api"),
                                                           self.aws_env(), self.api_env, timeout)

    def stop_api(self) -> None:
        if self.api_server is not None:
            self.api_server.stop()
            self.api_server = None
            self._api_url = None

    def wait_for_webhooks(self, timeout: float) -> None:
        """Until a dry-run create comes back stamped with an id by the mutating webhook."""
        api = kubernetes.client.CustomObjectsApi(self.api)
        kube_apply.ensure_namespace(self.api, "default")
        probe: dict[str, Any] = {"apiVersion": kinds.API_VERSION, "kind": "Team",
                                 "metadata": {"name": "webhook-probe"}, "spec": {"displayName": "probe"}}
        deadline = time.monotonic() + timeout
        while True:
            if self.webhooks is not None and not self.webhooks.alive():
                raise self.webhooks.failure("exited while waiting for its webhooks")
            try:
                out = api.create_namespaced_custom_object(kinds.GROUP, kinds.VERSION, "default", "teams", probe,
                                                          dry_run="All")
                if kinds.ID_LABEL in (out["metadata"].get("labels") or {}):
                    return
            except kubernetes.client.ApiException:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("fleetyard's admission webhooks did not start answering")
            time.sleep(0.3)

    def stop(self) -> None:
        self.stop_api()
        self.stop_operator()
        self.stop_webhooks()
        for service in (self.moto, self.workload, self.control_plane):
            if service is not None:
                service.stop()
