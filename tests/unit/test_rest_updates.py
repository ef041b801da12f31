"""The update rule of `POST /infra/connections/{c}/clusters/{k}`, field by field: what a partial body
changes in the spec (and only that), and the bodies refused before anything is sent."""

from __future__ import annotations

import copy
from typing import Any

import pydantic
import pytest

from fleetyard.models import api
from fleetyard.rest import cluster_updates, errors

SPEC = {
    "connectionRef": {"name": "prod"}, "networkRef": {"name": "net"}, "displayName": "Prod", "region": "us-east-1",
    "desiredState": "Provisioned", "access": {"teams": ["blue"]},
    "config": {"kubernetesVersion": "1.34", "publicAccessCidrs": ["203.0.113.0/24", "198.51.100.0/24"],
               "systemNodeGroup": {"name": "system", "instanceTypes": ["m7g.large", "m7g.xlarge"], "minSize": 1,
                                   "maxSize": 3, "desiredSize": 2, "diskSizeGb": 50}},
}
TEAMS = ["blue", "green"]


def _changed(path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(SPEC)
    *parents, last = path.split(".")
    node = out
    for part in parents:
        node = node[part]
    node[last] = value
    return out


# (body, the spec after the update): one row per field the body can hold, and the empty ones
CASES = [
    ({}, SPEC),
    ({"config": {}}, SPEC),
    ({"config": {"systemNodeGroup": {}}}, SPEC),
    ({"name": "Renamed"}, _changed("displayName", "Renamed")),
    ({"config": {"kubernetesVersion": "1.35"}}, _changed("config.kubernetesVersion", "1.35")),
    ({"config": {"systemNodeGroup": {"name": "base"}}}, _changed("config.systemNodeGroup.name", "base")),
    ({"config": {"systemNodeGroup": {"instanceTypes": ["m7g.2xlarge"]}}},  # a list is replaced whole
     _changed("config.systemNodeGroup.instanceTypes", ["m7g.2xlarge"])),
    ({"config": {"systemNodeGroup": {"instanceTypes": [["c7g.large"]]}}},  # the seed's nested form
     _changed("config.systemNodeGroup.instanceTypes", ["c7g.large"])),
    ({"config": {"systemNodeGroup": {"minSize": 2}}}, _changed("config.systemNodeGroup.minSize", 2)),
    ({"config": {"systemNodeGroup": {"maxSize": 5}}}, _changed("config.systemNodeGroup.maxSize", 5)),
    ({"config": {"systemNodeGroup": {"desiredSize": 3}}}, _changed("config.systemNodeGroup.desiredSize", 3)),
    ({"config": {"systemNodeGroup": {"diskSizeGb": 80}}}, _changed("config.systemNodeGroup.diskSizeGb", 80)),
    ({"config": {"publicAccessCidrs": ["192.0.2.0/24"]}}, _changed("config.publicAccessCidrs", ["192.0.2.0/24"])),
    ({"config": {"publicAccessCidrs": []}}, _changed("config.publicAccessCidrs", [])),  # explicit: open
    ({"access": {"teams": ["green"]}}, _changed("access.teams", ["green"])),
    ({"access": {"teams": []}}, _changed("access.teams", [])),
    ({"access": {}}, SPEC),
]


def _apply(body: dict[str, Any]) -> dict[str, Any]:
    patch = cluster_updates.patch_of(api.ClusterUpdate.model_validate(body))
    cluster_updates.check(SPEC, patch, TEAMS)
    return cluster_updates.merged(SPEC, patch)


@pytest.mark.parametrize("body,after", CASES, ids=[str(c[0]) for c in CASES])
def test_a_field_given_replaces_it_and_a_field_left_out_is_kept(body: dict[str, Any], after: dict[str, Any]) -> None:
    assert _apply(body) == after


def test_the_patch_holds_only_what_the_body_gave() -> None:
    """What the apiserver merges: a stale copy of the other fields is never sent back."""
    body = api.ClusterUpdate.model_validate({"config": {"systemNodeGroup": {"desiredSize": 3}}})
    assert cluster_updates.patch_of(body) == {"config": {"systemNodeGroup": {"desiredSize": 3}}}
    assert cluster_updates.patch_of(api.ClusterUpdate.model_validate({})) == {}


# (body, the field named in fieldErrors, a fragment of its message)
REFUSED = [
    ({"config": {"systemNodeGroup": {"desiredSize": 9}}}, "config.systemNodeGroup.desiredSize", "between"),
    ({"config": {"systemNodeGroup": {"minSize": 4}}}, "config.systemNodeGroup.minSize", "must not exceed"),
    ({"config": {"systemNodeGroup": {"instanceTypes": ["m7g.large", "m5.large"]}}},
     "config.systemNodeGroup.instanceTypes", "mix CPU architectures"),
    ({"config": {"systemNodeGroup": {"instanceTypes": ["large"]}}}, "config.systemNodeGroup.instanceTypes",
     "is not an instance type"),
    ({"config": {"kubernetesVersion": "1.33"}}, "config.kubernetesVersion", "cannot be lowered"),
    ({"config": {"kubernetesVersion": "1.36"}}, "config.kubernetesVersion", "one minor version"),
    ({"access": {"teams": ["blue", "red"]}}, "access.teams[1]", "no Team red"),
]


@pytest.mark.parametrize("body,field,fragment", REFUSED, ids=[c[1] for c in REFUSED])
def test_a_merged_spec_that_breaks_a_rule_is_refused(body: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(errors.ApiError) as exc:
        _apply(body)
    assert exc.value.status == 400 and fragment in exc.value.field_errors[field]


# bodies the model itself refuses: (body, field, message fragment)
MALFORMED = [
    ({"name": None}, "name", "not null (leave the field out"),
    ({"config": {"publicAccessCidrs": None}}, "config.publicAccessCidrs", "not null"),
    ({"config": {"systemNodeGroup": {"desiredSize": "3"}}}, "config.systemNodeGroup.desiredSize",
     "must be an integer, not a string"),
    ({"config": {"systemNodeGroup": {"minSize": True}}}, "config.systemNodeGroup.minSize", "not a boolean"),
    ({"config": {"systemNodeGroup": {"maxSize": 3.0}}}, "config.systemNodeGroup.maxSize", "not a number"),
    ({"name": 5}, "name", "must be a string, not a number"),
    ({"name": "Prod\u202eexe.gnp"}, "name", "bidi"),
    ({"config": {"publicAccessCidrs": ["192.0.2.0/24", "198.51.100.9/24"]}}, "config.publicAccessCidrs[1]",
     "host bits"),
    ({"config": {"systemNodeGroup": {"minSize": -1}}}, "config.systemNodeGroup.minSize", "greater than or equal"),
    ({"config": {"zones": 3}}, "config.zones", "is not a known field"),
]


@pytest.mark.parametrize("body,field,fragment", MALFORMED, ids=[c[1] for c in MALFORMED])
def test_a_malformed_body_names_its_field(body: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(pydantic.ValidationError) as exc:
        api.ClusterUpdate.model_validate(body)
    fields = errors.field_errors(exc.value.errors())
    assert fragment in fields[field], fields
