"""Which EKS AMI type a node group gets, from the architecture of its instance types.

Pure; called by the cluster program and by admission (a node group may not mix architectures).
Graviton families carry a `g` in the letters after the generation digit (m7g, c6gn, x2gd, im4gn);
GPU families (g4dn, g5, p4d, p5) take the NVIDIA image.
"""

from __future__ import annotations

import re

from fleetyard.models import validation

_FAMILY = re.compile(r"^(?P<series>[a-z]+)(?P<generation>\d+)(?P<options>[a-z-]*)$")
GPU_SERIES = {"g", "p", "gr"}


def architecture(instance_type: str) -> str:
    """`arm64` or `x86_64` for an instance type such as `m7g.large`."""
    return "arm64" if re.match(validation.ARM64_INSTANCE_TYPE_PATTERN, instance_type) else "x86_64"


def is_gpu(instance_type: str) -> bool:
    match = _FAMILY.match(instance_type.split(".", 1)[0])
    return bool(match) and match.group("series") in GPU_SERIES


def ami_type(instance_types: list[str]) -> str:
    """The AL2023 AMI type for a node group; ValueError naming the field when architectures mix."""
    arches = {architecture(t) for t in instance_types}
    if len(arches) > 1:
        by_arch = ", ".join(f"{a}: {', '.join(t for t in instance_types if architecture(t) == a)}"
                            for a in sorted(arches))
        raise ValueError(f"{validation.MIXED_ARCHITECTURES_MESSAGE} ({by_arch})")
    arch = "ARM_64" if arches.pop() == "arm64" else "x86_64"
    flavour = "NVIDIA" if any(is_gpu(t) for t in instance_types) else "STANDARD"
    return f"AL2023_{arch}_{flavour}"
