"""`fleetyard dev up | down | env | restart`: the local environment for people (what `make run` calls).

`up` runs in the foreground: it starts the Environment (operator and REST API included) from a clean
cloud state, applies examples/, creates the sample API users (`sample_users`), prints each status
change and stops everything on Ctrl-C. `up --detach` starts that same foreground process in the
background, waits until it is ready and returns; `down` stops it. State lives in the state dir
(`.fleetyard/dev/`): `kubeconfig`, `env`, `up.pid`, `up.log`, and while it runs `api-url` and
`token-<user>`.

All or nothing: moto holds the fake AWS account in memory, so what a stopped environment leaves
about its cloud (etcd, the Pulumi state, the fake plugin's state; `environment.CLOUD_STATE`) is
removed when the next one starts, and the samples are built again. Nothing is left `active` on
resources that no longer exist.

`restart operator|webhooks|api` restarts one process of a running environment (to run code just
edited): it leaves a request in `restart-request` and sends SIGHUP to `up`, which restarts that
process and answers in `restart-done`.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import kubernetes

from fleetyard.devenv import environment, sample_users, samples, tools
from fleetyard.models import kinds

WATCHED = (kinds.CONNECTION, kinds.NETWORK, kinds.PROVISIONED_CLUSTER, kinds.CLUSTER, kinds.OPERATION)


def _pid(state: pathlib.Path) -> int | None:
    try:
        pid = int((state / "up.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None


def up(state: pathlib.Path, detach: bool = False, examples: pathlib.Path | None = None) -> int:
    state = state.resolve()
    if (pid := _pid(state)) is not None:
        print(f"fleetyard dev is already running (pid {pid}); `fleetyard dev down` stops it", file=sys.stderr)
        return 1
    examples = examples or tools.repo_root() / "examples"
    if detach:
        return _detach(state)
    state.mkdir(parents=True, exist_ok=True)
    (state / "ready").unlink(missing_ok=True)
    (state / "up.pid").write_text(str(os.getpid()))
    stop, restart = threading.Event(), threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, lambda *_: restart.set())
    removed = environment.reset_state(state)
    if removed:
        print(f"removed the previous environment's cloud state ({', '.join(removed)}): moto starts empty, "
              "so everything is built again", flush=True)
    env = environment.Environment(state, {"FLEETYARD_LOG_FORMAT": "json"})
    try:
        print("starting etcd, kube-apiserver, moto, the operator and the API ...", flush=True)
        env.start()
        _write_state(state, env)
        tokens: dict[str, str] = {}
        for org in samples.organizations(examples):
            ns = samples.apply_organization(env, org)
            tokens.update(sample_users.create(env.api, ns))
            print(f"applied {org.relative_to(examples.parent)} into namespace {ns}", flush=True)
        sample_users.write_files(state, env.api_url, tokens)
        (state / "ready").write_text("ok")
        print(f"\nready. In another shell:\n  eval $(fleetyard dev env)\n  kubectl get fleetyard -A\n"
              f"{sample_users.hint(state)}"
              f"Logs: {state}/operator.log, {state}/api.log. Ctrl-C stops everything.\n", flush=True)
        _watch(env.api, stop, lambda: _serve_restart(state, env, restart, tokens))
    finally:
        env.stop()
        sample_users.remove_files(state)
        (state / "up.pid").unlink(missing_ok=True)
        (state / "ready").unlink(missing_ok=True)
        print("stopped", flush=True)
    return 0


def _write_state(state: pathlib.Path, env: environment.Environment) -> None:
    shutil.copyfile(env.kubeconfig, state / "kubeconfig")
    os.chmod(state / "kubeconfig", 0o600)
    lines = [f"export KUBECONFIG={state / 'kubeconfig'}"]
    lines += [f"export {k}={v}" for k, v in env.aws_env().items()]
    try:
        lines.append(f"export PATH={tools.tool_path('kubectl').parent}:$PATH")
    except RuntimeError:
        pass
    (state / "env").write_text("\n".join(lines) + "\n")
    os.chmod(state / "env", 0o600)


def _serve_restart(state: pathlib.Path, env: environment.Environment, restart: threading.Event,
                   tokens: dict[str, str]) -> None:
    """Restarts the process `dev restart` asked for, if it asked."""
    if not restart.is_set():
        return
    restart.clear()
    try:
        request = (state / "restart-request").read_text().split()
    except FileNotFoundError:
        return
    component, nonce = request[0], request[1] if len(request) > 1 else ""
    try:
        print(f"{time.strftime('%H:%M:%S')} restarting {component} ...", flush=True)
        env.restart(component)
        if component == "api":
            sample_users.write_files(state, env.api_url, tokens)  # a new port
        answer = f"ok {component} {nonce}"
    except Exception as exc:  # noqa: BLE001 - reported to `dev restart`; `up` keeps running
        answer = f"failed {component} {nonce} {exc}"
    print(f"{time.strftime('%H:%M:%S')} restart: {answer}", flush=True)
    (state / "restart-done").write_text(answer)


def restart(state: pathlib.Path, component: str, timeout: float = 120) -> int:
    """Asks the running `up` to restart one process and waits for its answer."""
    state = state.resolve()
    pid = _pid(state)
    if pid is None:
        print("fleetyard dev is not running", file=sys.stderr)
        return 1
    nonce = uuid.uuid4().hex[:8]
    (state / "restart-done").unlink(missing_ok=True)
    (state / "restart-request").write_text(f"{component} {nonce}")
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            answer = (state / "restart-done").read_text()
        except FileNotFoundError:
            answer = ""
        if f" {nonce}" in answer:
            print(f"{component} restarted" if answer.startswith("ok") else answer, file=sys.stderr if
                  not answer.startswith("ok") else sys.stdout)
            return 0 if answer.startswith("ok") else 1
        time.sleep(0.3)
    print(f"no answer from fleetyard dev (pid {pid}) within {timeout:.0f}s; see {state / 'up.log'}", file=sys.stderr)
    return 1


def _watch(api: kubernetes.client.ApiClient, stop: threading.Event, between: Any = None) -> None:
    custom = kubernetes.client.CustomObjectsApi(api)
    seen: dict[str, str] = {}
    while not stop.wait(1.0):
        if between is not None:
            between()
        for kind in WATCHED:
            try:
                items = custom.list_cluster_custom_object(kinds.GROUP, kinds.VERSION, kind.plural)["items"]
            except Exception as exc:  # the watch is a convenience; never end `up` because of it
                print(f"(status poll failed: {exc})", flush=True)
                continue
            for obj in items:
                line = _describe(kind, obj)
                key = f"{obj['metadata']['namespace']}/{kind.kind}/{obj['metadata']['name']}"
                if seen.get(key) != line:
                    seen[key] = line
                    print(f"{time.strftime('%H:%M:%S')} {key}: {line}", flush=True)


def _describe(kind: kinds.Kind, obj: dict[str, Any]) -> str:
    status = obj.get("status") or {}
    phase = status.get("status") or status.get("externalStatus") or "pending"
    if kind is kinds.OPERATION:
        progress = status.get("progress") or {}
        summary = progress.get("summary") or {}
        counts = f" [{summary.get('succeeded', 0)}/{summary.get('total', 0)} resources]" if summary else ""
        return f"{obj['spec']['operation']} {phase}: {progress.get('stage') or ''}{counts} {progress.get('message') or ''}"
    message = status.get("statusMessage") or ""
    return f"{phase}" + (f" - {message}" if message else "")


def _detach(state: pathlib.Path) -> int:
    state.mkdir(parents=True, exist_ok=True)
    (state / "ready").unlink(missing_ok=True)
    log = open(state / "up.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "fleetyard.cli", "dev", "--state-dir", str(state), "up"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while not (state / "ready").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            print((state / "up.log").read_text()[-4000:], file=sys.stderr)
            print("fleetyard dev up failed; see the log above", file=sys.stderr)
            return 1
        time.sleep(0.5)
    print(f"fleetyard dev is up (pid {proc.pid}); log: {state / 'up.log'}")
    print(f"  eval $(fleetyard dev --state-dir {state} env)" if state != pathlib.Path(".fleetyard/dev").resolve()
          else "  eval $(fleetyard dev env)")
    print(sample_users.hint(state), end="")
    return 0


def down(state: pathlib.Path) -> int:
    state = state.resolve()
    pid = _pid(state)
    if pid is None:
        print("fleetyard dev is not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    for _ in range(300):
        if _pid(state) is None:
            sample_users.remove_files(state)  # `up` removes them itself; this covers an `up` that was killed
            print("fleetyard dev stopped")
            return 0
        time.sleep(0.1)
    print(f"fleetyard dev (pid {pid}) did not stop within 30s", file=sys.stderr)
    return 1


def print_env(state: pathlib.Path) -> int:
    path = state.resolve() / "env"
    if not path.exists():
        print("fleetyard dev is not up: run `make run` or `fleetyard dev up --detach`", file=sys.stderr)
        return 1
    print(path.read_text(), end="")
    return 0
