"""Locates the Go-built test-bed binaries (etcd, kube-apiserver, kube-controller-manager, kubectl,
pulumi, helm).

`tool_path` delegates to `hack/tools.sh --path NAME`, which honours the FLEETYARD_<TOOL> env
vars, PATH and the versioned cache, and builds a missing tool (minutes, under a lock). The
control plane and other devenv pieces call it when they are not handed a binary explicitly.
"""

from __future__ import annotations

import collections
import os
import pathlib
import subprocess
import sys

REPO_ENV = "FLEETYARD_REPO"
TOOLS_SCRIPT = pathlib.Path("hack") / "tools.sh"


def repo_root() -> pathlib.Path:
    """The repository that holds `hack/tools.sh`: $FLEETYARD_REPO, else the nearest parent."""
    override = os.environ.get(REPO_ENV)
    if override:
        root = pathlib.Path(override).expanduser().resolve()
        if not (root / TOOLS_SCRIPT).is_file():
            raise RuntimeError(f"{REPO_ENV}={override} has no {TOOLS_SCRIPT}")
        return root
    here = pathlib.Path(__file__).resolve()
    for parent in here.parents:
        if (parent / TOOLS_SCRIPT).is_file():
            return parent
    raise RuntimeError(
        f"cannot find {TOOLS_SCRIPT} above {here}; set {REPO_ENV} to the fleetyard repository"
    )


def tool_path(name: str) -> pathlib.Path:
    """Ensure the tool exists (building it if needed) and return the path of its binary.

    The script's progress lines (stderr) are relayed to our stderr as they arrive.
    """
    script = repo_root() / TOOLS_SCRIPT
    try:
        proc = subprocess.Popen(
            ["bash", str(script), "--path", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise RuntimeError(f"could not run {script} for tool {name!r}: {exc}") from exc
    assert proc.stdout is not None and proc.stderr is not None
    recent: collections.deque[str] = collections.deque(maxlen=30)
    for line in proc.stderr:
        recent.append(line)
        sys.stderr.write(line)
        sys.stderr.flush()
    stdout = proc.stdout.read()
    code = proc.wait()
    if code != 0:
        detail = "".join(recent).strip() or "(no output)"
        raise RuntimeError(f"{script} could not provide tool {name!r} (exit {code}):\n{detail}")
    lines = stdout.strip().splitlines()
    path = pathlib.Path(lines[-1]) if lines else None
    if path is None or not os.access(path, os.X_OK):
        raise RuntimeError(f"{script} printed no executable path for tool {name!r}: {stdout!r}")
    return path
