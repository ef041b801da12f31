"""The instance-type catalog: EC2 figures in, the seed's listInstanceTypes result out.

Table-driven checks of the formulas (EKS max-pods and kube-reserved CPU), the grouping and the
architecture choice, the metadata constants, the per-(Connection, region) cache with its TTL, the
admission field error, and `fleetyard.cloud.ec2` against a stubbed EC2 client (pagination, errors).
"""

from __future__ import annotations

import collections.abc
from typing import Any

import boto3
import botocore.stub
import pydantic
import pytest

from fleetyard.cloud import ec2, errors as cloud_errors, session as sessions
from fleetyard.connections import catalog
from fleetyard.models import operation


def raw_type(name: str, vcpus: int, memory_mib: int, enis: int, ipv4_per_eni: int,
             architectures: tuple[str, ...] = ("x86_64",), gpus: tuple[int, ...] = (),
             cards: tuple[int, ...] | None = None) -> dict[str, Any]:
    """A DescribeInstanceTypes item with the fields the catalog reads (shaped as EC2 and moto send them).

    `cards` gives MaximumNetworkInterfaces per network card (card 0 is the default); without it the
    type has one card with `enis` interfaces.
    """
    per_card = cards if cards is not None else (enis,)
    out: dict[str, Any] = {
        "InstanceType": name,
        "VCpuInfo": {"DefaultVCpus": vcpus},
        "MemoryInfo": {"SizeInMiB": memory_mib},
        "ProcessorInfo": {"SupportedArchitectures": list(architectures)},
        "NetworkInfo": {
            "Ipv4AddressesPerInterface": ipv4_per_eni,
            "MaximumNetworkInterfaces": enis,
            "DefaultNetworkCardIndex": 0,
            "NetworkCards": [{"NetworkCardIndex": i, "MaximumNetworkInterfaces": n} for i, n in enumerate(per_card)],
        },
    }
    if gpus:
        out["GpuInfo"] = {"Gpus": [{"Count": n, "Name": "T4", "Manufacturer": "NVIDIA"} for n in gpus]}
    return out


M7G_LARGE = raw_type("m7g.large", 2, 8192, 3, 10, ("arm64",))


def test_m7g_large_worked_example() -> None:
    """m7g.large: 2 vCPU, 8192 MiB, 3 ENIs x 10 IPv4 addresses, arm64.

    maxPods: 3 x (10 - 1) + 2 = 29; 2 vCPUs <= 30, so the cap is 110: min(110, 29) = 29.
    kubeReserved CPU: 6% of the first core = 60m, 1% of the second = 10m: 70m.
    Per-node system DaemonSets: aws-node 50m + kube-proxy 100m + eks-pod-identity-agent 0m
    + ebs-csi-node 30m = 180m.
    allocatableMilliCpu: 2000 - 70 - 180 = 1750.
    """
    entry = catalog.item(M7G_LARGE)
    assert entry == operation.InstanceTypeItem(
        provider="aws", instanceType="m7g.large", vCpus=2, memoryMiB=8192, architecture="arm64", gpuCount=0,
        instanceFamily="m7g", maxPods=29, group="general", allocatableMilliCpu=1750)


# (ENIs, IPv4 per ENI, vCPUs) -> maxPods; the EKS AMI's eni-max-pods.txt value in the comment.
@pytest.mark.parametrize(("enis", "ipv4", "vcpus", "expected"), [
    (3, 10, 2, 29),       # m7g.large / m5.large: 29
    (2, 2, 2, 4),         # t3.micro: 4
    (2, 4, 2, 8),         # t3a.small: 8
    (4, 3, 4, 10),        # d3.xlarge: 10
    (8, 30, 16, 110),     # m5.4xlarge: 234, capped at 110 (16 vCPUs)
    (15, 50, 30, 110),    # 737 with exactly 30 vCPUs: still the low ceiling ("-gt 30")
    (15, 50, 31, 250),    # 737 with 31 vCPUs: the high ceiling
    (15, 50, 96, 250),    # m5.24xlarge: 737, capped at 250
    (2, 50, 192, 100),    # p5.48xlarge (default card only): 100, under the cap
    (1, 1, 1, 2),         # degenerate: only the two host-network pods
])
def test_max_pods(enis: int, ipv4: int, vcpus: int, expected: int) -> None:
    assert catalog.max_pods(enis, ipv4, vcpus) == expected


def test_eni_max_pods_is_uncapped() -> None:
    assert catalog.eni_max_pods(15, 50) == 737
    assert catalog.eni_max_pods(3, 10) == 29


def test_max_pods_counts_the_default_network_card_only() -> None:
    """p5.48xlarge: 2 ENIs on card 0 (of 32 cards); EKS lists 100, not 32 x 2 x 49 + 2."""
    p5 = raw_type("p5.48xlarge", 192, 2097152, 64, 50, gpus=(8,), cards=(2,) * 32)
    entry = catalog.item(p5)
    assert entry is not None
    assert entry.maxPods == 100
    assert entry.gpuCount == 8
    assert entry.group == "accelerated"


# vCPUs -> kubeReserved millicores (each band truncated to whole millicores, as the EKS AMI does).
@pytest.mark.parametrize(("vcpus", "expected"), [
    (1, 60),              # 6% of 1000
    (2, 70),              # + 1% of 1000
    (3, 75),              # + 0.5% of 1000
    (4, 80),              # + 0.5% of 2000
    (5, 82),              # + 0.25% of 1000 = 2.5, truncated
    (8, 90),              # + 0.25% of 4000
    (16, 110),            # + 0.25% of 12000
    (96, 310),            # + 0.25% of 92000
    (192, 550),           # + 0.25% of 188000
])
def test_kube_reserved_milli_cpu(vcpus: int, expected: int) -> None:
    assert catalog.kube_reserved_milli_cpu(vcpus) == expected


@pytest.mark.parametrize(("vcpus", "expected"), [
    (1, 1000 - 60 - 180),
    (2, 2000 - 70 - 180),
    (4, 4000 - 80 - 180),
    (16, 16000 - 110 - 180),
    (96, 96000 - 310 - 180),
])
def test_allocatable_milli_cpu(vcpus: int, expected: int) -> None:
    assert catalog.allocatable_milli_cpu(vcpus) == expected


def test_allocatable_milli_cpu_is_never_negative() -> None:
    assert catalog.allocatable_milli_cpu(1, system_milli_cpu_per_node=5000) == 0


@pytest.mark.parametrize(("family", "expected"), [
    ("m7g", "general"), ("m7i-flex", "general"), ("t3", "general"), ("t4g", "general"), ("a1", "general"),
    ("mac2-m2", "general"),
    ("c7g", "compute"), ("c6in", "compute"), ("hpc7g", "compute"), ("hpc6id", "compute"),
    ("r7g", "memory"), ("x2gd", "memory"), ("x8aedz", "memory"), ("z1d", "memory"), ("u-6tb1", "memory"),
    ("u7in-16tb", "memory"),
    ("i4i", "storage"), ("im4gn", "storage"), ("is4gen", "storage"), ("d3en", "storage"), ("h1", "storage"),
    ("g5", "accelerated"), ("g5g", "accelerated"), ("gr6", "accelerated"), ("p5", "accelerated"),
    ("p6-b200", "accelerated"), ("f2", "accelerated"), ("inf2", "accelerated"), ("trn1n", "accelerated"),
    ("dl2q", "accelerated"), ("vt1", "accelerated"),
    ("bmn-sf1", "other"),
])
def test_group(family: str, expected: str) -> None:
    assert catalog.group(family) == expected


@pytest.mark.parametrize(("name", "family"), [
    ("m7g.large", "m7g"), ("c7i-flex.large", "c7i-flex"), ("u-6tb1.metal", "u-6tb1"),
    ("p6-b200.48xlarge", "p6-b200"), ("m7i.metal-48xl", "m7i"),
])
def test_instance_family(name: str, family: str) -> None:
    assert catalog.instance_family(name) == family


@pytest.mark.parametrize(("supported", "expected"), [
    (["arm64"], "arm64"),
    (["x86_64"], "x86_64"),
    (["i386", "x86_64"], "x86_64"),
    (["x86_64", "arm64"], "arm64"),
    (["arm64_mac"], None),
    (["x86_64_mac"], None),
    ([], None),
])
def test_architecture(supported: list[str], expected: str | None) -> None:
    assert catalog.architecture(supported) == expected


def test_gpu_count_sums_every_gpu_entry() -> None:
    assert catalog.gpu_count(raw_type("g4dn.12xlarge", 48, 196608, 8, 30, gpus=(4,))) == 4
    assert catalog.gpu_count(raw_type("x.mixed", 8, 1024, 2, 2, gpus=(2, 1))) == 3
    assert catalog.gpu_count(M7G_LARGE) == 0


def test_mac_only_types_are_left_out() -> None:
    mac = raw_type("mac2-m2.metal", 8, 24576, 8, 30, ("arm64_mac",))
    assert catalog.item(mac) is None
    assert [e.instanceType for e in catalog.items([mac, M7G_LARGE])] == ["m7g.large"]


def test_items_sorted_by_family_then_size() -> None:
    raws = [raw_type("m7g.xlarge", 4, 16384, 4, 15, ("arm64",)), raw_type("c7g.large", 2, 4096, 3, 10, ("arm64",)),
            M7G_LARGE, raw_type("m7g.medium", 1, 4096, 2, 4, ("arm64",))]
    assert [e.instanceType for e in catalog.items(raws)] == ["c7g.large", "m7g.medium", "m7g.large", "m7g.xlarge"]


def test_result_is_the_seed_shape() -> None:
    result = catalog.result([M7G_LARGE])
    assert isinstance(result, operation.OperationResult)
    body = result.model_dump(exclude_none=True)
    assert set(body) == {"items", "metadata"}
    assert set(body["items"][0]) == {"provider", "instanceType", "vCpus", "memoryMiB", "architecture", "gpuCount",
                                     "instanceFamily", "maxPods", "group", "allocatableMilliCpu"}
    assert operation.OperationResult.model_validate(body) == result


def test_metadata_constants() -> None:
    meta = catalog.metadata()
    assert meta == operation.InstanceTypeMetadata(
        provider="aws", systemPodsPerNode=4, systemPodsPerSystemNode=4, systemPodsFixed=7,
        systemPodsPerNodeMargin=2, systemPodsFixedMargin=2, systemMilliCPUPerNode=180, systemMilliCPUFixed=2420,
        karpenterMilliCPUPerReplica=1000, karpenterReplicas=2)
    assert operation.InstanceTypeMetadata.model_validate(meta.model_dump()) == meta


def test_metadata_adds_up_from_the_documented_pods() -> None:
    meta = catalog.metadata()
    assert meta.systemPodsPerNode == len(catalog.PER_NODE_DAEMONSETS)
    assert meta.systemMilliCPUPerNode == sum(p.milli_cpu for p in catalog.PER_NODE_DAEMONSETS)
    assert meta.systemPodsFixed == sum(p.replicas for p in catalog.FIXED_PODS)
    assert meta.systemMilliCPUFixed == sum(p.replicas * p.milli_cpu for p in catalog.FIXED_PODS)
    # Karpenter is part of the fixed totals and broken out on its own.
    assert catalog.KARPENTER in catalog.FIXED_PODS
    assert meta.karpenterReplicas * meta.karpenterMilliCPUPerReplica <= meta.systemMilliCPUFixed
    assert all(p.source for p in (*catalog.PER_NODE_DAEMONSETS, *catalog.FIXED_PODS))


def test_models_refuse_an_incomplete_entry() -> None:
    with pytest.raises(pydantic.ValidationError):
        operation.InstanceTypeItem.model_validate({"provider": "aws", "instanceType": "m7g.large"})
    with pytest.raises(pydantic.ValidationError):
        operation.InstanceTypeMetadata.model_validate({**catalog.metadata().model_dump(), "extra": 1})


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_catalog_known_and_ttl() -> None:
    clock = FakeClock()
    cache = catalog.Catalog(clock=clock)
    assert cache.known("CONN000001", "us-east-1", "m7g.large") is None
    cache.put("CONN000001", "us-east-1", catalog.items([M7G_LARGE]))
    assert cache.known("CONN000001", "us-east-1", "m7g.large") is True
    assert cache.known("CONN000001", "us-east-1", "m7g.huge") is False
    assert cache.known("CONN000001", "eu-west-1", "m7g.large") is None
    assert cache.known("CONN000002", "us-east-1", "m7g.large") is None
    assert cache.instance_types("CONN000001", "us-east-1") == frozenset({"m7g.large"})

    clock.now += catalog.DEFAULT_TTL_SECONDS - 1
    assert cache.known("CONN000001", "us-east-1", "m7g.large") is True
    clock.now += 1
    assert cache.known("CONN000001", "us-east-1", "m7g.large") is None
    assert cache.items("CONN000001", "us-east-1") is None


def test_catalog_put_refreshes_and_forget_drops_a_connection() -> None:
    clock = FakeClock()
    cache = catalog.Catalog(ttl_seconds=60, clock=clock)
    cache.put("CONN000001", "us-east-1", [])
    cache.put("CONN000001", "eu-west-1", catalog.items([M7G_LARGE]))
    cache.put("CONN000002", "us-east-1", catalog.items([M7G_LARGE]))
    assert cache.known("CONN000001", "us-east-1", "m7g.large") is False    # an empty catalog is still an answer
    clock.now += 59
    cache.put("CONN000001", "us-east-1", catalog.items([M7G_LARGE]))
    clock.now += 30
    assert cache.known("CONN000001", "us-east-1", "m7g.large") is True     # stored again 30 s ago
    assert cache.known("CONN000001", "eu-west-1", "m7g.large") is None     # stored 89 s ago
    cache.forget("CONN000001")
    assert cache.known("CONN000001", "us-east-1", "m7g.large") is None
    assert cache.items("CONN000002", "us-east-1") is None                   # expired too (89 s)


# requested, catalog -> field error (None: all known)
@pytest.mark.parametrize(("requested", "known", "expected"), [
    (["m7g.large", "m7g.xlarge"], {"m7g.large", "m7g.xlarge", "c7g.large"}, None),
    ([], {"m7g.large"}, None),
    (["m7g.huge"], {"m7g.large"},
     "config.systemNodeGroup.instanceTypes: m7g.huge is not an instance type EKS nodes can use "
     "in the Connection's region"),
    (["m7g.large", "zz9.big", "m7g.huge", "zz9.big"], {"m7g.large"},
     "config.systemNodeGroup.instanceTypes: zz9.big, m7g.huge are not instance types EKS nodes can use "
     "in the Connection's region"),
])
def test_unknown_instance_types(requested: list[str], known: set[str], expected: str | None) -> None:
    assert catalog.unknown_instance_types(requested, known) == expected


def test_unknown_instance_types_names_the_region() -> None:
    message = catalog.unknown_instance_types(["mac2.metal"], {"m7g.large"}, region="eu-west-1")
    assert message == ("config.systemNodeGroup.instanceTypes: mac2.metal is not an instance type EKS nodes can "
                       "use in eu-west-1")


@pytest.fixture()
def stubbed_ec2(monkeypatch: pytest.MonkeyPatch) -> collections.abc.Iterator[botocore.stub.Stubber]:
    client = boto3.client("ec2", region_name="eu-west-1", aws_access_key_id="AKIDEXAMPLE",
                          aws_secret_access_key="not-a-secret", endpoint_url="http://127.0.0.1:9")
    regions: list[str | None] = []

    def fake_client(sess: boto3.Session, service: str, region: str | None = None) -> Any:
        assert service == "ec2"
        regions.append(region)
        return client

    monkeypatch.setattr(sessions, "client", fake_client)
    with botocore.stub.Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()
    assert regions == ["eu-west-1"]


def test_ec2_instance_types_reads_every_page(stubbed_ec2: botocore.stub.Stubber) -> None:
    stubbed_ec2.add_response("describe_instance_types",
                             {"InstanceTypes": [{"InstanceType": "m7g.large"}], "NextToken": "page-2"},
                             {"MaxResults": 100})
    stubbed_ec2.add_response("describe_instance_types", {"InstanceTypes": [{"InstanceType": "c7g.large"}]},
                             {"MaxResults": 100, "NextToken": "page-2"})
    out = ec2.instance_types(boto3.Session(region_name="eu-west-1"), "eu-west-1")
    assert [t["InstanceType"] for t in out] == ["m7g.large", "c7g.large"]


def test_ec2_instance_types_errors_are_cloud_errors(stubbed_ec2: botocore.stub.Stubber) -> None:
    stubbed_ec2.add_client_error("describe_instance_types", service_error_code="UnauthorizedOperation",
                                 service_message="You are not authorized to perform this operation.",
                                 http_status_code=403)
    with pytest.raises(cloud_errors.CloudError) as raised:
        ec2.instance_types(boto3.Session(region_name="eu-west-1"), "eu-west-1")
    assert raised.value.code == "UnauthorizedOperation"
    assert raised.value.status == 403
    assert raised.value.retryable is False
