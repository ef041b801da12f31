"""`POST /infra/connections/{c}/clusters/{k}` field by field, against a cluster the operator built in moto:
each update sends one field; the stored spec changes in that field only, and in EKS (moto, and the
test plugin's state for what moto lacks) the other settings stay: the public endpoint keeps its CIDRs
and the node group is not replaced unless the field is one EKS replaces it for (name, instance types,
disk size). The first update is the one that used to reset diskSizeGb and publicAccessCidrs: a
`config` leaving them out. docs/rest-api-guide.md ("Updates") has the rule as a table."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import kubernetes
import pytest

from fleetyard.models import kinds
from tests.conftest import get, wait_for
from tests.e2e import connections, infra, rest

pytestmark = pytest.mark.timeout(900)

CIDRS = ["203.0.113.0/24", "198.51.100.0/24"]
CREATE = {"name": "Update Story", "region": "us-east-1", "access": {"teams": ["blue"]}, "config": {
    "kubernetesVersion": "1.34", "publicAccessCidrs": CIDRS,
    "systemNodeGroup": {"name": "system", "instanceTypes": ["m7g.large"], "minSize": 1, "maxSize": 3,
                        "desiredSize": 2, "diskSizeGb": 50}}}


@dataclasses.dataclass
class Story:
    namespace: str
    path: str
    tokens: dict[str, str]
    custom: Any
    name: str = "update-story"

    def spec(self) -> dict[str, Any]:
        return get(self.custom, self.namespace, kinds.PROVISIONED_CLUSTER, self.name)["spec"]

    def status(self) -> dict[str, Any]:
        return get(self.custom, self.namespace, kinds.PROVISIONED_CLUSTER, self.name)["status"]


@pytest.fixture(scope="module")
def story(env) -> Story:
    namespace = connections.organization(env, "restupd")
    custom = kubernetes.client.CustomObjectsApi(env.api)
    infra.network(custom, namespace, cidr="10.121.0.0/20")
    infra.phase_is(custom, namespace, kinds.NETWORK, "net", "active")
    for team in ("blue", "green"):
        rest.team(custom, namespace, team, members=[rest.username(namespace, f"{team}-dev")])
    tokens = {"admin": rest.user(env, namespace, "ops", "fleetyard-admin"),
              "green": rest.user(env, namespace, "green-dev")}
    connection = rest.seed_id(custom, namespace, kinds.CONNECTION, "prod")
    base = f"/infra/connections/{connection}/clusters"
    with rest.client(env, tokens["admin"]) as api:
        created = api.post(base, json={**CREATE, "connectionId": connection,
                                       "networkId": rest.seed_id(custom, namespace, kinds.NETWORK, "net")})
    assert created.status_code == 201, created.text
    assert created.json()["access"] == {"teams": ["blue"]}
    found = Story(namespace, f"{base}/{created.json()['id']}", tokens, custom)
    infra.phase_is(custom, namespace, kinds.PROVISIONED_CLUSTER, found.name, "active")
    return found


def _eks(env, story: Story) -> dict[str, Any]:
    """What EKS holds for the cluster: version and public CIDRs (the plugin's state keeps the updates moto
    cannot make), and the node group (moto)."""
    name = story.status()["providerMetadata"]["clusterName"]
    eks = infra.aws(env, "eks")
    cluster = eks.describe_cluster(name=name)["cluster"]
    entry = infra.fake_aws_state(env).get("clusters", {}).get(f"us-east-1/{name}", {})
    groups = eks.list_nodegroups(clusterName=name)["nodegroups"]
    assert len(groups) == 1, groups
    group = eks.describe_nodegroup(clusterName=name, nodegroupName=groups[0])["nodegroup"]
    return {
        "version": entry.get("version") or cluster["version"],
        "publicAccessCidrs": (entry.get("vpcConfig") or cluster["resourcesVpcConfig"])["publicAccessCidrs"],
        "nodeGroupArn": group["nodegroupArn"], "instanceTypes": group["instanceTypes"],
        "diskSize": group["diskSize"], "scaling": group["scalingConfig"],
    }


def _set(spec: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    *parents, last = path.split(".")
    node = out
    for part in parents:
        node = node[part]
    node[last] = value
    return out


# (body, the spec field it changes and its new value, whether EKS replaces the node group for it, what
# EKS then shows (a key of `_eks` and its value), in the order sent
UPDATES = [
    # the body: a whole-looking config without diskSizeGb and publicAccessCidrs
    ({"config": {"kubernetesVersion": "1.34", "systemNodeGroup": {
        "name": "system", "instanceTypes": ["m7g.large"], "minSize": 1, "maxSize": 3, "desiredSize": 3}}},
     "config.systemNodeGroup.desiredSize", 3, False, ("scaling", {"minSize": 1, "maxSize": 3, "desiredSize": 3})),
    ({"name": "Update Story, renamed"}, "displayName", "Update Story, renamed", False, None),
    ({"access": {"teams": ["blue", "green"]}}, "access.teams", ["blue", "green"], False, None),
    ({"config": {"systemNodeGroup": {"maxSize": 4}}}, "config.systemNodeGroup.maxSize", 4, False,
     ("scaling", {"minSize": 1, "maxSize": 4, "desiredSize": 3})),
    ({"config": {"systemNodeGroup": {"minSize": 2}}}, "config.systemNodeGroup.minSize", 2, False,
     ("scaling", {"minSize": 2, "maxSize": 4, "desiredSize": 3})),
    ({"config": {"kubernetesVersion": "1.35"}}, "config.kubernetesVersion", "1.35", False, ("version", "1.35")),
    ({"config": {"publicAccessCidrs": ["192.0.2.0/24"]}}, "config.publicAccessCidrs", ["192.0.2.0/24"], False,
     ("publicAccessCidrs", ["192.0.2.0/24"])),
    ({"config": {"systemNodeGroup": {"diskSizeGb": 60}}}, "config.systemNodeGroup.diskSizeGb", 60, True,
     ("diskSize", 60)),
    ({"config": {"systemNodeGroup": {"instanceTypes": [["m7g.xlarge"]]}}}, "config.systemNodeGroup.instanceTypes",
     ["m7g.xlarge"], True, ("instanceTypes", ["m7g.xlarge"])),
    ({"config": {"systemNodeGroup": {"name": "base"}}}, "config.systemNodeGroup.name", "base", True, None),
]


@pytest.mark.parametrize("body,path,value,replaces,shown", UPDATES, ids=[u[1] for u in UPDATES])
def test_one_field_changes_only_that_field(env, story: Story, body, path, value, replaces, shown) -> None:
    before_spec, before_eks = story.spec(), _eks(env, story)
    before_group = story.status()["iacOutputs"]["nodeGroupName"]
    with rest.client(env, story.tokens["admin"]) as api:
        answer = api.post(story.path, json=body)
    assert answer.status_code == 202, answer.text
    wanted = _set(before_spec, path, value)
    assert story.spec() == wanted  # this field, and nothing else
    public = answer.json()
    assert public["config"] == wanted["config"]
    assert public["name"] == wanted["displayName"] and public["access"] == wanted["access"]

    infra.phase_is(story.custom, story.namespace, kinds.PROVISIONED_CLUSTER, story.name, "active")
    after_eks = _eks(env, story)
    expected = {**before_eks, **({shown[0]: shown[1]} if shown else {})}
    if replaces:
        assert after_eks["nodeGroupArn"] != before_eks["nodeGroupArn"]
        assert story.status()["iacOutputs"]["nodeGroupName"] != before_group
        expected["nodeGroupArn"] = after_eks["nodeGroupArn"]
    else:
        assert story.status()["iacOutputs"]["nodeGroupName"] == before_group
    assert after_eks == expected  # the public CIDRs and the rest of EKS as they were


def test_team_access_given_through_the_api_shows_in_me(env, story: Story) -> None:
    """The access extension: the green Team was added above, so its member sees the cluster."""
    cluster_id = story.path.rsplit("/", 1)[-1]

    def mine() -> list[str] | None:
        with rest.client(env, story.tokens["green"]) as api:
            body = api.get("/me/clusters").json()
        ids = [i["externalClusterId"] for i in body["items"]]
        return ids or None
    assert wait_for(mine, 30, "the cluster in green's /me/clusters") == [cluster_id]


def test_updates_are_written_as_the_api_and_refused_without_sending(env, story: Story) -> None:
    """The REST API's writes carry the field manager `fleetyard-api` (what a GitOps apply would conflict
    with), and a body that breaks a rule once merged is refused before anything is written."""
    obj = get(story.custom, story.namespace, kinds.PROVISIONED_CLUSTER, story.name)
    assert "fleetyard-api" in {m["manager"] for m in obj["metadata"]["managedFields"]}
    generation = obj["metadata"]["generation"]
    with rest.client(env, story.tokens["admin"]) as api:
        for body, field in (({"config": {"systemNodeGroup": {"desiredSize": 9}}}, "config.systemNodeGroup.desiredSize"),
                            ({"config": {"kubernetesVersion": "1.34"}}, "config.kubernetesVersion"),
                            ({"access": {"teams": ["red"]}}, "access.teams[0]"),
                            ({"config": {"publicAccessCidrs": None}}, "config.publicAccessCidrs")):
            refused = api.post(story.path, json=body)
            assert refused.status_code == 400 and list(refused.json()["details"]["fieldErrors"]) == [field], \
                refused.text
    assert get(story.custom, story.namespace, kinds.PROVISIONED_CLUSTER, story.name)["metadata"][
        "generation"] == generation


def test_the_connections_catalog_is_the_seeds_operation_result(env, story: Story) -> None:
    """The instance-type catalog extension: the succeeded `listInstanceTypes` Operation of the Connection,
    in the seed's Operation shape, with the items and metadata of its result."""
    connection = story.path.split("/")[3]
    with rest.client(env, story.tokens["admin"]) as api:
        def succeeded() -> dict[str, Any] | None:
            body = api.get(f"/infra/connections/{connection}/instance-types").json()
            return body if body.get("status") == "succeeded" else None
        catalog = wait_for(succeeded, 60, "the catalog Operation to succeed")
    assert catalog["operation"] == "listInstanceTypes" and catalog["resourceType"] == "connection"
    assert catalog["resourceId"] == connection and catalog["organizationId"] == story.namespace
    m7g = next(i for i in catalog["result"]["items"] if i["instanceType"] == "m7g.large")
    assert m7g == {"provider": "aws", "instanceType": "m7g.large", "vCpus": 2, "memoryMiB": 8192,
                   "architecture": "arm64", "gpuCount": 0, "instanceFamily": "m7g", "maxPods": 29,
                   "group": "general", "allocatableMilliCpu": 1750}
    assert catalog["result"]["metadata"]["provider"] == "aws" and catalog["result"]["outputs"] is None
    assert catalog["error"] is None
