"""Runs `fleetyard api` (the REST API server) as a child process against a local control plane and moto.

Used by `fleetyard.devenv.environment` (hence `dev up` and the tests). The server listens on a free
port of 127.0.0.1, talks to the control plane with the admin kubeconfig and to moto with the AWS
settings the operator gets; `start` returns once `/healthz` answers 200 (its watch caches have
synced), together with the server's base URL.
"""

from __future__ import annotations

import pathlib
import sys

from fleetyard.devenv import processes

HOST = "127.0.0.1"


def start(state_dir: pathlib.Path, kubeconfig: pathlib.Path, aws_env: dict[str, str],
          extra_env: dict[str, str] | None = None, timeout: float = 60,
          name: str = "api") -> tuple[processes.ManagedProcess, str]:
    """Start the API server; returns the process and its base URL (`http://127.0.0.1:<port>`).

    `extra_env` goes on top; a `FLEETYARD_API_HOST` / `FLEETYARD_API_PORT` in it is honoured (and the
    URL follows it), otherwise the port is a free one."""
    extra_env = extra_env or {}
    host = extra_env.get("FLEETYARD_API_HOST") or HOST
    port = extra_env.get("FLEETYARD_API_PORT") or str(processes.free_port())
    env = processes.child_env(aws_env, {
        "KUBECONFIG": str(kubeconfig),
        "FLEETYARD_API_HOST": host,
        "FLEETYARD_API_PORT": port,
    }, extra_env)
    url = f"http://{host}:{port}"
    proc = processes.ManagedProcess(name, [sys.executable, "-m", "fleetyard.cli", "api"], state_dir, env)
    proc.start()
    proc.wait_ready(lambda: processes.http_ok(f"{url}/healthz"), timeout, "answering /healthz with 200")
    return proc, url
