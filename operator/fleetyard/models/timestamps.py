"""Timestamps as the Kubernetes API writes them: RFC 3339 in UTC with a `Z`, whole seconds.

The one formatter and the one parser of the package: status fields (lastVerifiedAt, heartbeatAt,
completedAt), condition transition times, annotations (expires-at, retry-requested-at) and the
REST API's metric points all go through here. Pure standard library.
"""

from __future__ import annotations

import datetime

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def format(at: datetime.datetime) -> str:  # noqa: A001 - the module's verb, read as timestamps.format
    return at.astimezone(datetime.timezone.utc).strftime(FORMAT) if at.tzinfo else at.strftime(FORMAT)


def now() -> str:
    return format(utcnow())


def parse(text: str | None) -> datetime.datetime | None:
    """The time a field holds, timezone-aware; None when the field is empty. ValueError when malformed."""
    if not text:
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def age(text: str | None, now_: datetime.datetime) -> float | None:
    """Seconds from the time a field holds to `now_`; None when the field is empty."""
    then = parse(text)
    return None if then is None else (now_ - then).total_seconds()
