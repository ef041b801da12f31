"""The seed's resource ids: 10 characters, upper-case letters and digits, random.

Called by the admission webhook (assigns an id label on create) and the operator (fills status.id).
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable, Iterable
from typing import Any

from fleetyard.models import kinds

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


def of(obj: dict[str, Any] | None) -> str | None:
    """An object's seed id: its id label (set at admission), else status.id; None for no object."""
    if obj is None:
        return None
    return (obj["metadata"].get("labels") or {}).get(kinds.ID_LABEL) or (obj.get("status") or {}).get("id")


def first_valid(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if is_valid(v)), None)
