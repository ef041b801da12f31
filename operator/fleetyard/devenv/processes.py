"""Child processes of the local test bed: started, watched, logged and stopped one by one.

`ManagedProcess` runs one binary (etcd, kube-apiserver, moto) in its own session so a Ctrl-C
at the terminal reaches only the parent, writes its output to `<log_dir>/<name>.log`, waits for
readiness while noticing an early death, and stops exactly the process it started. Leftovers
are stopped, newest first, when the interpreter exits. `controlplane` and `moto_server` build on it.
"""

from __future__ import annotations

import atexit
import os
import pathlib
import signal
import socket
import subprocess
import threading
import time
import types
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_LOG_TAIL_BYTES = 64 * 1024

_running: dict[ManagedProcess, None] = {}
_running_lock = threading.Lock()


class ProcessError(RuntimeError):
    """A managed process died or did not become ready; the message carries its log tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(*layers: Mapping[str, str], drop: tuple[str, ...] = ("AWS_", "FLEETYARD_")) -> dict[str, str]:
    """Our environment without the `drop` prefixes (a child gets exactly the settings it is given),
    then each of `layers` on top, in order."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    for layer in layers:
        env.update(layer)
    return env


def http_ok(url: str, timeout: float = 2) -> bool:
    """True when a GET of `url` answers 200 (a readiness probe for `ManagedProcess.wait_ready`)."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return bool(resp.status == 200)


class ManagedProcess:
    """One child process with a log file; see the module docstring."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str | os.PathLike[str]],
        log_dir: pathlib.Path,
        env: Mapping[str, str] | None = None,
        cwd: pathlib.Path | None = None,
    ) -> None:
        """`env` is the child's whole environment (None inherits ours)."""
        self.name = name
        self.argv = [os.fspath(a) for a in argv]
        self.log_file = log_dir / f"{name}.log"
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"<ManagedProcess {self.name} pid={self.pid} alive={self.alive()}>"

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll() if self._popen is not None else None

    def start(self) -> None:
        if self.alive():
            raise ProcessError(f"{self.name} is already running (pid {self.pid})")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "wb") as log:
            try:
                self._popen = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    cwd=self.cwd,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ProcessError(f"could not start {self.name} ({self.argv[0]}): {exc}") from exc
        with _running_lock:
            _running[self] = None

    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds; reaps the child. Idempotent."""
        popen = self._popen
        if popen is None:
            return
        try:
            if popen.poll() is None:
                popen.send_signal(signal.SIGTERM)
                try:
                    popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    popen.kill()
                    popen.wait()
        finally:
            with _running_lock:
                _running.pop(self, None)

    def log_tail(self, n: int = 40) -> str:
        try:
            with open(self.log_file, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - _LOG_TAIL_BYTES))
                data = f.read()
        except FileNotFoundError:
            return ""
        lines = data.decode("utf-8", errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def failure(self, message: str) -> ProcessError:
        """An error naming this process, its state and the end of its log."""
        state = "running" if self.alive() else f"exited with code {self.returncode}"
        tail = self.log_tail() or "(empty)"
        return ProcessError(
            f"{self.name}: {message} (pid {self.pid}, {state}); log {self.log_file}, last lines:\n"
            f"{tail}"
        )

    def wait_ready(
        self,
        probe: Callable[[], bool],
        timeout: float,
        what: str = "ready",
        interval: float = 0.1,
    ) -> None:
        """Poll `probe` until it returns True; raise with the log tail on death or timeout.

        Exceptions from `probe` count as "not yet"; the last one is reported on timeout.
        """
        deadline = time.monotonic() + timeout
        last_error: BaseException | None = None
        while True:
            if not self.alive():
                raise self.failure(f"exited before it was {what}")
            try:
                if probe():
                    return
                last_error = None
            except Exception as exc:
                last_error = exc
            if time.monotonic() >= deadline:
                reason = f"; last probe error: {last_error!r}" if last_error else ""
                raise self.failure(f"not {what} after {timeout:.0f}s{reason}")
            time.sleep(interval)


def _stop_leftovers() -> None:
    with _running_lock:
        leftovers: list[ManagedProcess] = list(_running)
    for proc in reversed(leftovers):
        proc.stop(timeout=5.0)


atexit.register(_stop_leftovers)


class Service:
    """Context-manager support for anything with start() and stop() (ControlPlane, MotoServer)."""

    def start(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: types.TracebackType | None) -> None:
        self.stop()
