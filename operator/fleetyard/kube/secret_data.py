"""A Secret's value as both Kubernetes clients read it: one key of its base64 `data`, as text.

Shared by the operator's reads (`secrets`) and the REST API's (`async_secrets`), so callers above
catch one `SecretProblem` whichever client read the Secret. Pure.
"""

from __future__ import annotations

import base64


class SecretProblem(Exception):
    """A referenced Secret or key is missing; the message names it (never its value)."""


def not_found(namespace: str, name: str) -> SecretProblem:
    return SecretProblem(f"Secret {namespace}/{name} was not found")


def decoded(namespace: str, name: str, data: dict[str, str] | None, key: str) -> str:
    if key not in (data or {}):
        raise SecretProblem(f"Secret {namespace}/{name} has no key {key!r}")
    return base64.b64decode((data or {})[key]).decode()
