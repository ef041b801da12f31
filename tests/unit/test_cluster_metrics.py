"""Cluster metrics over time as the REST API returns them: the period parameter, the step per period,
the estimated cost from node counts and the shipped price table, unknown instance types, the response
shape; and the CloudWatch wrappers' pagination, batching and error translation against a stub client."""

from __future__ import annotations

import dataclasses
import datetime
import re
from typing import Any

import botocore.exceptions
import pytest

from fleetyard.cloud import cloudwatch, errors, session as sessions
from fleetyard.day2 import usage_metrics

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 27, 10, 7, 31, tzinfo=UTC)
MIN = datetime.timedelta(minutes=1)


class FakeReader:
    """Answers from canned series keyed by (metric name, instance type or None); records what it was asked."""

    def __init__(self, data: dict[tuple[str, str | None], usage_metrics.Series],
                 listed_types: list[str] | None = None) -> None:
        self.data = data
        self.listed_types = listed_types if listed_types is not None else sorted(
            {t for _, t in data if t is not None})
        self.calls: list[tuple[str, list[cloudwatch.Query], datetime.datetime, datetime.datetime]] = []
        self.listings: list[tuple[str, str, str, dict[str, str], str]] = []

    def series(self, region: str, queries: list[cloudwatch.Query], start: datetime.datetime,
               end: datetime.datetime) -> dict[str, usage_metrics.Series]:
        self.calls.append((region, queries, start, end))
        out = {}
        for q in queries:
            dims = dict(q.dimensions)
            out[q.id] = list(self.data.get((q.metric_name, dims.get("InstanceType")), []))
        return out

    def dimension_values(self, region: str, namespace: str, metric_name: str, dimensions: Any, key: str) -> list[str]:
        self.listings.append((region, namespace, metric_name, dict(dimensions), key))
        return list(self.listed_types)


def _minutes(start: datetime.datetime, values: list[float]) -> usage_metrics.Series:
    return [(start + i * MIN, v) for i, v in enumerate(values)]


# --- period and step -------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "name", "step", "points"), [
    (None, "1h", 60, 60),
    ("", "1h", 60, 60),
    ("1h", "1h", 60, 60),
    ("24h", "24h", 300, 288),
    ("7d", "7d", 3600, 168),
])
def test_parse_period(raw: str | None, name: str, step: int, points: int) -> None:
    period = usage_metrics.parse_period(raw)
    assert (period.name, period.step_seconds, period.points) == (name, step, points)
    assert period.points <= usage_metrics.MAX_POINTS


@pytest.mark.parametrize("raw", ["2h", "1H", " 1h", "1h ", "60m", "7days", "1d", "0", "24", "-1h", "week"])
def test_parse_period_refuses_anything_else(raw: str) -> None:
    with pytest.raises(ValueError) as refused:
        usage_metrics.parse_period(raw)
    message = str(refused.value)
    assert message.startswith("period:")
    assert '"1h", "24h", "7d"' in message and repr(raw) in message


@pytest.mark.parametrize(("span", "age", "step"), [
    (datetime.timedelta(hours=1), None, 60),
    (datetime.timedelta(hours=5), None, 60),          # exactly 300 points
    (datetime.timedelta(hours=6), None, 300),
    (datetime.timedelta(hours=24), None, 300),
    (datetime.timedelta(days=3), None, 900),          # 288 points
    (datetime.timedelta(days=7), None, 3600),
    (datetime.timedelta(days=30), None, 21600),
    (datetime.timedelta(hours=1), datetime.timedelta(days=16), 300),    # older than 15 days: 5-minute data
    (datetime.timedelta(hours=1), datetime.timedelta(days=64), 3600),   # older than 63 days: hourly data
])
def test_step_for(span: datetime.timedelta, age: datetime.timedelta | None, step: int) -> None:
    assert usage_metrics.step_for(span, age) == step


def test_step_for_a_window_too_long() -> None:
    with pytest.raises(ValueError):
        usage_metrics.step_for(datetime.timedelta(days=400))


@pytest.mark.parametrize(("name", "start", "end"), [
    ("1h", "2026-11-27T09:07:00+00:00", "2026-11-27T10:07:00+00:00"),
    ("24h", "2026-11-26T10:05:00+00:00", "2026-11-27T10:05:00+00:00"),
    ("7d", "2026-11-20T10:00:00+00:00", "2026-11-27T10:00:00+00:00"),
])
def test_window_ends_at_the_last_whole_step(name: str, start: str, end: str) -> None:
    got = usage_metrics.window(usage_metrics.parse_period(name), NOW)
    assert (got[0].isoformat(), got[1].isoformat()) == (start, end)
    other_zone = NOW.astimezone(datetime.timezone(datetime.timedelta(hours=-5)))
    assert usage_metrics.window(usage_metrics.parse_period(name), other_zone) == got


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        usage_metrics.window(usage_metrics.parse_period("1h"), NOW.replace(tzinfo=None))


# --- queries ---------------------------------------------------------------------------------------

def test_queries_name_container_insights_and_fleetyard_metrics() -> None:
    reader = FakeReader({}, listed_types=["m7g.large", "c6i.xlarge"])
    usage_metrics.metrics_for("prod-eu", "us-east-1", usage_metrics.parse_period("24h"), reader, NOW,
                                instance_types=["t3.large", "m7g.large"])
    assert reader.listings == [("us-east-1", "Fleetyard/Clusters", "ReadyNodes", {"ClusterName": "prod-eu"},
                                "InstanceType")]
    [(region, queries, start, end)] = reader.calls
    assert region == "us-east-1" and end - start == datetime.timedelta(hours=24)
    by_id = {q.id: q for q in queries}
    assert by_id["cpu"] == cloudwatch.Query("cpu", "ContainerInsights", "node_cpu_utilization",
                                            (("ClusterName", "prod-eu"),), "Average", 300)
    assert by_id["memory"] == cloudwatch.Query("memory", "ContainerInsights", "node_memory_utilization",
                                               (("ClusterName", "prod-eu"),), "Average", 300)
    assert by_id["jobs"] == cloudwatch.Query("jobs", "Fleetyard/Clusters", "ActiveJobCount",
                                             (("ClusterName", "prod-eu"),), "Maximum", 300)
    nodes = sorted((dict(q.dimensions)["InstanceType"], q.metric_name, q.stat, q.period_seconds)
                   for q in queries if q.id.startswith("nodes_"))
    assert nodes == [(t, "ReadyNodes", "Average", 300) for t in ["c6i.xlarge", "m7g.large", "t3.large"]]


# --- cost and response shape -----------------------------------------------------------------------

def test_cost_per_step_is_nodes_times_step_hours_times_price() -> None:
    start, _ = usage_metrics.window(usage_metrics.parse_period("1h"), NOW)
    reader = FakeReader({
        ("ReadyNodes", "m7g.large"): _minutes(start, [2, 2, 3]),
        ("ReadyNodes", "c6i.xlarge"): _minutes(start, [1.5, 0, 1]),
    })
    out = usage_metrics.metrics_for("c1", "us-east-1", usage_metrics.parse_period("1h"), reader, NOW)
    hour = 60 / 3600
    expected = [2 * hour * 0.0816 + 1.5 * hour * 0.17, 2 * hour * 0.0816, 3 * hour * 0.0816 + 1 * hour * 0.17]
    assert [p["value"] for p in out["estimatedCost"]] == pytest.approx(expected, abs=1e-6)
    assert [p["timestamp"] for p in out["estimatedCost"]] == [
        "2026-11-27T09:07:00Z", "2026-11-27T09:08:00Z", "2026-11-27T09:09:00Z"]
    assert out["unknownInstanceTypes"] == []


def test_cost_over_7d_uses_hour_steps() -> None:
    period = usage_metrics.parse_period("7d")
    start, _ = usage_metrics.window(period, NOW)
    hours = [(start + datetime.timedelta(hours=i), 4.0) for i in range(168)]
    out = usage_metrics.metrics_for("c1", "us-east-1", period, FakeReader({("ReadyNodes", "r7g.2xlarge"): hours}),
                                      NOW)
    assert len(out["estimatedCost"]) == 168
    assert [p["value"] for p in out["estimatedCost"]] == pytest.approx([4 * 0.4284] * 168)
    assert sum(p["value"] for p in out["estimatedCost"]) == pytest.approx(168 * 4 * 0.4284)


def test_unknown_instance_types_are_reported_not_priced() -> None:
    start, _ = usage_metrics.window(usage_metrics.parse_period("1h"), NOW)
    reader = FakeReader({
        ("ReadyNodes", "m5.large"): _minutes(start, [1, 1]),
        ("ReadyNodes", "x9z.mega"): _minutes(start, [2, 2]),
        ("ReadyNodes", "p5.48xlarge"): _minutes(start, [0, 0]),   # no price, but no nodes either
    })
    out = usage_metrics.metrics_for("c1", "us-east-1", usage_metrics.parse_period("1h"), reader, NOW)
    assert out["unknownInstanceTypes"] == ["x9z.mega"]
    assert [p["value"] for p in out["estimatedCost"]] == pytest.approx([0.096 / 60] * 2, abs=1e-6)


def test_a_region_without_a_price_table_prices_nothing() -> None:
    start, _ = usage_metrics.window(usage_metrics.parse_period("1h"), NOW)
    reader = FakeReader({("ReadyNodes", "m5.large"): _minutes(start, [1, 1])})
    out = usage_metrics.metrics_for("c1", "eu-west-1", usage_metrics.parse_period("1h"), reader, NOW)
    assert usage_metrics.load_prices("eu-west-1") is None
    assert out["estimatedCost"] == [] and out["unknownInstanceTypes"] == ["m5.large"]


def test_prices_can_be_given() -> None:
    start, _ = usage_metrics.window(usage_metrics.parse_period("1h"), NOW)
    reader = FakeReader({("ReadyNodes", "m5.large"): _minutes(start, [3])})
    table = usage_metrics.PriceTable("eu-west-1", "test", "2026-11-27", {"m5.large": 0.6})
    out = usage_metrics.metrics_for("c1", "eu-west-1", usage_metrics.parse_period("1h"), reader, NOW,
                                      prices=table)
    assert out["estimatedCost"] == [{"timestamp": "2026-11-27T09:07:00Z", "value": pytest.approx(0.03)}]


def test_response_shape_timestamps_and_order() -> None:
    period = usage_metrics.parse_period("1h")
    start, end = usage_metrics.window(period, NOW)
    eastern = datetime.timezone(datetime.timedelta(hours=-5))
    reader = FakeReader({
        # out of order, one in another zone, one before the window and one at its (excluded) end
        ("node_cpu_utilization", None): [(start + 2 * MIN, 30.0), (start, 10.0),
                                         ((start + MIN).astimezone(eastern), 20), (start - MIN, 99.0), (end, 99.0)],
        ("node_memory_utilization", None): _minutes(start, [55.5]),
        ("ActiveJobCount", None): _minutes(start, [0, 3, 1]),
    })
    out = usage_metrics.metrics_for("c1", "us-east-1", period, reader, NOW)
    assert set(out) == {"cpuUtilization", "memoryUtilization", "estimatedCost", "activeJobCount",
                        "unknownInstanceTypes"}
    assert out["cpuUtilization"] == [
        {"timestamp": "2026-11-27T09:07:00Z", "value": 10.0},
        {"timestamp": "2026-11-27T09:08:00Z", "value": 20.0},
        {"timestamp": "2026-11-27T09:09:00Z", "value": 30.0},
    ]
    assert out["memoryUtilization"] == [{"timestamp": "2026-11-27T09:07:00Z", "value": 55.5}]
    assert [p["value"] for p in out["activeJobCount"]] == [0.0, 3.0, 1.0]
    assert out["estimatedCost"] == []
    iso = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
    for key in ("cpuUtilization", "memoryUtilization", "activeJobCount"):
        for point in out[key]:
            assert iso.fullmatch(point["timestamp"]) and type(point["value"]) is float


def test_health_samples() -> None:
    at = datetime.datetime(2026, 11, 27, 11, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    samples = usage_metrics.health_samples("c1", {"m7g.large": 3, "c6i.xlarge": 0}, 2, at)
    utc_at = datetime.datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert samples == [
        cloudwatch.Sample("ActiveJobCount", (("ClusterName", "c1"),), 2.0, utc_at, "Count"),
        cloudwatch.Sample("ReadyNodes", (("ClusterName", "c1"), ("InstanceType", "c6i.xlarge")), 0.0, utc_at, "Count"),
        cloudwatch.Sample("ReadyNodes", (("ClusterName", "c1"), ("InstanceType", "m7g.large")), 3.0, utc_at, "Count"),
    ]
    with pytest.raises(ValueError):
        usage_metrics.health_samples("c1", {"m7g.large": -1}, 0, at)
    with pytest.raises(ValueError):
        usage_metrics.health_samples("c1", {}, 0, at.replace(tzinfo=None))


# --- the shipped price table -----------------------------------------------------------------------

def test_price_table_is_shipped_with_its_source_and_date() -> None:
    table = usage_metrics.load_prices("us-east-1")
    assert table is not None and table.region == "us-east-1"
    assert "aws.amazon.com/ec2/pricing" in table.source and re.fullmatch(r"\d{4}-\d\d-\d\d", table.as_of)
    for family in ("m5", "m6i", "m7i", "m7g", "c6i", "c7g", "r6i", "r7g", "t3", "t4g"):
        sizes = ["large", "xlarge", "2xlarge"] + ([] if family.startswith("t") else ["4xlarge"])
        for size in sizes:
            assert table.prices[f"{family}.{size}"] > 0
    assert table.prices["m7g.large"] == 0.0816 and table.prices["c6i.4xlarge"] == 0.68


# --- cloud wrappers against a stub client ----------------------------------------------------------

class StubCloudWatch:
    def __init__(self, pages: list[dict[str, Any]] | None = None, fail: Exception | None = None) -> None:
        self.pages = list(pages or [])
        self.fail = fail
        self.requests: list[dict[str, Any]] = []

    def get_metric_data(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(kwargs)
        if self.fail:
            raise self.fail
        return self.pages.pop(0)

    def put_metric_data(self, **kwargs: Any) -> None:
        self.requests.append(kwargs)
        if self.fail:
            raise self.fail


@pytest.fixture()
def stub(monkeypatch: pytest.MonkeyPatch) -> list[StubCloudWatch]:
    holder: list[StubCloudWatch] = [StubCloudWatch()]
    monkeypatch.setattr(sessions, "client", lambda sess, service, region=None: holder[0])
    return holder


def test_get_series_follows_next_token_and_sorts(stub: list[StubCloudWatch]) -> None:
    t = [datetime.datetime(2026, 11, 27, 9, m, tzinfo=UTC) for m in range(4)]
    stub[0] = StubCloudWatch([
        {"MetricDataResults": [{"Id": "cpu", "Timestamps": [t[2], t[3]], "Values": [3, 4],
                                "StatusCode": "PartialData"}], "NextToken": "more"},
        {"MetricDataResults": [{"Id": "cpu", "Timestamps": [t[0], t[1]], "Values": [1, 2], "StatusCode": "Complete"}]},
    ])
    q = cloudwatch.Query("cpu", "ContainerInsights", "node_cpu_utilization", (("ClusterName", "c"),), "Average", 60)
    queries = [q, dataclasses.replace(q, id="idle")]
    got = cloudwatch.get_series(None, "us-east-1", queries, t[0], t[3])  # type: ignore[arg-type]
    assert got == {"cpu": [(t[0], 1.0), (t[1], 2.0), (t[2], 3.0), (t[3], 4.0)], "idle": []}
    first, second = stub[0].requests
    assert "NextToken" not in first and second["NextToken"] == "more"
    assert first["ScanBy"] == "TimestampAscending"
    assert first["MetricDataQueries"][0] == {
        "Id": "cpu", "ReturnData": True,
        "MetricStat": {"Metric": {"Namespace": "ContainerInsights", "MetricName": "node_cpu_utilization",
                                  "Dimensions": [{"Name": "ClusterName", "Value": "c"}]},
                       "Period": 60, "Stat": "Average"}}


@pytest.mark.parametrize("bad", ["Cpu", "1cpu", "cpu-x", "", "cpu x"])
def test_get_series_refuses_bad_query_ids(bad: str) -> None:
    q = cloudwatch.Query(bad, "N", "M", (), "Average", 60)
    with pytest.raises(ValueError, match="query id"):
        cloudwatch.get_series(None, "us-east-1", [q], NOW - MIN, NOW)  # type: ignore[arg-type]


def test_put_samples_sends_at_most_1000_datums_a_call(stub: list[StubCloudWatch]) -> None:
    samples = [cloudwatch.Sample("ReadyNodes", (("ClusterName", "c"),), float(i), NOW) for i in range(2345)]
    cloudwatch.put_samples(None, "us-east-1", "Fleetyard/Clusters", samples)  # type: ignore[arg-type]
    sizes = [len(r["MetricData"]) for r in stub[0].requests]
    assert sizes == [1000, 1000, 345]
    assert {r["Namespace"] for r in stub[0].requests} == {"Fleetyard/Clusters"}
    assert stub[0].requests[2]["MetricData"][-1] == {
        "MetricName": "ReadyNodes", "Dimensions": [{"Name": "ClusterName", "Value": "c"}],
        "Timestamp": NOW, "Value": 2344.0, "Unit": "None"}


def test_put_samples_refuses_non_finite_values_before_sending(stub: list[StubCloudWatch]) -> None:
    samples = [cloudwatch.Sample("X", (), 1.0, NOW), cloudwatch.Sample("X", (), float("nan"), NOW)]
    with pytest.raises(ValueError, match="finite"):
        cloudwatch.put_samples(None, "us-east-1", "N", samples)  # type: ignore[arg-type]
    assert stub[0].requests == []


def test_errors_are_translated(stub: list[StubCloudWatch]) -> None:
    stub[0] = StubCloudWatch(fail=botocore.exceptions.ClientError(
        {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        "PutMetricData"))
    with pytest.raises(errors.CloudError) as failed:
        cloudwatch.put_samples(None, "us-east-1", "N", [cloudwatch.Sample("X", (), 1.0, NOW)])  # type: ignore[arg-type]
    assert failed.value.code == "Throttling" and failed.value.retryable
    q = cloudwatch.Query("cpu", "N", "M", (), "Average", 60)
    with pytest.raises(errors.CloudError):
        cloudwatch.get_series(None, "us-east-1", [q], NOW - MIN, NOW)  # type: ignore[arg-type]
