"""The fake `aws` plugin's own state: what moto cannot hold, in one JSON file.

moto 5.2 has no `update_cluster_version` / `update_nodegroup_version`, no addons, no access
entries and no access policy associations, and it ignores a cluster's `accessConfig`. The plugin
keeps those here, keyed by `"<region>/<cluster name>"`:

    {"clusters": {"us-east-1/demo": {
        "createdAt": "...",              # moto's createdAt of the cluster this entry belongs to
        "version": "1.32",               # set once the version was updated
        "accessConfig": {...},
        "nodegroups": {"ng-a": {"version": "1.32", "releaseVersion": "..."}},
        "addons": {"vpc-cni": {"addonVersion": "...", "arn": "...", ...}},
        "accessEntries": {"<principal arn>": {..., "policies": {"<policy arn>": {...}}}}}}}

The file is `FLEETYARD_FAKE_AWS_STATE` or, by default, a file in the system temp dir named after
the EKS endpoint URL. Several plugin processes may run at once (one per provider instance), so
every read-modify-write holds an exclusive `fcntl.flock` on `<file>.lock` and replaces the file
atomically. A cluster's entry is dropped when the cluster is deleted and reset when a cluster of
that name is created, and readers ignore an entry whose `createdAt` is not the live cluster's.

Tests read it with `load(path)` and `cluster(state, region, name)`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pathlib
import tempfile
from collections.abc import Iterator
from typing import Any

ENV_VAR = "FLEETYARD_FAKE_AWS_STATE"


def default_path(endpoint: str | None) -> pathlib.Path:
    """`$FLEETYARD_FAKE_AWS_STATE`, else a temp file keyed by the endpoint URL."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return pathlib.Path(explicit)
    key = hashlib.sha256((endpoint or "aws").encode()).hexdigest()[:16]
    return pathlib.Path(tempfile.gettempdir()) / f"fleetyard-fake-aws-{key}.json"


@contextlib.contextmanager
def _locked(path: pathlib.Path, exclusive: bool) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read(path: pathlib.Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {"clusters": {}}
    if not isinstance(data, dict):
        return {"clusters": {}}
    data.setdefault("clusters", {})
    return data


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The whole state (a fresh copy)."""
    p = pathlib.Path(path)
    with _locked(p, exclusive=False):
        return _read(p)


@contextlib.contextmanager
def edit(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Yield the state for changing in place; written back atomically on a clean exit."""
    p = pathlib.Path(path)
    with _locked(p, exclusive=True):
        data = _read(p)
        yield data
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.")
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=1, sort_keys=True)
        os.replace(tmp, p)


def cluster_key(region: str, name: str) -> str:
    return f"{region}/{name}"


def cluster(state: dict[str, Any], region: str, name: str) -> dict[str, Any]:
    """One cluster's entry of a loaded state ({} when there is none)."""
    entry = state.get("clusters", {}).get(cluster_key(region, name), {})
    return entry if isinstance(entry, dict) else {}
