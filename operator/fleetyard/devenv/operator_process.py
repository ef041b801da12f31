"""Runs `fleetyard operator` as a child process against a local control plane and moto.

Used by `fleetyard.devenv.environment` (hence `dev up` and the e2e tests). Issues the webhook
serving certificate from the control plane's CA so the local apiserver trusts the operator's
webhooks on 127.0.0.1, and waits until the operator answers /healthz.
"""

from __future__ import annotations

import pathlib
import sys

from fleetyard.devenv import certs, processes


def start(state_dir: pathlib.Path, kubeconfig: pathlib.Path, ca_file: pathlib.Path, ca_key_file: pathlib.Path,
          aws_env: dict[str, str], extra_env: dict[str, str] | None = None,
          timeout: float = 60, name: str = "operator") -> tuple[processes.ManagedProcess, dict[str, str]]:
    """Start the operator; returns the process and the environment it runs with."""
    pki = state_dir / "pki"
    issuer = certs.CertKey(ca_file.read_bytes(), ca_key_file.read_bytes())
    cert, key = certs.write_cert_key(pki, f"{name}-webhook", certs.serving_cert(issuer))
    health_port = processes.free_port()
    env = processes.child_env(aws_env, {
        "KUBECONFIG": str(kubeconfig),
        "FLEETYARD_HEALTH_PORT": str(health_port),
        "FLEETYARD_METRICS_PORT": str(processes.free_port()),
        "FLEETYARD_WEBHOOK_PORT": str(processes.free_port()),
        "FLEETYARD_WEBHOOK_HOST": "127.0.0.1",
        "FLEETYARD_WEBHOOK_CERT": str(cert),
        "FLEETYARD_WEBHOOK_KEY": str(key),
        "FLEETYARD_WEBHOOK_CA": str(ca_file),
        "FLEETYARD_INSTANCE": name,
    }, extra_env or {})
    proc = processes.ManagedProcess(name, [sys.executable, "-m", "fleetyard.cli", "operator"], state_dir, env)
    proc.start()
    proc.wait_ready(lambda: processes.http_ok(f"http://127.0.0.1:{health_port}/healthz"), timeout,
                    "answering /healthz")
    return proc, env
