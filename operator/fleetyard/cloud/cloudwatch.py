"""CloudWatch metrics: read time series (GetMetricData), list dimension values (ListMetrics), publish samples.

Called by `fleetyard.cluster_metrics` (through `SessionReader`, the reader it is handed) for a cluster's
metrics over time, and by the operator's health timer to publish `fleetyard.cluster_metrics.health_samples`.
Thin typed wrappers: `Query` and `Sample` in, plain `(datetime, float)` series out, every datetime
timezone-aware UTC; pagination (NextToken) and the per-call API limits (500 queries per GetMetricData,
1000 datums per PutMetricData) are handled here; botocore failures leave as `errors.CloudError`.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime
import math
import re
from typing import Any

import boto3

from fleetyard.cloud import errors, session as sessions

MAX_QUERIES_PER_CALL = 500      # GetMetricData: MetricDataQueries has at most 500 members
MAX_DATUMS_PER_CALL = 1000      # PutMetricData: at most 1000 MetricDatum (and 1 MB) per request
MAX_DIMENSIONS = 30             # dimensions per metric

_QUERY_ID = re.compile(r"[a-z][a-zA-Z0-9_]*")
_SUBMINUTE_PERIODS = frozenset({1, 5, 10, 20, 30})   # high-resolution periods; else multiples of 60

Series = list[tuple[datetime.datetime, float]]
Dimensions = tuple[tuple[str, str], ...]


@dataclasses.dataclass(frozen=True)
class Query:
    """One MetricStat query. `id` is the key of its series in `get_series`'s answer and must match
    CloudWatch's rule for query ids: a lowercase letter, then letters, digits and underscores."""

    id: str
    namespace: str
    metric_name: str
    dimensions: Dimensions
    stat: str
    period_seconds: int
    unit: str | None = None


@dataclasses.dataclass(frozen=True)
class Sample:
    """One datum to publish: a value of a metric (name + dimensions) at a time."""

    metric_name: str
    dimensions: Dimensions
    value: float
    timestamp: datetime.datetime
    unit: str = "None"


def get_series(sess: boto3.Session, region: str, queries: list[Query], start: datetime.datetime,
               end: datetime.datetime) -> dict[str, Series]:
    """Each query's data points in [start, end), oldest first; a query without data has an empty list."""
    _check_ids(queries)
    start, end = utc(start), utc(end)
    if start >= end:
        raise ValueError(f"start ({start.isoformat()}) must be before end ({end.isoformat()})")
    out: dict[str, Series] = {q.id: [] for q in queries}
    cw = sessions.client(sess, "cloudwatch", region)
    for offset in range(0, len(queries), MAX_QUERIES_PER_CALL):
        batch = [_query_body(q) for q in queries[offset:offset + MAX_QUERIES_PER_CALL]]
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"MetricDataQueries": batch, "StartTime": start, "EndTime": end,
                                      "ScanBy": "TimestampAscending"}
            if token:
                kwargs["NextToken"] = token
            try:
                page = cw.get_metric_data(**kwargs)
            except Exception as exc:
                raise errors.translate(exc) from None
            for result in page.get("MetricDataResults", []):
                status = str(result.get("StatusCode") or "Complete")
                if status in ("InternalError", "Forbidden"):
                    raise errors.CloudError(f"MetricData{status}", f"CloudWatch answered {status} for query "
                                            f"{result.get('Id')!r}", retryable=status == "InternalError")
                out.setdefault(str(result["Id"]), []).extend(
                    (utc(ts), float(v)) for ts, v in zip(result.get("Timestamps", []), result.get("Values", [])))
            token = page.get("NextToken")
            if not token:
                break
    return {key: sorted(points, key=lambda p: p[0]) for key, points in out.items()}


def list_dimension_values(sess: boto3.Session, region: str, namespace: str, metric_name: str,
                          dimensions: collections.abc.Mapping[str, str], key: str) -> list[str]:
    """The values of dimension `key` among the metrics `namespace/metric_name` whose dimensions are
    exactly `dimensions` plus `key` (ListMetrics: metrics with data in the last two weeks; AWS may take
    up to 15 minutes to list a new one). Sorted, without duplicates."""
    wanted = set(dimensions) | {key}
    filters = [{"Name": n, "Value": v} for n, v in dimensions.items()] + [{"Name": key}]
    cw = sessions.client(sess, "cloudwatch", region)
    values: set[str] = set()
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Namespace": namespace, "MetricName": metric_name, "Dimensions": filters}
        if token:
            kwargs["NextToken"] = token
        try:
            page = cw.list_metrics(**kwargs)
        except Exception as exc:
            raise errors.translate(exc) from None
        for metric in page.get("Metrics", []):
            dims = {str(d["Name"]): str(d["Value"]) for d in metric.get("Dimensions", [])}
            if set(dims) == wanted and all(dims[n] == v for n, v in dimensions.items()):
                values.add(dims[key])
        token = page.get("NextToken")
        if not token:
            return sorted(values)


def put_samples(sess: boto3.Session, region: str, namespace: str, samples: list[Sample]) -> None:
    """Publish `samples` to `namespace`, in as many PutMetricData calls as the per-call limit needs.
    Everything is validated before the first call; a failing call raises and leaves the earlier
    batches published (CloudWatch keeps every datum it accepted; republishing one adds a sample)."""
    datums = [_datum(s) for s in samples]
    cw = sessions.client(sess, "cloudwatch", region)
    for offset in range(0, len(datums), MAX_DATUMS_PER_CALL):
        try:
            cw.put_metric_data(Namespace=namespace, MetricData=datums[offset:offset + MAX_DATUMS_PER_CALL])
        except Exception as exc:
            raise errors.translate(exc) from None


@dataclasses.dataclass(frozen=True)
class SessionReader:
    """The reader `fleetyard.cluster_metrics.metrics_for` takes, backed by a boto3 session."""

    session: boto3.Session

    def series(self, region: str, queries: list[Query], start: datetime.datetime,
               end: datetime.datetime) -> dict[str, Series]:
        return get_series(self.session, region, queries, start, end)

    def dimension_values(self, region: str, namespace: str, metric_name: str,
                         dimensions: collections.abc.Mapping[str, str], key: str) -> list[str]:
        return list_dimension_values(self.session, region, namespace, metric_name, dimensions, key)


def utc(moment: datetime.datetime) -> datetime.datetime:
    """`moment` in UTC; a naive datetime is refused rather than read as local time."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"datetime {moment.isoformat()} has no timezone")
    return moment.astimezone(datetime.timezone.utc)


def _check_ids(queries: list[Query]) -> None:
    seen: set[str] = set()
    for q in queries:
        if not _QUERY_ID.fullmatch(q.id):
            raise ValueError(f"query id {q.id!r}: must start with a lowercase letter, then letters, digits, _")
        if q.id in seen:
            raise ValueError(f"query id {q.id!r} is used twice")
        if q.period_seconds not in _SUBMINUTE_PERIODS and (q.period_seconds < 60 or q.period_seconds % 60):
            raise ValueError(f"query {q.id!r}: period {q.period_seconds} s is not 1, 5, 10, 20, 30 or a multiple of 60")
        seen.add(q.id)


def _query_body(q: Query) -> dict[str, Any]:
    stat: dict[str, Any] = {
        "Metric": {"Namespace": q.namespace, "MetricName": q.metric_name,
                   "Dimensions": [{"Name": n, "Value": v} for n, v in q.dimensions]},
        "Period": q.period_seconds, "Stat": q.stat}
    if q.unit:
        stat["Unit"] = q.unit
    return {"Id": q.id, "MetricStat": stat, "ReturnData": True}


def _datum(s: Sample) -> dict[str, Any]:
    if not math.isfinite(s.value):
        raise ValueError(f"metric {s.metric_name}: value {s.value!r} is not a finite number")
    if len(s.dimensions) > MAX_DIMENSIONS:
        raise ValueError(f"metric {s.metric_name}: {len(s.dimensions)} dimensions, at most {MAX_DIMENSIONS}")
    return {"MetricName": s.metric_name, "Dimensions": [{"Name": n, "Value": v} for n, v in s.dimensions],
            "Timestamp": utc(s.timestamp), "Value": float(s.value), "Unit": s.unit}
