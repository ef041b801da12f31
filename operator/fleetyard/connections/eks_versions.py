"""The Kubernetes versions EKS offers in a region, and the refusal of a cluster version it does not.

Used by admission (`fleetyard.controllers.admission`, in the `fleetyard webhooks` process) and by the
REST API (`fleetyard.rest.cluster_checks`): both refuse a ProvisionedCluster whose
`config.kubernetesVersion` is new (a create, or a change) and not offered in the cluster's region, with
a message listing the versions that are. The list comes from EKS DescribeClusterVersions
(`fleetyard.cloud.eks.cluster_versions`, asked with the process's own AWS identity: the answer is the
same for every account of a region), kept per region for a TTL. When EKS cannot be asked (no
credentials, refused, unreachable) the maintained list below is used, filtered by today's date, and
the call is tried again after a shorter TTL; the message says which list it came from.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime
import logging
import threading
import time

from fleetyard.cloud import eks, errors as cloud_errors, session as sessions

log = logging.getLogger(__name__)

FIELD = "config.kubernetesVersion"
SOURCE_EKS = "EKS DescribeClusterVersions"
SOURCE_FALLBACK = "fleetyard's maintained list (EKS could not be asked)"


@dataclasses.dataclass(frozen=True)
class Release:
    version: str
    end_of_extended_support: datetime.date | None  # None: not recorded yet (a new release)


# The EKS release calendar (https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html;
# dates as endoflife.date/amazon-eks lists them): a version can be created on, or upgraded to, in
# standard support (14 months from its EKS release) and extended support (12 more), i.e. until its end
# of extended support. Checked 2026-12: 1.36 is offered, its dates are not recorded here. Maintain:
# add each new EKS release; old ones drop out by their date on their own.
FALLBACK_RELEASES: tuple[Release, ...] = (
    Release("1.29", datetime.date(2026, 3, 23)),
    Release("1.30", datetime.date(2026, 7, 23)),
    Release("1.31", datetime.date(2026, 11, 26)),
    Release("1.32", datetime.date(2027, 3, 23)),
    Release("1.33", datetime.date(2027, 7, 29)),
    Release("1.34", datetime.date(2027, 12, 2)),
    Release("1.35", datetime.date(2028, 3, 27)),
    Release("1.36", None),
)


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def fallback_versions(today: datetime.date) -> tuple[str, ...]:
    """The maintained list's versions still offered on `today`."""
    return tuple(r.version for r in FALLBACK_RELEASES
                 if r.end_of_extended_support is None or today < r.end_of_extended_support)


@dataclasses.dataclass(frozen=True)
class Offered:
    """The versions offered in one region, oldest first, and where the list came from."""

    region: str
    versions: tuple[str, ...]
    source: str

    def refusal(self, version: str) -> str | None:
        """Why `version` cannot be used (without the field name), or None when it is offered."""
        if version in self.versions:
            return None
        allowed = ", ".join(self.versions) or "none"
        return (f"{version} is not a Kubernetes version EKS offers in {self.region}; allowed: {allowed} "
                f"(from {self.source})")


def field_error(offered: Offered, version: str) -> str | None:
    """The admission message: the refusal with the field it is about."""
    refusal = offered.refusal(version)
    return f"{FIELD}: {refusal}" if refusal else None


def is_new(version: str | None, previous: str | None) -> bool:
    """Checked on create and when the version changes: a cluster left on a version EKS has since
    retired can still change its other fields (EKS upgrades it at the end of extended support)."""
    return bool(version) and version != previous


Fetch = collections.abc.Callable[[str], list[str]]


def describe_cluster_versions(region: str) -> list[str]:
    return eks.cluster_versions(sessions.base_session(region), region)


@dataclasses.dataclass(frozen=True)
class _Entry:
    offered: Offered
    until: float


class Versions:
    """`offered(region)`, kept `ttl` seconds after EKS answered, `failure_ttl` after it could not be asked.

    Thread-safe (the webhook server runs sync handlers in threads). `fetch`, `clock` and `today` are
    for tests."""

    def __init__(self, ttl: float, failure_ttl: float, fetch: Fetch = describe_cluster_versions,
                 clock: collections.abc.Callable[[], float] = time.monotonic,
                 today: collections.abc.Callable[[], datetime.date] = lambda: datetime.datetime.now(
                     datetime.timezone.utc).date()) -> None:
        self._ttl, self._failure_ttl = ttl, failure_ttl
        self._fetch, self._clock, self._today = fetch, clock, today
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def offered(self, region: str) -> Offered:
        with self._lock:
            entry = self._entries.get(region)
            if entry is not None and self._clock() < entry.until:
                return entry.offered
        try:
            found = sorted(set(self._fetch(region)), key=_key)
        except cloud_errors.CloudError as exc:
            found = []
            log.warning("EKS DescribeClusterVersions in %s failed (%s); using the maintained list", region, exc.code)
        if found:  # an empty answer is no answer: no region offers nothing
            entry = _Entry(Offered(region, tuple(found), SOURCE_EKS), self._clock() + self._ttl)
        else:
            entry = _Entry(Offered(region, fallback_versions(self._today()), SOURCE_FALLBACK),
                           self._clock() + self._failure_ttl)
        with self._lock:
            self._entries[region] = entry
        return entry.offered
