"""A real Kubernetes control plane on loopback: etcd, kube-apiserver and kube-controller-manager.

`ControlPlane` generates a PKI, starts etcd and kube-apiserver on free 127.0.0.1 ports with the
flags controller-runtime's envtest uses (RBAC on, admission webhooks on, no ServiceAccount
admission), waits for `/readyz`, then starts kube-controller-manager (unless
`controller_manager=False`) and waits until its `/healthz` shows its controllers started. So owner
references are garbage-collected, deleted namespaces are emptied and go away (after the namespace
controller's fixed 5 s delay), every namespace gets its `default` ServiceAccount and
`kube-root-ca.crt` ConfigMap, aggregated ClusterRoles (the built-in `view`/`edit`/`admin`) are
filled, and approved CSRs are signed by the control plane's CA, as in a real cluster. The garbage
collector notices kinds added later (CRDs) at its next discovery pass, within 30 s. There is no
kubelet or scheduler: Pods never run. It writes an admin kubeconfig (client certificate in
`system:masters`) plus, on demand, kubeconfigs for arbitrary users and groups. `fleetyard dev up`
and the integration/e2e fixtures use it; several can run at once in different state directories.

State directory layout: `pki/` (CA, serving, admin, controller-manager and service-account keys),
`etcd-data/`, `apiserver-certs/` (the `--cert-dir`), `etcd.log`, `kube-apiserver.log`,
`kube-controller-manager.log`, `kubeconfig`, `controller-manager.kubeconfig`, `flexvolume/`
(kube-controller-manager's plugin probe dir, empty) and `users/` (kubeconfigs from
`user_kubeconfig`). `extra_args` adds kube-apiserver flags (the workload cluster's token webhook,
see `workload_cluster`).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import pathlib
import re
import shutil
import ssl
import time
from collections.abc import Sequence

import yaml

from fleetyard.devenv import certs, processes, tools

ADMIN_USER = "fleetyard-admin"
ADMIN_GROUPS = ("system:masters",)
DEFAULT_CONTEXT = "fleetyard-dev"
SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
CONTROLLER_MANAGER_USER = "system:kube-controller-manager"  # bound by the bootstrap RBAC policy
# Every on-by-default controller; the cloud ones and node-ipam skip themselves (no cloud provider,
# no --allocate-node-cidrs). Nothing in the management cluster has Nodes or Pods, so the node
# controllers have nothing to act on.
CONTROLLERS = "*"
# Controllers whose /healthz entry says they were built and started; waited for before `start`
# returns (all entries appear at once, after every controller is built).
AWAITED_CONTROLLERS = ("garbage-collector-controller", "namespace-controller")


class ControlPlane(processes.Service):
    """etcd + kube-apiserver (+ kube-controller-manager) in one state directory; see the module
    docstring."""

    def __init__(
        self,
        state_dir: pathlib.Path,
        etcd: pathlib.Path | None = None,
        kube_apiserver: pathlib.Path | None = None,
        *,
        context_name: str = DEFAULT_CONTEXT,
        extra_args: Sequence[str] = (),
        controller_manager: bool = True,
        kube_controller_manager: pathlib.Path | None = None,
    ) -> None:
        """Binaries left as None are found (or built) by `hack/tools.sh` when `start` runs;
        `extra_args` are appended to kube-apiserver's flags (a repeated flag wins over ours);
        `controller_manager=False` runs no kube-controller-manager (nothing is garbage-collected)."""
        self.state_dir = pathlib.Path(state_dir).resolve()
        self.context_name = context_name
        self.extra_args = list(extra_args)
        self.controller_manager = controller_manager
        self._etcd_bin = pathlib.Path(etcd) if etcd is not None else None
        self._apiserver_bin = pathlib.Path(kube_apiserver) if kube_apiserver is not None else None
        self._kcm_bin = (pathlib.Path(kube_controller_manager)
                         if kube_controller_manager is not None else None)
        self._pki = self.state_dir / "pki"
        self._ca: certs.CertKey | None = None
        self._port: int | None = None
        self._etcd: processes.ManagedProcess | None = None
        self._apiserver: processes.ManagedProcess | None = None
        self._controller_manager: processes.ManagedProcess | None = None

    @property
    def server(self) -> str:
        if self._port is None:
            raise RuntimeError(f"control plane in {self.state_dir} is not started")
        return f"https://127.0.0.1:{self._port}"

    @property
    def kubeconfig(self) -> pathlib.Path:
        return self.state_dir / "kubeconfig"

    @property
    def ca_file(self) -> pathlib.Path:
        return self._pki / "ca.crt"

    @property
    def ca_key_file(self) -> pathlib.Path:
        return self._pki / "ca.key"

    @property
    def started_processes(self) -> tuple[processes.ManagedProcess, ...]:
        """The processes this control plane started, in start order (etcd first)."""
        started = (self._etcd, self._apiserver, self._controller_manager)
        return tuple(p for p in started if p is not None)

    def running(self) -> bool:
        started = self.started_processes
        return bool(started) and all(p.alive() for p in started)

    def start(self, timeout: float = 90) -> None:
        """Start etcd, kube-apiserver, then kube-controller-manager, each once the one before is
        ready; return when the controller manager runs its controllers.

        On failure everything started so far is stopped and the error carries the log tail.
        """
        if self.running():
            raise RuntimeError(f"control plane in {self.state_dir} is already running")
        deadline = time.monotonic() + timeout
        etcd_bin = self._etcd_bin or tools.tool_path("etcd")
        apiserver_bin = self._apiserver_bin or tools.tool_path("kube-apiserver")
        kcm_bin = None
        if self.controller_manager:
            kcm_bin = self._kcm_bin or tools.tool_path("kube-controller-manager")
        self._etcd = self._apiserver = self._controller_manager = None
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._write_pki()
        try:
            etcd_url = self._start_etcd(etcd_bin, deadline)
            self._start_apiserver(apiserver_bin, etcd_url, deadline)
            self._write_kubeconfig(
                self.kubeconfig, ADMIN_USER, self._pki / "admin.crt", self._pki / "admin.key"
            )
            if kcm_bin is not None:
                self._start_controller_manager(kcm_bin, deadline)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the controller manager, the API server, then etcd: exactly what `start` launched."""
        self._port = None
        try:
            if self._controller_manager is not None:
                self._controller_manager.stop()
        finally:
            try:
                if self._apiserver is not None:
                    self._apiserver.stop()
            finally:
                if self._etcd is not None:
                    self._etcd.stop()

    def user_kubeconfig(self, username: str, groups: list[str]) -> pathlib.Path:
        """Write a kubeconfig authenticating as `username` in `groups` (a client certificate)."""
        if self._ca is None or self._port is None:
            raise RuntimeError(f"control plane in {self.state_dir} is not started")
        pair = certs.client_cert(self._ca, username, groups)
        digest = hashlib.sha256(json.dumps([username, sorted(groups)]).encode()).hexdigest()[:8]
        stem = f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', username)}-{digest}"
        users = self.state_dir / "users"
        cert_file, key_file = certs.write_cert_key(users, stem, pair)
        return self._write_kubeconfig(users / f"{stem}.kubeconfig", username, cert_file, key_file)

    def _write_pki(self) -> None:
        self._ca = certs.ca(f"{self.context_name}-ca")
        certs.write_cert_key(self._pki, "ca", self._ca)
        certs.write_cert_key(self._pki, "apiserver", certs.serving_cert(self._ca))
        certs.write_cert_key(
            self._pki, "admin", certs.client_cert(self._ca, ADMIN_USER, ADMIN_GROUPS)
        )
        if self.controller_manager:
            certs.write_cert_key(
                self._pki, "controller-manager",
                certs.client_cert(self._ca, CONTROLLER_MANAGER_USER),
            )
            certs.write_cert_key(
                self._pki, "controller-manager-serving", certs.serving_cert(self._ca)
            )
        sa_private, sa_public = certs.service_account_key_pair()
        certs.write_pem(self._pki / "sa.key", sa_private, private=True)
        certs.write_pem(self._pki / "sa.pub", sa_public, private=False)

    def _start_etcd(self, binary: pathlib.Path, deadline: float) -> str:
        client_port, peer_port = processes.free_port(), processes.free_port()
        client_url = f"http://127.0.0.1:{client_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        self._etcd = processes.ManagedProcess(
            "etcd",
            [
                binary,
                "--name=default",
                f"--data-dir={self.state_dir / 'etcd-data'}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=default={peer_url}",
                "--unsafe-no-fsync=true",
            ],
            log_dir=self.state_dir,
        )
        self._etcd.start()

        def healthy() -> bool:
            conn = http.client.HTTPConnection("127.0.0.1", client_port, timeout=2)
            try:
                conn.request("GET", "/health")
                response = conn.getresponse()
                return response.status == 200 and json.load(response).get("health") == "true"
            finally:
                conn.close()

        self._etcd.wait_ready(healthy, _remaining(deadline), "healthy")
        return client_url

    def _start_apiserver(self, binary: pathlib.Path, etcd_url: str, deadline: float) -> None:
        port = processes.free_port()
        cert_dir = self.state_dir / "apiserver-certs"
        shutil.rmtree(cert_dir, ignore_errors=True)
        cert_dir.mkdir(parents=True)
        self._apiserver = processes.ManagedProcess(
            "kube-apiserver",
            [
                binary,
                f"--etcd-servers={etcd_url}",
                f"--cert-dir={cert_dir}",
                f"--tls-cert-file={self._pki / 'apiserver.crt'}",
                f"--tls-private-key-file={self._pki / 'apiserver.key'}",
                f"--secure-port={port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                "--authorization-mode=RBAC",
                f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
                "--allow-privileged=true",
                "--disable-admission-plugins=ServiceAccount",
                f"--service-account-issuer=https://127.0.0.1:{port}/",
                f"--service-account-key-file={self._pki / 'sa.pub'}",
                f"--service-account-signing-key-file={self._pki / 'sa.key'}",
                f"--client-ca-file={self.ca_file}",
                *self.extra_args,
            ],
            log_dir=self.state_dir,
        )
        self._apiserver.start()
        context = ssl.create_default_context(cafile=str(self.ca_file))
        context.load_cert_chain(self._pki / "admin.crt", self._pki / "admin.key")

        def ready() -> bool:
            conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=context)
            try:
                conn.request("GET", "/readyz")
                response = conn.getresponse()
                return response.status == 200 and response.read().strip() == b"ok"
            finally:
                conn.close()

        self._apiserver.wait_ready(ready, _remaining(deadline), "ready (/readyz)", interval=0.2)
        self._port = port

    def _start_controller_manager(self, binary: pathlib.Path, deadline: float) -> None:
        port = processes.free_port()
        kubeconfig = self._write_kubeconfig(
            self.state_dir / "controller-manager.kubeconfig", CONTROLLER_MANAGER_USER,
            self._pki / "controller-manager.crt", self._pki / "controller-manager.key",
        )
        self._controller_manager = processes.ManagedProcess(
            "kube-controller-manager",
            [
                binary,
                f"--kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                f"--tls-cert-file={self._pki / 'controller-manager-serving.crt'}",
                f"--tls-private-key-file={self._pki / 'controller-manager-serving.key'}",
                "--leader-elect=false",
                f"--controllers={CONTROLLERS}",
                # each controller as its own ServiceAccount bound to its bootstrap
                # `system:controller:*` role, as kubeadm runs it (RBAC applies to them here too)
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={self._pki / 'sa.key'}",
                f"--root-ca-file={self.ca_file}",
                f"--cluster-signing-cert-file={self.ca_file}",
                f"--cluster-signing-key-file={self.ca_key_file}",
                # the default 20 qps throttles the ~120 requests that create the controllers'
                # ServiceAccounts and tokens at start (4 s instead of 1 s); this is loopback
                "--kube-api-qps=200",
                "--kube-api-burst=400",
                # a terminating namespace is re-examined at least this often (it is also retried
                # on each change; the controller waits a fixed 5 s before the first pass)
                "--namespace-sync-period=10s",
                # volume controllers probe (and create) this directory; default /usr/libexec/...
                f"--flex-volume-plugin-dir={self.state_dir / 'flexvolume'}",
            ],
            log_dir=self.state_dir,
        )
        self._controller_manager.start()
        context = ssl.create_default_context(cafile=str(self.ca_file))

        def running_controllers() -> bool:
            # /healthz is always allowed without credentials; it answers ok from the first moment
            # and gains one entry per controller once all of them are built and started
            conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=context)
            try:
                conn.request("GET", "/healthz?verbose")
                response = conn.getresponse()
                body = response.read().decode(errors="replace")
            finally:
                conn.close()
            return response.status == 200 and all(
                f"[+]{name} ok" in body for name in AWAITED_CONTROLLERS
            )

        self._controller_manager.wait_ready(
            running_controllers, _remaining(deadline), "running its controllers (/healthz)",
            interval=0.1,
        )

    def _write_kubeconfig(
        self,
        path: pathlib.Path,
        username: str,
        cert_file: pathlib.Path,
        key_file: pathlib.Path,
    ) -> pathlib.Path:
        def b64(p: pathlib.Path) -> str:
            return base64.b64encode(p.read_bytes()).decode()

        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": self.context_name,
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": b64(self.ca_file),
                    },
                }
            ],
            "users": [
                {
                    "name": username,
                    "user": {
                        "client-certificate-data": b64(cert_file),
                        "client-key-data": b64(key_file),
                    },
                }
            ],
            "contexts": [
                {
                    "name": self.context_name,
                    "context": {"cluster": self.context_name, "user": username},
                }
            ],
            "current-context": self.context_name,
            "preferences": {},
        }
        return certs.write_pem(path, yaml.safe_dump(config, sort_keys=False).encode(), private=True)


def _remaining(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())
