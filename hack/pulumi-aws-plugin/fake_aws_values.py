"""Plain-Python views of Pulumi property values, and the comparisons Diff needs.

The plugin works on plain values (None, bool, float/int, str, list, dict): `to_plain` unwraps
secrets and output values (the engine re-marks outputs secret from their inputs because the plugin
does not accept secrets) and turns unknowns into the `UNKNOWN` sentinel string, which is also what
the engine reads as "unknown" when the plugin sends it back. `from_plain` goes the other way
(ints become floats, datetimes ISO strings: `PropertyValue` only takes floats).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi.provider.experimental.property_value import Computed, PropertyValue

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The engine's unknown sentinel (`plugin.UnknownStringValue`, `pulumi.runtime.rpc.UNKNOWN`)."""


def to_plain(value: PropertyValue) -> Any:
    inner = value.value
    if isinstance(inner, Computed):
        return UNKNOWN
    if inner is None or isinstance(inner, (bool, float, str)):
        return inner
    if isinstance(inner, Mapping):
        return {k: to_plain(v) for k, v in inner.items()}
    if isinstance(inner, Sequence):
        return [to_plain(v) for v in inner if isinstance(v, PropertyValue)]
    return str(inner)


def to_plain_map(values: Mapping[str, PropertyValue]) -> dict[str, Any]:
    return {k: to_plain(v) for k, v in values.items()}


def from_plain(value: Any) -> PropertyValue:
    if value is None or isinstance(value, (bool, str)):
        return PropertyValue(value)
    if isinstance(value, (int, float)):
        return PropertyValue(float(value))
    if isinstance(value, (datetime.datetime, datetime.date)):
        return PropertyValue(value.isoformat())
    if isinstance(value, Mapping):
        return PropertyValue({str(k): from_plain(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return PropertyValue([from_plain(v) for v in value])
    return PropertyValue(str(value))


def from_plain_map(values: Mapping[str, Any]) -> dict[str, PropertyValue]:
    return {k: from_plain(v) for k, v in values.items()}


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value == UNKNOWN


def contains_unknown(value: Any) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def get_path(value: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _empty(value: Any) -> bool:
    return value is None or value == {} or value == [] or value == ""


def _json_equal(old: str, new: str) -> bool:
    try:
        return bool(json.loads(old) == json.loads(new))
    except (TypeError, ValueError):
        return old == new


def same(old: Any, new: Any, exact: bool = False) -> bool:
    """Whether input `new` leaves state `old` unchanged.

    Objects compare only the keys `new` sets to non-null values (state objects carry computed
    extras, and an omitted optional field keeps what AWS chose) unless `exact` (user maps such as
    tags and labels, where a missing key is a removal); lists of strings compare as sets (the
    terraform schema makes them sets); JSON documents compare parsed.
    """
    if contains_unknown(new):
        return False
    if _empty(new) and _empty(old):
        return True
    if isinstance(new, dict) and isinstance(old, dict):
        if exact and set(old) != set(new):
            return False
        return all(same(old.get(k), v) for k, v in new.items() if v is not None)
    if isinstance(new, list) and isinstance(old, list):
        if len(new) != len(old):
            return False
        if all(isinstance(v, str) for v in new + old):
            return sorted(new) == sorted(old)
        return all(same(o, n) for o, n in zip(old, new))
    if isinstance(new, bool) or isinstance(old, bool):
        return new is old
    if isinstance(new, (int, float)) and isinstance(old, (int, float)):
        return float(new) == float(old)
    json_start = ("{", "[")
    if isinstance(new, str) and isinstance(old, str) and all(
        text.startswith(json_start) for text in (old, new)
    ):
        return _json_equal(old, new)
    return bool(old == new)
