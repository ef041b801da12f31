"""The seed's resource ids: 10 characters, upper-case letters and digits, random; and reading one.

Called by the admission webhook (assigns the id label on create), the operator (fills status.id,
names stacks and sessions after it) and the REST API (looks objects up by it). An object's id is
read one way only, `of` (a body) or `seed_id` (its labels and status id): the label first, set at
admission, then status.id, which the operator copies from it.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any

ID_LABEL = "fleetyard.io/id"
ALPHABET = string.ascii_uppercase + string.digits
LENGTH = 10
ID_PATTERN = re.compile(r"^[A-Z0-9]{10}$")


def new_id(taken: Callable[[str], bool] = lambda _: False, attempts: int = 5) -> str:
    """A fresh id that `taken` does not report as used in the namespace."""
    for _ in range(attempts):
        candidate = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if not taken(candidate):
            return candidate
    raise RuntimeError(f"could not find a free id in {attempts} attempts")


def is_valid(value: str | None) -> bool:
    return bool(value) and ID_PATTERN.match(value) is not None


def seed_id(labels: Mapping[str, str] | None, status_id: str | None) -> str | None:
    """The id label (set at admission), else status.id."""
    return (labels or {}).get(ID_LABEL) or status_id or None


def of(obj: dict[str, Any] | None) -> str | None:
    """An object body's seed id; None for no object (or one without an id yet)."""
    if obj is None:
        return None
    return seed_id(obj["metadata"].get("labels"), (obj.get("status") or {}).get("id"))


def first_valid(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if is_valid(v)), None)
