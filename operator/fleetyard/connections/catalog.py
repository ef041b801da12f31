"""The instance-type catalog: EC2's raw figures turned into the seed's `listInstanceTypes` result.

Pure (no I/O). The `listInstanceTypes` run (`catalog_ops.list_instance_types`) feeds it the items of
`fleetyard.cloud.ec2.instance_types` and stores `result(...)` in the Operation's status; the admission
webhook keeps the answers in a `Catalog` (per Connection and region, with a TTL) and refuses a
ProvisionedCluster whose `config.systemNodeGroup.instanceTypes` names a type the catalog lacks, with
`unknown_instance_types`. The per-node figures (maxPods, allocatableMilliCpu) follow the EKS AMI's own
formulas, cited next to each function; the metadata constants describe fleetyard's own system pods,
each with the manifest its CPU request comes from. Everything is validated through
`models.operation.InstanceTypeItem` / `InstanceTypeMetadata`.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import threading
import time
from typing import Any

from fleetyard.models import operation

PROVIDER = "aws"
INSTANCE_TYPES_FIELD = "config.systemNodeGroup.instanceTypes"
DEFAULT_TTL_SECONDS = 24 * 60 * 60


# --- maxPods ------------------------------------------------------------------------------------
# Source: awslabs/amazon-eks-ami, templates/al2/runtime/max-pods-calculator.sh (and the table it
# generates, nodeadm/internal/kubelet/eni-max-pods.txt):
#   max_pods = ENIs * (IPv4 addresses per ENI - 1) + 2      (no prefix delegation)
# "First IP on each ENI is not used for pods; +2 for the pods that use host-networking (AWS CNI and
# kube-proxy)". ENIs are those of the default network card only ("NetworkCards[DefaultNetworkCardIndex]
# .MaximumNetworkInterfaces"; for multi-card types such as p5.48xlarge the instance total is larger).
# The script then returns its recommended value, capped by vCPUs (VCpuInfo.DefaultVCpus):
#   if [ "$CPU_COUNT" -gt 30 ]; then min(250, max_pods) else min(110, max_pods)
# i.e. 110 up to and including 30 vCPUs, 250 from 31 vCPUs on.
MAX_PODS_CEILING_LOW_CPU = 110
MAX_PODS_CEILING_HIGH_CPU = 250
MAX_PODS_LOW_CPU_LIMIT = 30


def eni_max_pods(enis: int, ipv4_per_eni: int) -> int:
    """The uncapped ENI limit, as in the EKS AMI's eni-max-pods.txt (e.g. m5.24xlarge: 737)."""
    return enis * (ipv4_per_eni - 1) + 2


def max_pods(enis: int, ipv4_per_eni: int, vcpus: int) -> int:
    """The EKS AMI's recommended max-pods: the ENI limit capped at 110 (<= 30 vCPUs) or 250."""
    ceiling = MAX_PODS_CEILING_HIGH_CPU if vcpus > MAX_PODS_LOW_CPU_LIMIT else MAX_PODS_CEILING_LOW_CPU
    return min(ceiling, eni_max_pods(enis, ipv4_per_eni))


# --- allocatable CPU ----------------------------------------------------------------------------
# Source: awslabs/amazon-eks-ami, get_cpu_millicores_to_reserve in bootstrap.sh (AL2) and
# getCPUMillicoresToReserve in nodeadm/internal/kubelet/config.go (AL2023), which take GKE's
# kube-reserved steps: 6% of the first core, 1% of the next core, 0.5% of the next 2 cores, 0.25% of
# any cores above 4. Both compute each band in integer millicores as
# (min(total, end) - start) * basis_points / 10000, truncating per band; so do we, so the value equals
# the kubeReserved.cpu the node's kubelet gets (e.g. 2 vCPU: 60 + 10 = 70m; 5 vCPU: 82m, not 82.5m).
_CPU_RESERVE_BANDS: tuple[tuple[int, int | None, int], ...] = (
    (0, 1000, 600),      # millicores from, to (None: no upper end), basis points (1/100 %)
    (1000, 2000, 100),
    (2000, 4000, 50),
    (4000, None, 25),
)


def kube_reserved_milli_cpu(vcpus: int) -> int:
    """The CPU the EKS AMI reserves for the kubelet and container runtime (kubeReserved.cpu), in millicores."""
    total = vcpus * 1000
    reserved = 0
    for start, end, basis_points in _CPU_RESERVE_BANDS:
        if total > start:
            top = total if end is None else min(total, end)
            reserved += (top - start) * basis_points // 10000
    return reserved


# --- fleetyard's own system pods ----------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SystemPod:
    """One workload fleetyard runs (or budgets for) in every cluster, and where its request comes from."""

    name: str
    replicas: int          # pods per node for a DaemonSet, pods per cluster otherwise
    milli_cpu: int         # CPU request of one pod (all its containers), millicores
    source: str


# DaemonSets: one pod on every node (all tolerate every taint, so system nodes run them too).
PER_NODE_DAEMONSETS: tuple[SystemPod, ...] = (
    SystemPod("aws-node (vpc-cni)", 1, 50,
              "aws/amazon-vpc-cni-k8s charts/aws-vpc-cni: resources.requests.cpu 25m, applied to both the "
              "aws-node and aws-eks-nodeagent containers"),
    SystemPod("kube-proxy", 1, 100, "the EKS kube-proxy add-on's DaemonSet: requests.cpu 100m"),
    SystemPod("eks-pod-identity-agent", 1, 0,
              "aws/eks-pod-identity-agent chart: resources {} (no request; the pod still takes a pod slot)"),
    SystemPod("ebs-csi-node", 1, 30,
              "kubernetes-sigs/aws-ebs-csi-driver chart: node.resources.requests.cpu 10m, which the "
              "node-driver-registrar and liveness-probe sidecars default to: 3 x 10m"),
)
# DaemonSets that run on system nodes only (none today; they would count in systemPodsPerSystemNode).
SYSTEM_NODE_DAEMONSETS: tuple[SystemPod, ...] = ()

KARPENTER = SystemPod("karpenter", 2, 1000,
                      "karpenter chart: replicas 2; the Karpenter getting-started guide sets "
                      "controller.resources.requests.cpu=1 (the chart itself sets none)")
# Cluster-wide Deployments: a fixed number of pods whatever the node count.
FIXED_PODS: tuple[SystemPod, ...] = (
    SystemPod("coredns", 2, 100, "the EKS coredns add-on: 2 replicas, requests.cpu 100m"),
    SystemPod("ebs-csi-controller", 2, 60,
              "kubernetes-sigs/aws-ebs-csi-driver chart: controller.replicaCount 2; ebs-plugin, provisioner, "
              "attacher, snapshotter, resizer and liveness-probe at 10m each: 6 x 10m"),
    SystemPod("metrics-server", 1, 100,
              "kubernetes-sigs/metrics-server chart: replicas 1, resources.requests.cpu 100m"),
    KARPENTER,
)

SYSTEM_PODS_PER_NODE = sum(pod.replicas for pod in PER_NODE_DAEMONSETS)                     # 4
SYSTEM_PODS_PER_SYSTEM_NODE = SYSTEM_PODS_PER_NODE + sum(pod.replicas for pod in SYSTEM_NODE_DAEMONSETS)  # 4
SYSTEM_MILLI_CPU_PER_NODE = sum(pod.replicas * pod.milli_cpu for pod in PER_NODE_DAEMONSETS)  # 180
# The fixed totals include Karpenter; karpenterReplicas / karpenterMilliCPUPerReplica break it out,
# because each replica must fit on one node (they spread across nodes).
SYSTEM_PODS_FIXED = sum(pod.replicas for pod in FIXED_PODS)                                  # 7
SYSTEM_MILLI_CPU_FIXED = sum(pod.replicas * pod.milli_cpu for pod in FIXED_PODS)             # 2420
# Headroom, in pods. Per node: two more DaemonSets (a log shipper and a node exporter are the usual
# additions). Fixed: two surge pods, i.e. two of the Deployments above rolling out at once (a
# rolling update of a 2-replica Deployment surges one pod: maxSurge 25% rounds up to 1).
SYSTEM_PODS_PER_NODE_MARGIN = 2
SYSTEM_PODS_FIXED_MARGIN = 2


def allocatable_milli_cpu(vcpus: int, system_milli_cpu_per_node: int = SYSTEM_MILLI_CPU_PER_NODE) -> int:
    """CPU left for workloads on one node: capacity - kubeReserved - the per-node system DaemonSets.

    Whole millicores (kube_reserved_milli_cpu truncates per band, the rest is exact); never negative.
    """
    return max(0, vcpus * 1000 - kube_reserved_milli_cpu(vcpus) - system_milli_cpu_per_node)


def metadata() -> operation.InstanceTypeMetadata:
    return operation.InstanceTypeMetadata(
        provider=PROVIDER,
        systemPodsPerNode=SYSTEM_PODS_PER_NODE,
        systemPodsPerSystemNode=SYSTEM_PODS_PER_SYSTEM_NODE,
        systemPodsFixed=SYSTEM_PODS_FIXED,
        systemPodsPerNodeMargin=SYSTEM_PODS_PER_NODE_MARGIN,
        systemPodsFixedMargin=SYSTEM_PODS_FIXED_MARGIN,
        systemMilliCPUPerNode=SYSTEM_MILLI_CPU_PER_NODE,
        systemMilliCPUFixed=SYSTEM_MILLI_CPU_FIXED,
        karpenterMilliCPUPerReplica=KARPENTER.milli_cpu,
        karpenterReplicas=KARPENTER.replicas,
    )


# --- classification -----------------------------------------------------------------------------
# Coarse groups from the family's leading letters, after EC2's own categories
# (https://aws.amazon.com/ec2/instance-types/). Longer prefixes are tried first, so dl1 is
# accelerated (not storage like d3) and hpc7g is compute (not storage like h1).
#   general:     m (general purpose), t (burstable), a (first Graviton), mac
#   compute:     c (compute optimised), hpc (HPC optimised)
#   memory:      r, x, z (memory optimised), u (high memory)
#   storage:     i, d, h (storage optimised; im4gn, is4gen too)
#   accelerated: g, p (GPU), f (FPGA), inf, trn (AWS Inferentia/Trainium), dl (Gaudi), vt (video)
#   other:       anything else
_GROUP_PREFIXES: tuple[tuple[str, str], ...] = (
    ("hpc", "compute"), ("inf", "accelerated"), ("trn", "accelerated"), ("mac", "general"),
    ("dl", "accelerated"), ("vt", "accelerated"),
    ("m", "general"), ("t", "general"), ("a", "general"),
    ("c", "compute"),
    ("r", "memory"), ("x", "memory"), ("z", "memory"), ("u", "memory"),
    ("i", "storage"), ("d", "storage"), ("h", "storage"),
    ("g", "accelerated"), ("p", "accelerated"), ("f", "accelerated"),
)
OTHER_GROUP = "other"


def instance_family(instance_type: str) -> str:
    """The part before the dot: m7g.large -> m7g, c7i-flex.large -> c7i-flex, u-6tb1.metal -> u-6tb1."""
    return instance_type.split(".", 1)[0]


def group(family: str) -> str:
    for prefix, name in _GROUP_PREFIXES:
        if family.startswith(prefix):
            return name
    return OTHER_GROUP


def architecture(supported: collections.abc.Sequence[str]) -> str | None:
    """arm64 if EC2 lists it, else x86_64 (i386 types also run x86_64); None for the Mac-only ones.

    EKS nodes run arm64 or x86_64 Linux only, so `x86_64_mac` / `arm64_mac` alone mean no EKS node.
    """
    if "arm64" in supported:
        return "arm64"
    if "x86_64" in supported:
        return "x86_64"
    return None


def gpu_count(raw: collections.abc.Mapping[str, Any]) -> int:
    """Sum of GpuInfo.Gpus[].Count (0 without GpuInfo; Inferentia/Trainium chips are not GPUs)."""
    return sum(int(gpu.get("Count", 0)) for gpu in (raw.get("GpuInfo") or {}).get("Gpus", []))


def _enis(network: collections.abc.Mapping[str, Any]) -> int:
    """ENIs of the default network card (see the maxPods note), else the instance's maximum."""
    cards = network.get("NetworkCards") or []
    index = network.get("DefaultNetworkCardIndex", 0)
    for card in cards:
        if card.get("NetworkCardIndex", 0) == index and "MaximumNetworkInterfaces" in card:
            return int(card["MaximumNetworkInterfaces"])
    return int(network["MaximumNetworkInterfaces"])


def item(raw: collections.abc.Mapping[str, Any]) -> operation.InstanceTypeItem | None:
    """One catalog entry from one DescribeInstanceTypes item; None for types no EKS node can use."""
    arch = architecture((raw.get("ProcessorInfo") or {}).get("SupportedArchitectures") or [])
    if arch is None:
        return None
    name = str(raw["InstanceType"])
    vcpus = int(raw["VCpuInfo"]["DefaultVCpus"])
    network = raw["NetworkInfo"]
    family = instance_family(name)
    return operation.InstanceTypeItem.model_validate({
        "provider": PROVIDER,
        "instanceType": name,
        "vCpus": vcpus,
        "memoryMiB": int(raw["MemoryInfo"]["SizeInMiB"]),
        "architecture": arch,
        "gpuCount": gpu_count(raw),
        "instanceFamily": family,
        "maxPods": max_pods(_enis(network), int(network["Ipv4AddressesPerInterface"]), vcpus),
        "group": group(family),
        "allocatableMilliCpu": allocatable_milli_cpu(vcpus),
    })


def items(raws: collections.abc.Iterable[collections.abc.Mapping[str, Any]]) -> list[operation.InstanceTypeItem]:
    """The catalog entries, sorted by family, then size (vCPUs, memory), then name."""
    out = [entry for entry in (item(raw) for raw in raws) if entry is not None]
    return sorted(out, key=lambda e: (e.instanceFamily, e.vCpus, e.memoryMiB, e.instanceType))


def result(raws: collections.abc.Iterable[collections.abc.Mapping[str, Any]]) -> operation.OperationResult:
    """The `listInstanceTypes` Operation's status.result."""
    return operation.OperationResult(items=items(raws), metadata=metadata())


# --- admission ----------------------------------------------------------------------------------
def unknown_instance_types_refusal(requested: list[str], catalog_types: collections.abc.Set[str],
                                   region: str | None = None) -> str | None:
    """Why the requested types the catalog lacks (in request order, once each) cannot be used, without
    the field name (the REST API's fieldErrors value), or None."""
    unknown = [name for name in dict.fromkeys(requested) if name not in catalog_types]
    if not unknown:
        return None
    where = f"in {region}" if region else "in the Connection's region"
    if len(unknown) == 1:
        return f"{unknown[0]} is not an instance type EKS nodes can use {where}"
    return f"{', '.join(unknown)} are not instance types EKS nodes can use {where}"


def unknown_instance_types(requested: list[str], catalog_types: collections.abc.Set[str],
                           region: str | None = None) -> str | None:
    """The field error (admission's message) for requested types the catalog lacks, or None."""
    refusal = unknown_instance_types_refusal(requested, catalog_types, region)
    return f"{INSTANCE_TYPES_FIELD}: {refusal}" if refusal else None


@dataclasses.dataclass(frozen=True)
class _Entry:
    stored_at: float
    items: tuple[operation.InstanceTypeItem, ...]
    names: frozenset[str]


class Catalog:
    """Catalog entries per (Connection id, region), each kept `ttl_seconds` after it was stored.

    Thread-safe. `clock` returns seconds (monotonic by default; tests pass a fake one).
    """

    def __init__(self, ttl_seconds: float = DEFAULT_TTL_SECONDS,
                 clock: collections.abc.Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()

    def put(self, connection_id: str, region: str,
            entries: collections.abc.Iterable[operation.InstanceTypeItem]) -> None:
        stored = tuple(entries)
        with self._lock:
            self._entries[(connection_id, region)] = _Entry(
                self._clock(), stored, frozenset(e.instanceType for e in stored))

    def _fresh(self, connection_id: str, region: str) -> _Entry | None:
        key = (connection_id, region)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self._clock() - entry.stored_at >= self._ttl:
                del self._entries[key]
                entry = None
            return entry

    def items(self, connection_id: str, region: str) -> list[operation.InstanceTypeItem] | None:
        """The cached entries, or None when nothing (fresh) is cached for that key."""
        entry = self._fresh(connection_id, region)
        return None if entry is None else list(entry.items)

    def instance_types(self, connection_id: str, region: str) -> frozenset[str] | None:
        entry = self._fresh(connection_id, region)
        return None if entry is None else entry.names

    def known(self, connection_id: str, region: str, instance_type: str) -> bool | None:
        """Whether the cached catalog has that type; None when nothing (fresh) is cached for that key."""
        names = self.instance_types(connection_id, region)
        return None if names is None else instance_type in names

    def forget(self, connection_id: str) -> None:
        """Drop every region of one Connection (it was deleted, or its role changed)."""
        with self._lock:
            for key in [k for k in self._entries if k[0] == connection_id]:
                del self._entries[key]
