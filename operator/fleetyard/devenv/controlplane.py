"""A real Kubernetes API server on loopback: etcd plus kube-apiserver, envtest-style.

`ControlPlane` generates a PKI, starts etcd and kube-apiserver on free 127.0.0.1 ports with the
flags controller-runtime's envtest uses (RBAC on, admission webhooks on, no ServiceAccount
admission), waits for `/readyz`, and writes an admin kubeconfig (client certificate in
`system:masters`) plus, on demand, kubeconfigs for arbitrary users and groups. There is no
controller-manager or kubelet: pods never run, and nothing garbage-collects or finalizes
namespaces. `fleetyard dev up` and the integration/e2e fixtures use it; several can run at once
in different state directories.

State directory layout: `pki/` (CA, serving, admin and service-account keys), `etcd-data/`,
`apiserver-certs/` (the `--cert-dir`), `etcd.log`, `kube-apiserver.log`, `kubeconfig`, and
`users/` (kubeconfigs from `user_kubeconfig`). `extra_args` adds kube-apiserver flags (the workload
cluster's token webhook, see `workload_cluster`).
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


class ControlPlane(processes.Service):
    """etcd + kube-apiserver rooted in one state directory; see the module docstring."""

    def __init__(
        self,
        state_dir: pathlib.Path,
        etcd: pathlib.Path | None = None,
        kube_apiserver: pathlib.Path | None = None,
        *,
        context_name: str = DEFAULT_CONTEXT,
        extra_args: Sequence[str] = (),
    ) -> None:
        """Binaries left as None are found (or built) by `hack/tools.sh` when `start` runs;
        `extra_args` are appended to kube-apiserver's flags (a repeated flag wins over ours)."""
        self.state_dir = pathlib.Path(state_dir).resolve()
        self.context_name = context_name
        self.extra_args = list(extra_args)
        self._etcd_bin = pathlib.Path(etcd) if etcd is not None else None
        self._apiserver_bin = pathlib.Path(kube_apiserver) if kube_apiserver is not None else None
        self._pki = self.state_dir / "pki"
        self._ca: certs.CertKey | None = None
        self._port: int | None = None
        self._etcd: processes.ManagedProcess | None = None
        self._apiserver: processes.ManagedProcess | None = None

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
        """The processes this control plane started, etcd first."""
        return tuple(p for p in (self._etcd, self._apiserver) if p is not None)

    def running(self) -> bool:
        started = self.started_processes
        return bool(started) and all(p.alive() for p in started)

    def start(self, timeout: float = 90) -> None:
        """Start etcd then kube-apiserver and wait until the API server is ready.

        On failure everything started so far is stopped and the error carries the log tail.
        """
        if self.running():
            raise RuntimeError(f"control plane in {self.state_dir} is already running")
        deadline = time.monotonic() + timeout
        etcd_bin = self._etcd_bin or tools.tool_path("etcd")
        apiserver_bin = self._apiserver_bin or tools.tool_path("kube-apiserver")
        self._etcd = self._apiserver = None
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._write_pki()
        try:
            etcd_url = self._start_etcd(etcd_bin, deadline)
            self._start_apiserver(apiserver_bin, etcd_url, deadline)
        except BaseException:
            self.stop()
            raise
        self._write_kubeconfig(
            self.kubeconfig, ADMIN_USER, self._pki / "admin.crt", self._pki / "admin.key"
        )

    def stop(self) -> None:
        """Stop the API server, then etcd: exactly the processes `start` launched."""
        self._port = None
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
