"""The REST API's checks of what a region offers (`rest.offerings`), before anything is written: which
changes are checked, and the 400 each refusal becomes."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from fleetyard.connections import eks_versions
from fleetyard.rest import errors, offerings

CONFIG = {"kubernetesVersion": "1.35", "systemNodeGroup": {"instanceTypes": ["m7g.large"]}}


@dataclasses.dataclass
class Op:
    spec: dict[str, Any]
    status: dict[str, Any]


class Cache:
    """`operations_of` of the store: the Connection's Operations, oldest first."""

    def __init__(self, *ops: Op) -> None:
        self.ops = list(ops)

    def operations_of(self, _target: Any) -> list[Op]:
        return self.ops


def _catalog(status: str, *types: str) -> Op:
    return Op({"operation": "listInstanceTypes"},
              {"status": status, "result": {"items": [{"instanceType": t} for t in types]}})


class Fetch:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, region: str) -> list[str]:
        self.calls += 1
        return ["1.34", "1.35", "1.36"]


def _run(cache: Cache, config: dict[str, Any], previous: dict[str, Any] | None, fetch: Fetch | None = None) -> None:
    versions = eks_versions.Versions(3600, 60, fetch=fetch or Fetch())
    asyncio.run(offerings.require_offered(versions, cache, object(), "us-east-1", config, previous))


def _with(version: str | None = None, types: list[str] | None = None) -> dict[str, Any]:
    return {"kubernetesVersion": version or CONFIG["kubernetesVersion"],
            "systemNodeGroup": {"instanceTypes": types or ["m7g.large"]}}


@pytest.mark.parametrize(("config", "previous", "field", "message"), [
    (_with("1.99"), None, "config.kubernetesVersion",
     "1.99 is not a Kubernetes version EKS offers in us-east-1; allowed: 1.34, 1.35, 1.36 "
     "(from EKS DescribeClusterVersions)"),
    (_with("1.37"), _with("1.36"), "config.kubernetesVersion", "1.37 is not a Kubernetes version"),
    (_with(types=["m7g.huge"]), None, "config.systemNodeGroup.instanceTypes",
     "m7g.huge is not an instance type EKS nodes can use in us-east-1"),
    (_with(types=["m7g.large", "m7g.huge"]), _with(), "config.systemNodeGroup.instanceTypes", "m7g.huge is not"),
])
def test_refused_with_the_field_named(config, previous, field: str, message: str) -> None:
    with pytest.raises(errors.ApiError) as refused:
        _run(Cache(_catalog("succeeded", "m7g.large", "m7g.xlarge")), config, previous)
    assert refused.value.status == 400
    assert list(refused.value.field_errors) == [field] and refused.value.field_errors[field].startswith(message)


def test_what_did_not_change_is_not_checked() -> None:
    fetch = Fetch()
    stale = {"kubernetesVersion": "1.31", "systemNodeGroup": {"instanceTypes": ["m5.large"]}}
    _run(Cache(_catalog("succeeded", "m7g.large")), stale, stale, fetch)  # retired version, retired type: kept
    assert fetch.calls == 0


@pytest.mark.parametrize("cache", [Cache(), Cache(_catalog("failed")), Cache(_catalog("running"))],
                         ids=["none", "failed", "running"])
def test_without_a_succeeded_catalog_instance_types_are_not_checked(cache: Cache) -> None:
    _run(cache, _with(types=["m7g.huge"]), None)


def test_the_newest_succeeded_catalog_is_the_one() -> None:
    cache = Cache(_catalog("succeeded", "m7g.large"), _catalog("succeeded", "m7g.large", "m8g.large"),
                  _catalog("failed"))
    _run(cache, _with(types=["m8g.large"]), None)
