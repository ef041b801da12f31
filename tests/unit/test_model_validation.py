"""The REST side of the admission rules: the pydantic models refuse what the CRDs refuse."""

from __future__ import annotations

import pydantic
import pytest

from fleetyard.models import provisioned_cluster, validation
from tests import manifests


@pytest.mark.parametrize("case", manifests.INVALID, ids=[c[0] for c in manifests.INVALID])
def test_invalid_spec_is_refused_naming_the_field(case: tuple) -> None:
    _, kind, path, value, fragment = case
    with pytest.raises(pydantic.ValidationError) as exc:
        kind.spec.model_validate(manifests.with_change(manifests.VALID[kind], path, value))
    assert fragment in str(exc.value)


@pytest.mark.parametrize("kind", list(manifests.VALID), ids=lambda k: k.kind)
def test_valid_samples_pass(kind) -> None:
    kind.spec.model_validate(manifests.VALID[kind])


def test_nested_instance_types_from_the_seed_example_are_flattened() -> None:
    group = provisioned_cluster.NodeGroup.model_validate(
        {"instanceTypes": [["m7g.large", "m7g.xlarge"]], "minSize": 1, "maxSize": 3, "desiredSize": 2})
    assert group.instanceTypes == ["m7g.large", "m7g.xlarge"]
    assert group.model_dump()["instanceTypes"] == ["m7g.large", "m7g.xlarge"]


@pytest.mark.parametrize("old,new,error", [
    ("1.34", "1.35", None), ("1.35", "1.35", None), ("1.35", "1.34", "cannot be lowered"),
    ("1.33", "1.35", "one minor version"), ("1.9", "1.10", None),
])
def test_version_transitions(old: str, new: str, error: str | None) -> None:
    if error is None:
        validation.check_version_transition(old, new)
    else:
        with pytest.raises(ValueError, match=error):
            validation.check_version_transition(old, new)
