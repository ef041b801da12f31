"""Runs `fleetyard operator` as a child process against a local control plane and moto.

Used by `fleetyard.devenv.environment` (hence `dev up` and the e2e tests); the kubeconfig is the
operator's ServiceAccount's (the chart's RBAC). Waits until the operator answers /healthz. The
admission webhooks are another process (`webhooks_process`).
"""

from __future__ import annotations

import pathlib
import sys

from fleetyard.devenv import processes


def start(state_dir: pathlib.Path, kubeconfig: pathlib.Path, aws_env: dict[str, str],
          extra_env: dict[str, str] | None = None,
          timeout: float = 60, name: str = "operator") -> tuple[processes.ManagedProcess, dict[str, str]]:
    """Start the operator; returns the process and the environment it runs with."""
    health_port = processes.free_port()
    env = processes.child_env(aws_env, {
        "KUBECONFIG": str(kubeconfig),
        "FLEETYARD_HEALTH_PORT": str(health_port),
        "FLEETYARD_METRICS_PORT": str(processes.free_port()),
        "FLEETYARD_INSTANCE": name,
    }, extra_env or {})
    proc = processes.ManagedProcess(name, [sys.executable, "-m", "fleetyard.cli", "operator"], state_dir, env)
    proc.start()
    proc.wait_ready(lambda: processes.http_ok(f"http://127.0.0.1:{health_port}/healthz"), timeout,
                    "answering /healthz")
    return proc, env
