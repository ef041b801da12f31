"""Markers of the /infra lists and pages of the /me list.

A marker is the (createdAt, id) of the last item served, base64url-encoded: opaque to clients and
stable (the next page starts after that item even when others were added or removed meanwhile).
A marker that does not decode is the caller's error, named as the `marker` field.
"""

from __future__ import annotations

import base64
import binascii
import json

from fleetyard.rest import errors

SortKey = tuple[str, str]


def encode_marker(key: SortKey) -> str:
    raw = json.dumps(["v1", key[0], key[1]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_marker(marker: str | None) -> SortKey | None:
    if marker is None or marker == "":
        return None
    try:
        padded = marker + "=" * (-len(marker) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if (isinstance(value, list) and len(value) == 3 and value[0] == "v1"
                and all(isinstance(v, str) for v in value[1:])):
            return value[1], value[2]
    except (ValueError, binascii.Error, UnicodeError):
        pass
    raise errors.invalid("marker", "is not a marker returned by this API")


def page_bounds(total: int, page: int, limit: int) -> tuple[int, int]:
    start = min(total, (page - 1) * limit)
    return start, min(total, start + limit)
