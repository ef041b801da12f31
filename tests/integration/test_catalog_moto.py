"""The instance-type catalog against moto: EC2's real figures through `fleetyard.cloud.ec2` and
`fleetyard.catalog`.

moto serves DescribeInstanceTypes from AWS's own data, so m7g.large must come out exactly as the
worked example in `tests/unit/test_catalog.py` documents it, and a region lists hundreds of types.
"""

from __future__ import annotations

import collections.abc
import pathlib

import boto3
import pytest

from fleetyard.cloud import ec2, session as sessions
from fleetyard.connections import catalog
from fleetyard.devenv import moto_server
from fleetyard.models import operation

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> collections.abc.Iterator[moto_server.MotoServer]:
    with moto_server.MotoServer(pathlib.Path(tmp_path_factory.mktemp("moto")), access_control=False) as server:
        with pytest.MonkeyPatch.context() as patch:
            for key, value in server.env().items():
                patch.setenv(key, value)
            yield server


@pytest.fixture(scope="module")
def raw_types(moto: moto_server.MotoServer) -> list[dict[str, object]]:
    sess: boto3.Session = sessions.session_from_credentials(
        moto.access_key_id, moto.secret_access_key, None, moto.region)
    return ec2.instance_types(sess, "us-east-1")


def test_region_lists_many_instance_types(raw_types: list[dict[str, object]]) -> None:
    names = [str(t["InstanceType"]) for t in raw_types]
    assert len(names) > 100
    assert len(set(names)) == len(names)
    assert {"m7g.large", "m5.large", "c7g.xlarge", "p5.48xlarge"} <= set(names)


def test_m7g_large_as_documented(raw_types: list[dict[str, object]]) -> None:
    result = catalog.result(raw_types)
    by_name = {entry.instanceType: entry for entry in result.items}
    assert by_name["m7g.large"] == operation.InstanceTypeItem(
        provider="aws", instanceType="m7g.large", vCpus=2, memoryMiB=8192, architecture="arm64", gpuCount=0,
        instanceFamily="m7g", maxPods=29, group="general", allocatableMilliCpu=1750)


def test_catalog_result_is_consistent(raw_types: list[dict[str, object]]) -> None:
    result = catalog.result(raw_types)
    assert len(result.items) > 100
    assert result.metadata == catalog.metadata()
    assert {e.architecture for e in result.items} == {"arm64", "x86_64"}
    assert {e.group for e in result.items} >= {"general", "compute", "memory", "storage", "accelerated"}
    assert all(0 < e.maxPods <= 250 and 0 < e.allocatableMilliCpu < e.vCpus * 1000 for e in result.items)
    assert all(e.maxPods <= 110 for e in result.items if e.vCpus <= 30)
    by_name = {e.instanceType: e for e in result.items}
    # EKS's eni-max-pods.txt: m5.24xlarge 737 and p5.48xlarge 100 (default network card only).
    assert by_name["m5.24xlarge"].maxPods == 250
    assert by_name["p5.48xlarge"].maxPods == 100
    assert by_name["p5.48xlarge"].gpuCount == 8
    assert operation.OperationResult.model_validate(result.model_dump()) == result


def test_cache_answers_admission(raw_types: list[dict[str, object]]) -> None:
    cache = catalog.Catalog()
    cache.put("CONN000001", "us-east-1", catalog.items(raw_types))
    assert cache.known("CONN000001", "us-east-1", "m7g.large") is True
    assert cache.known("CONN000001", "us-east-1", "mac2.metal") is False
    names = cache.instance_types("CONN000001", "us-east-1")
    assert names is not None
    assert catalog.unknown_instance_types(["m7g.large", "m7g.xlarge"], names) is None
    assert catalog.unknown_instance_types(["m7g.large", "m7g.gigantic"], names, "us-east-1") == (
        "config.systemNodeGroup.instanceTypes: m7g.gigantic is not an instance type EKS nodes can use in us-east-1")
