"""Runs `fleetyard webhooks` (the admission server) as a child process against a local control plane.

Used by `fleetyard.devenv.environment` (hence `dev up` and the tests). Issues the serving certificate
from the control plane's CA for 127.0.0.1, so the apiserver trusts the server the chart's webhook
configurations are pointed at (`chart.for_test_bed`), and waits until it answers /healthz. Several can
run at once (each on its own ports).
"""

from __future__ import annotations

import pathlib
import sys

from fleetyard.devenv import certs, processes


def start(state_dir: pathlib.Path, kubeconfig: pathlib.Path, ca_file: pathlib.Path, ca_key_file: pathlib.Path,
          extra_env: dict[str, str] | None = None, timeout: float = 60,
          name: str = "webhooks") -> tuple[processes.ManagedProcess, str]:
    """Start the webhook server; returns the process and its base URL (`https://127.0.0.1:<port>`)."""
    issuer = certs.CertKey(ca_file.read_bytes(), ca_key_file.read_bytes())
    cert, key = certs.write_cert_key(state_dir / "pki", f"{name}-serving", certs.serving_cert(issuer))
    health_port, port = processes.free_port(), processes.free_port()
    env = processes.child_env({}, {
        "KUBECONFIG": str(kubeconfig),
        "FLEETYARD_HEALTH_PORT": str(health_port),
        "FLEETYARD_METRICS_PORT": str(processes.free_port()),
        "FLEETYARD_WEBHOOK_PORT": str(port),
        "FLEETYARD_WEBHOOK_CERT": str(cert),
        "FLEETYARD_WEBHOOK_KEY": str(key),
        "FLEETYARD_INSTANCE": name,
    }, extra_env or {})
    proc = processes.ManagedProcess(name, [sys.executable, "-m", "fleetyard.cli", "webhooks"], state_dir, env)
    proc.start()
    proc.wait_ready(lambda: processes.http_ok(f"http://127.0.0.1:{health_port}/healthz"), timeout,
                    "answering /healthz")
    return proc, f"https://127.0.0.1:{port}"
