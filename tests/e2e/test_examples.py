"""Every sample organization in examples/ applies cleanly and everything in it becomes active (the
Connection, then the Network and the ProvisionedCluster built through Pulumi), exactly as `make run`
does it."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.timeout(600)

from fleetyard.devenv import samples, tools
from fleetyard.models import kinds
from tests.conftest import wait_for

EXAMPLES = tools.repo_root() / "examples"


@pytest.mark.parametrize("org", samples.organizations(EXAMPLES), ids=lambda p: p.name)
def test_example_organization_comes_up(env, custom, org) -> None:
    namespace = samples.apply_organization(env, org, f"ex-{org.name}-{uuid.uuid4().hex[:5]}")
    for kind in (kinds.CONNECTION, kinds.NETWORK, kinds.PROVISIONED_CLUSTER, kinds.TEAM):
        items = custom.list_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kind.plural)["items"]
        assert items, f"no {kind.kind} in {org.name}"
        for obj in items:
            assert len(obj["metadata"]["labels"][kinds.ID_LABEL]) == 10

    def active(kind: kinds.Kind):
        def probe():
            items = custom.list_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kind.plural)["items"]
            return all((i.get("status") or {}).get("status") == "active" for i in items) and items
        return probe
    wait_for(active(kinds.CONNECTION), 20, f"the {org.name} Connection to be active")
    for kind in (kinds.NETWORK, kinds.PROVISIONED_CLUSTER):
        wait_for(active(kind), 240, f"the {org.name} {kind.kind} to be active")
