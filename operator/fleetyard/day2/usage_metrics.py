"""A provisioned cluster's usage metrics over time (GET .../clusters/{cluster}/metrics), and the samples
behind them. (The operator's own Prometheus series are `fleetyard.metrics`.)

Called by the REST API's metrics endpoint (`parse_period`, then `metrics_for` through `day2.access` with a
`fleetyard.cloud.cloudwatch.SessionReader` for the cluster's account) and by the health check
(`health_samples`, published with `cloudwatch.put_samples` to `NAMESPACE`). Pure apart from the injected
reader: CPU and memory come from CloudWatch Container Insights (`ContainerInsights`, `node_cpu_utilization` /
`node_memory_utilization` per `ClusterName`, Average); active jobs and ready nodes per instance type from
fleetyard's own namespace `Fleetyard/Clusters`; `estimatedCost` per step is the sum over instance types of
(average ready nodes x step hours x on-demand hourly price) from the price table shipped in `fleetyard/data/`,
and types without a price are listed in `unknownInstanceTypes`, never guessed. Steps: see `step_for`.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime
import functools
import importlib.resources
import json
import types
from typing import Any, Protocol

from fleetyard.cloud import cloudwatch
from fleetyard.models import timestamps

NAMESPACE = "Fleetyard/Clusters"
CONTAINER_INSIGHTS = "ContainerInsights"
ACTIVE_JOBS = "ActiveJobCount"
READY_NODES = "ReadyNodes"
CLUSTER_DIM = "ClusterName"
TYPE_DIM = "InstanceType"

MAX_POINTS = 300
STEP_LADDER = (60, 300, 900, 3600, 21600, 86400)
DEFAULT_PERIOD = "1h"
_SPANS = {"1h": datetime.timedelta(hours=1), "24h": datetime.timedelta(hours=24), "7d": datetime.timedelta(days=7)}

Series = list[tuple[datetime.datetime, float]]


@dataclasses.dataclass(frozen=True)
class Period:
    name: str
    span: datetime.timedelta
    step_seconds: int

    @property
    def points(self) -> int:
        return int(self.span.total_seconds()) // self.step_seconds


@dataclasses.dataclass(frozen=True)
class PriceTable:
    region: str
    source: str
    as_of: str
    prices: collections.abc.Mapping[str, float]   # instance type -> USD per hour, on-demand Linux


class Reader(Protocol):
    """What `metrics_for` reads through; `cloudwatch.SessionReader` is the real one."""

    def series(self, region: str, queries: list[cloudwatch.Query], start: datetime.datetime,
               end: datetime.datetime) -> dict[str, Series]: ...

    def dimension_values(self, region: str, namespace: str, metric_name: str,
                         dimensions: collections.abc.Mapping[str, str], key: str) -> list[str]: ...


def step_for(span: datetime.timedelta, start_age: datetime.timedelta | None = None) -> int:
    """The step (seconds) for a window of `span` whose start is `start_age` old (default: `span`).

    The smallest step of `STEP_LADDER` that keeps the window at most `MAX_POINTS` points and that
    CloudWatch serves for data that old (StartTime older than 15 days needs a multiple of 300 s, older
    than 63 days a multiple of 3600 s): 1h -> 60 s (60 points), 24h -> 300 s (288), 7d -> 3600 s (168).
    The window ends at `now` rounded down to the step (the step in progress is left out) and every
    timestamp is the start of its step, as CloudWatch reports it.
    """
    age = span if start_age is None else start_age
    for step in STEP_LADDER:
        if span.total_seconds() / step > MAX_POINTS:
            continue
        if age > datetime.timedelta(days=63) and step % 3600:
            continue
        if age > datetime.timedelta(days=15) and step % 300:
            continue
        return step
    raise ValueError(f"a window of {span} needs more than {MAX_POINTS} points even at {STEP_LADDER[-1]} s")


PERIODS: dict[str, Period] = {name: Period(name, span, step_for(span)) for name, span in _SPANS.items()}


def parse_period(value: str | None) -> Period:
    """The `period` query parameter: "1h" (also when absent or empty), "24h" or "7d"; else ValueError."""
    if value is None or value == "":
        return PERIODS[DEFAULT_PERIOD]
    try:
        return PERIODS[value]
    except (KeyError, TypeError):
        allowed = ", ".join(f'"{p}"' for p in PERIODS)
        raise ValueError(f"period: must be one of {allowed} (got {value!r})") from None


def window(period: Period, now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    """[start, end) of the period ending at `now` rounded down to the step."""
    epoch = int(cloudwatch.utc(now).timestamp())
    end = datetime.datetime.fromtimestamp(epoch - epoch % period.step_seconds, datetime.timezone.utc)
    return end - period.span, end


@functools.lru_cache(maxsize=None)
def load_prices(region: str) -> PriceTable | None:
    """The price table shipped for `region`, or None when there is none (every type is then unknown)."""
    resource = importlib.resources.files("fleetyard").joinpath(f"data/ec2_prices_{region.replace('-', '_')}.json")
    if not resource.is_file():
        return None
    doc = json.loads(resource.read_text())
    return PriceTable(str(doc["region"]), str(doc["source"]), str(doc["asOf"]),
                      types.MappingProxyType({str(k): float(v) for k, v in doc["prices"].items()}))


def queries(cluster_name: str, step_seconds: int, instance_types: collections.abc.Sequence[str],
            ) -> list[cloudwatch.Query]:
    """The queries behind a response: `cpu`, `memory`, `jobs`, and `nodes_<i>` for `instance_types[i]`."""
    cluster = ((CLUSTER_DIM, cluster_name),)
    out = [
        cloudwatch.Query("cpu", CONTAINER_INSIGHTS, "node_cpu_utilization", cluster, "Average", step_seconds),
        cloudwatch.Query("memory", CONTAINER_INSIGHTS, "node_memory_utilization", cluster, "Average", step_seconds),
        # Maximum: a short burst of jobs inside a coarse step stays visible.
        cloudwatch.Query("jobs", NAMESPACE, ACTIVE_JOBS, cluster, "Maximum", step_seconds),
    ]
    # Average: the time-weighted node count over the step, so count x step hours is node-hours.
    out += [cloudwatch.Query(f"nodes_{i}", NAMESPACE, READY_NODES, cluster + ((TYPE_DIM, t),), "Average", step_seconds)
            for i, t in enumerate(instance_types)]
    return out


def estimated_cost(nodes_by_type: collections.abc.Mapping[str, Series], step_seconds: int,
                   prices: collections.abc.Mapping[str, float]) -> tuple[Series, list[str]]:
    """Cost per step (USD) summed over the priced types, and the types that had nodes but no price.
    A step gets a point when at least one priced type has a data point in it."""
    hours = step_seconds / 3600
    totals: dict[datetime.datetime, float] = {}
    unknown: set[str] = set()
    for instance_type, points in nodes_by_type.items():
        price = prices.get(instance_type)
        for at, nodes in points:
            if price is None:
                if nodes > 0:
                    unknown.add(instance_type)
                continue
            totals[at] = totals.get(at, 0.0) + nodes * hours * price
    return [(at, round(totals[at], 6)) for at in sorted(totals)], sorted(unknown)


def metrics_for(cluster_name: str, region: str, period: Period, reader: Reader, now: datetime.datetime, *,
                instance_types: collections.abc.Iterable[str] = (),
                prices: PriceTable | None = None) -> dict[str, Any]:
    """The response of GET .../clusters/{cluster}/metrics: four series of {timestamp, value} sorted by
    time, plus `unknownInstanceTypes`. Instance types are those with a ReadyNodes metric for the cluster
    (ListMetrics) plus `instance_types` (e.g. the cluster's node groups, which covers types too new for
    ListMetrics). `prices` defaults to the table shipped for `region`."""
    start, end = window(period, now)
    types = sorted(set(reader.dimension_values(region, NAMESPACE, READY_NODES, {CLUSTER_DIM: cluster_name}, TYPE_DIM))
                   | set(instance_types))
    data = reader.series(region, queries(cluster_name, period.step_seconds, types), start, end)

    def series(key: str) -> Series:
        by_time = {at: value for at, value in (data.get(key) or []) if start <= cloudwatch.utc(at) < end}
        return sorted((cloudwatch.utc(at), float(v)) for at, v in by_time.items())

    table = prices if prices is not None else load_prices(region)
    cost, unknown = estimated_cost({t: series(f"nodes_{i}") for i, t in enumerate(types)}, period.step_seconds,
                                   table.prices if table is not None else {})
    return {
        "cpuUtilization": _points(series("cpu")),
        "memoryUtilization": _points(series("memory")),
        "estimatedCost": _points(cost),
        "activeJobCount": _points(series("jobs")),
        "unknownInstanceTypes": unknown,
    }


def health_samples(cluster_name: str, ready_nodes_by_type: collections.abc.Mapping[str, int], active_jobs: int,
                   at: datetime.datetime) -> list[cloudwatch.Sample]:
    """What the health timer publishes to `NAMESPACE` for one cluster at `at`: ActiveJobCount and one
    ReadyNodes per instance type (publish 0 for a type that is gone, so its series shows it). Publish at
    least once a minute so the 1h view (60 s steps) has a point in every step."""
    at = cloudwatch.utc(at)
    if active_jobs < 0 or any(n < 0 for n in ready_nodes_by_type.values()):
        raise ValueError("node and job counts cannot be negative")
    cluster = ((CLUSTER_DIM, cluster_name),)
    out = [cloudwatch.Sample(ACTIVE_JOBS, cluster, float(active_jobs), at, "Count")]
    out += [cloudwatch.Sample(READY_NODES, cluster + ((TYPE_DIM, t),), float(n), at, "Count")
            for t, n in sorted(ready_nodes_by_type.items())]
    return out


def _points(series: Series) -> list[dict[str, Any]]:
    return [{"timestamp": timestamps.format(at), "value": float(v)} for at, v in series]
