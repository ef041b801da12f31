"""Stale Pulumi stack locks left by a dead operator: find them and clear them, never a live one.

Called by the worker when it recovers an Operation. The state backend (file:// or s3://) keeps one
JSON lock object per running update under `.pulumi/locks/.../<project>/<stack>/`, holding the
holder's pid and hostname. A lock whose holder still runs on this host (an orphaned `pulumi`
process finishing its last steps after the operator died) is waited for, not removed: removing it
would let two engines write the same stack and build a second VPC.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import socket
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

LOCK_ROOT = ".pulumi/locks/"


@dataclasses.dataclass(frozen=True)
class Lock:
    key: str
    pid: int | None
    hostname: str | None


class Backend:
    """The few object operations the lock logic needs, over the state backend: a directory or a bucket."""

    def list(self, prefix: str) -> list[str]: ...
    def read(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...


class DirectoryBackend(Backend):
    def __init__(self, root: pathlib.Path) -> None:
        self.root = root

    def list(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.exists():
            return []
        return [str(p.relative_to(self.root)) for p in base.rglob("*.json") if p.is_file()]

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)


class BucketBackend(Backend):
    def __init__(self, s3: Any, bucket: str, prefix: str) -> None:
        self.s3, self.bucket, self.prefix = s3, bucket, prefix

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            keys.extend(o["Key"][len(self.prefix):] for o in page.get("Contents", []))
        return keys

    def read(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"].read())

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=self.prefix + key)


def backend_for(backend_url: str, s3_client: Callable[[str | None], Any]) -> Backend:
    url = urllib.parse.urlparse(backend_url)
    if url.scheme == "file":
        return DirectoryBackend(pathlib.Path(url.path))
    if url.scheme == "s3":
        region = urllib.parse.parse_qs(url.query).get("region", [None])[0]
        prefix = url.path.lstrip("/")
        return BucketBackend(s3_client(region), url.netloc, f"{prefix}/" if prefix else "")
    raise ValueError(f"unsupported state backend {url.scheme!r}: use file:// or s3://")


def stack_locks(store: Backend, project: str, stack: str) -> list[Lock]:
    found = []
    for key in store.list(LOCK_ROOT):
        if f"/{project}/{stack}/" not in f"/{key}":
            continue
        try:
            content = json.loads(store.read(key))
        except (ValueError, OSError, KeyError):
            content = {}
        found.append(Lock(key, content.get("pid"), content.get("hostname")))
    return found


def holder_alive(lock: Lock, hostname: str | None = None) -> bool:
    """True when the lock's holder is a process still running on this host."""
    if lock.hostname != (hostname or socket.gethostname()) or not lock.pid:
        return False
    try:
        os.kill(lock.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clear_stale(store: Backend, project: str, stack: str, *, wait: float = 300, poll: float = 1.0,
                on_wait: Callable[[Lock], None] | None = None) -> list[str]:
    """Remove the stack's locks whose holder is gone; wait (bounded) for live local holders first."""
    deadline = time.monotonic() + wait
    while True:
        locks = stack_locks(store, project, stack)
        live = [lock for lock in locks if holder_alive(lock)]
        if not live:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"stack {project}/{stack} is still locked by process {live[0].pid}")
        if on_wait:
            on_wait(live[0])
        time.sleep(poll)
    for lock in locks:
        store.delete(lock.key)
    return [lock.key for lock in locks]
