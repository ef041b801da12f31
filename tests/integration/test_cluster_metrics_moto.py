"""Cluster metrics over time against moto's CloudWatch: publish an hour of samples with `put_samples`
(fleetyard's health samples, plus Container Insights-shaped data standing in for the CloudWatch agent),
then read them back with `metrics_for` as the REST API does, for "1h" and "24h". moto answers
GetMetricData in one page (no NextToken), aligns steps to StartTime, and matches a query with dimensions
on metric name and the exact dimension set while ignoring its namespace; the test keeps metric names
distinct across namespaces so that last quirk cannot hide a wrong namespace in a query.
"""

from __future__ import annotations

import collections.abc
import datetime
import os
import pathlib
import uuid

import boto3
import pytest

from fleetyard.cloud import cloudwatch, session as sessions
from fleetyard.day2 import usage_metrics
from fleetyard.devenv import moto_server

pytestmark = pytest.mark.integration

MIN = datetime.timedelta(minutes=1)


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> collections.abc.Iterator[boto3.Session]:
    server = moto_server.MotoServer(pathlib.Path(tmp_path_factory.mktemp("moto-metrics")), access_control=False)
    with server, pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                mp.delenv(name)
        env = server.env()
        for name, value in env.items():
            mp.setenv(name, value)
        yield sessions.session_from_credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], None,
                                                env["AWS_REGION"])


@pytest.fixture(scope="module")
def published(aws: boto3.Session) -> dict[str, object]:
    """One hour of samples, one a minute (two for CPU, memory and jobs), for a cluster and a neighbour."""
    region = "us-east-1"
    now = _floor(datetime.datetime.now(datetime.timezone.utc), 300)   # both 1h and 24h windows end here
    start = now - datetime.timedelta(hours=1)
    cluster, neighbour = f"c-{uuid.uuid4().hex[:8]}", f"n-{uuid.uuid4().hex[:8]}"
    insights: list[cloudwatch.Sample] = []
    fleet: list[cloudwatch.Sample] = []
    for i in range(60):
        at = start + i * MIN + datetime.timedelta(seconds=5)
        later = at + datetime.timedelta(seconds=30)
        dims = (("ClusterName", cluster),)
        insights += [
            cloudwatch.Sample("node_cpu_utilization", dims, 10.0 + i, at, "Percent"),
            cloudwatch.Sample("node_cpu_utilization", dims, 12.0 + i, later, "Percent"),      # average: 11 + i
            cloudwatch.Sample("node_memory_utilization", dims, 40.0, at, "Percent"),
            # per-node data, as the agent also publishes, must not leak into the cluster series
            cloudwatch.Sample("node_cpu_utilization", dims + (("InstanceId", "i-0abc"), ("NodeName", "ip-10-0-0-1")),
                              99.0, at, "Percent"),
            cloudwatch.Sample("node_cpu_utilization", (("ClusterName", neighbour),), 77.0, at, "Percent"),
        ]
        nodes = {"m7g.large": 2 if i < 30 else 3, "c6i.xlarge": 1, "x9z.mega": 1}
        fleet += usage_metrics.health_samples(cluster, nodes, i % 4, at)
        fleet += usage_metrics.health_samples(cluster, {}, 0, later)                      # maximum stays i % 4
        fleet += usage_metrics.health_samples(neighbour, {"m7g.large": 50}, 9, at)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cloudwatch, "MAX_DATUMS_PER_CALL", 97)   # several calls each, one of them short
        cloudwatch.put_samples(aws, region, "ContainerInsights", insights)
        cloudwatch.put_samples(aws, region, usage_metrics.NAMESPACE, fleet)
    return {"region": region, "now": now, "start": start, "cluster": cluster}


def _floor(moment: datetime.datetime, seconds: int) -> datetime.datetime:
    epoch = int(moment.timestamp())
    return datetime.datetime.fromtimestamp(epoch - epoch % seconds, datetime.timezone.utc)


def _stamps(start: datetime.datetime, count: int, step: datetime.timedelta) -> list[str]:
    return [(start + i * step).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(count)]


def test_last_hour(aws: boto3.Session, published: dict[str, object]) -> None:
    now, start = published["now"], published["start"]
    assert isinstance(now, datetime.datetime) and isinstance(start, datetime.datetime)
    out = usage_metrics.metrics_for(str(published["cluster"]), str(published["region"]),
                                      usage_metrics.parse_period("1h"), cloudwatch.SessionReader(aws), now)
    minutes = _stamps(start, 60, MIN)
    assert [p["timestamp"] for p in out["cpuUtilization"]] == minutes
    assert [p["value"] for p in out["cpuUtilization"]] == [11.0 + i for i in range(60)]
    assert out["memoryUtilization"] == [{"timestamp": t, "value": 40.0} for t in minutes]
    assert out["activeJobCount"] == [{"timestamp": t, "value": float(i % 4)} for i, t in enumerate(minutes)]
    per_minute = [(2 if i < 30 else 3) * 0.0816 / 60 + 0.17 / 60 for i in range(60)]
    assert [p["timestamp"] for p in out["estimatedCost"]] == minutes
    assert [p["value"] for p in out["estimatedCost"]] == pytest.approx(per_minute, abs=1e-6)
    assert out["unknownInstanceTypes"] == ["x9z.mega"]


def test_last_day_has_five_minute_steps_and_the_same_total_cost(aws: boto3.Session,
                                                                 published: dict[str, object]) -> None:
    now, start = published["now"], published["start"]
    assert isinstance(now, datetime.datetime) and isinstance(start, datetime.datetime)
    out = usage_metrics.metrics_for(str(published["cluster"]), str(published["region"]),
                                      usage_metrics.parse_period("24h"), cloudwatch.SessionReader(aws), now)
    steps = _stamps(start, 12, 5 * MIN)
    assert [p["timestamp"] for p in out["cpuUtilization"]] == steps
    assert [p["value"] for p in out["cpuUtilization"]] == [11.0 + 5 * k + 2 for k in range(12)]
    assert [p["value"] for p in out["activeJobCount"]] == [3.0] * 12
    assert [p["timestamp"] for p in out["estimatedCost"]] == steps
    total = 30 * (2 * 0.0816 + 0.17) / 60 + 30 * (3 * 0.0816 + 0.17) / 60
    assert sum(p["value"] for p in out["estimatedCost"]) == pytest.approx(total, abs=1e-5)


def test_a_cluster_without_data_has_empty_series(aws: boto3.Session, published: dict[str, object]) -> None:
    now = published["now"]
    assert isinstance(now, datetime.datetime)
    out = usage_metrics.metrics_for("nobody", "us-east-1", usage_metrics.parse_period("7d"),
                                      cloudwatch.SessionReader(aws), now)
    assert out == {"cpuUtilization": [], "memoryUtilization": [], "estimatedCost": [], "activeJobCount": [],
                   "unknownInstanceTypes": []}
