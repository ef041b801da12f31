"""Kubernetes versions and instance types the region does not offer are refused before anything is
stored: at admission (a `kubectl apply` / `kubectl patch`) and by the REST API (the seed's 400 with
`fieldErrors` naming the field), each message listing the versions EKS offers in the region as EKS
DescribeClusterVersions answers them (moto's, emulated by the test bed's `moto_main`). A version EKS
offers is accepted; an upgrade one minor up to a version EKS does not offer yet is refused. The
clusters are Pending records on a Network that does not exist: nothing is built. (The fallback list,
used when EKS cannot be asked: tests/unit/test_eks_versions.py.)"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from typing import Any

import kubernetes
import pytest
import yaml

from fleetyard.devenv import tools
from fleetyard.models import kinds
from tests.conftest import get, wait_for
from tests.e2e import connections, infra, rest

pytestmark = pytest.mark.timeout(300)

VERSION_FIELD = "config.kubernetesVersion"
TYPES_FIELD = "config.systemNodeGroup.instanceTypes"


def _manifest(name: str, version: str, instance_types: tuple[str, ...] = ("m7g.large",)) -> dict[str, Any]:
    return {"apiVersion": kinds.API_VERSION, "kind": "ProvisionedCluster", "metadata": {"name": name},
            "spec": {"connectionRef": {"name": "prod"}, "networkRef": {"name": "net"}, "displayName": name,
                     "region": "us-east-1", "desiredState": "Pending", "config": {
                         "kubernetesVersion": version, "systemNodeGroup": {
                             "instanceTypes": list(instance_types), "minSize": 1, "maxSize": 2, "desiredSize": 1}}}}


@dataclasses.dataclass(frozen=True)
class Org:
    namespace: str
    token: str
    connection: str
    allowed: str  # "1.32, 1.33, ...": what EKS answers for us-east-1
    custom: kubernetes.client.CustomObjectsApi
    kubeconfig: str

    @property
    def base(self) -> str:
        return f"/infra/connections/{self.connection}/clusters"

    def kubectl(self, tmp_path, *args: str, manifest: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
        extra = []
        if manifest is not None:
            path = tmp_path / f"{manifest['metadata']['name']}.yaml"
            path.write_text(yaml.safe_dump(manifest))
            extra = [f"--filename={path}"]
        return subprocess.run([str(tools.tool_path("kubectl")), *args, "-n", self.namespace, *extra],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "KUBECONFIG": self.kubeconfig})

    def exists(self, name: str) -> bool:
        try:
            get(self.custom, self.namespace, kinds.PROVISIONED_CLUSTER, name)
        except kubernetes.client.ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True


@pytest.fixture(scope="module")
def org(env) -> Org:
    """An active Connection whose catalog was listed (its role may call EC2), and what EKS offers."""
    namespace = connections.organization(env, "versions")
    custom = kubernetes.client.CustomObjectsApi(env.api)

    def listed() -> bool:
        ops = [o for o in infra.operations(custom, namespace, "prod", kind="Connection")
               if o["spec"]["operation"] == "listInstanceTypes"]
        return bool(ops) and (ops[-1].get("status") or {}).get("status") == "succeeded"
    wait_for(listed, 120, "the catalog Operation to succeed")
    answered = infra.aws(env, "eks").describe_cluster_versions(clusterType="eks")["clusterVersions"]
    offered = [v["clusterVersion"] for v in answered if v["versionStatus"] != "UNSUPPORTED"]
    assert "1.36" in offered and "1.37" not in offered and "1.99" not in offered, offered
    return Org(namespace, rest.user(env, namespace, "ops", "fleetyard-editor"),
               rest.seed_id(custom, namespace, kinds.CONNECTION, "prod"),
               ", ".join(sorted(offered, key=lambda v: tuple(int(p) for p in v.split(".")))),
               custom, str(env.kubeconfig))


def _allowed_message(org: Org, version: str) -> str:
    return (f"{version} is not a Kubernetes version EKS offers in us-east-1; allowed: {org.allowed} "
            "(from EKS DescribeClusterVersions)")


def test_kubectl_apply_refuses_a_version_eks_does_not_offer_and_lists_the_allowed(org: Org, tmp_path) -> None:
    applied = org.kubectl(tmp_path, "apply", manifest=_manifest("v199", "1.99"))
    assert applied.returncode != 0
    assert f"{VERSION_FIELD}: {_allowed_message(org, '1.99')}" in applied.stderr, applied.stderr
    assert not org.exists("v199")


def test_a_version_eks_offers_is_accepted(org: Org, tmp_path) -> None:
    for name, version in (("v135", "1.35"), ("v136", "1.36")):
        applied = org.kubectl(tmp_path, "apply", manifest=_manifest(name, version))
        assert applied.returncode == 0, applied.stderr
        assert get(org.custom, org.namespace, kinds.PROVISIONED_CLUSTER, name)["spec"]["config"][
            "kubernetesVersion"] == version


def test_an_upgrade_to_a_version_eks_does_not_offer_is_refused(env, org: Org, tmp_path) -> None:
    """One minor up (what the CEL transition rule allows), but EKS has no 1.37 yet: kubectl and REST refuse."""
    org.kubectl(tmp_path, "apply", manifest=_manifest("v136", "1.36"))
    patched = org.kubectl(tmp_path, "patch", "provisionedcluster", "v136", "--type=merge",
                          "-p", '{"spec": {"config": {"kubernetesVersion": "1.37"}}}')
    assert patched.returncode != 0
    assert f"{VERSION_FIELD}: {_allowed_message(org, '1.37')}" in patched.stderr, patched.stderr

    cluster_id = rest.seed_id(org.custom, org.namespace, kinds.PROVISIONED_CLUSTER, "v136")
    generation = get(org.custom, org.namespace, kinds.PROVISIONED_CLUSTER, "v136")["metadata"]["generation"]
    with rest.client(env, org.token) as api:
        response = api.post(f"{org.base}/{cluster_id}", json={"config": {"kubernetesVersion": "1.37"}})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["details"]["fieldErrors"] == {VERSION_FIELD: _allowed_message(org, "1.37")}
    assert body["message"] == f"{VERSION_FIELD}: {_allowed_message(org, '1.37')}"
    stored = get(org.custom, org.namespace, kinds.PROVISIONED_CLUSTER, "v136")
    assert stored["spec"]["config"]["kubernetesVersion"] == "1.36"
    assert stored["metadata"]["generation"] == generation

    with rest.client(env, org.token) as api:  # a change of another field: the version is not asked again
        renamed = api.post(f"{org.base}/{cluster_id}", json={"name": "Renamed"})
    assert renamed.status_code == 202, renamed.text


def _create_body(org: Org, version: str, instance_types: list[str]) -> dict[str, Any]:
    return {"connectionId": org.connection, "networkId": "NETWORK000", "name": "Versions", "region": "us-east-1",
            "config": {"kubernetesVersion": version, "systemNodeGroup": {
                "name": "system", "instanceTypes": instance_types, "minSize": 1, "maxSize": 2, "desiredSize": 1}}}


def test_rest_create_refuses_a_version_eks_does_not_offer_with_the_allowed_list(env, org: Org) -> None:
    with rest.client(env, org.token) as api:
        response = api.post(org.base, json=_create_body(org, "1.99", ["m7g.large"]))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["errorType"] == "client"
    assert body["details"]["fieldErrors"] == {VERSION_FIELD: _allowed_message(org, "1.99")}
    assert f"allowed: {org.allowed}" in body["message"]


def test_rest_refuses_instance_types_the_region_does_not_offer(env, org: Org, tmp_path) -> None:
    with rest.client(env, org.token) as api:
        created = api.post(org.base, json=_create_body(org, "1.35", ["m7g.large", "m7g.huge"]))
    assert created.status_code == 400, created.text
    assert created.json()["details"]["fieldErrors"] == {
        TYPES_FIELD: "m7g.huge is not an instance type EKS nodes can use in us-east-1"}

    org.kubectl(tmp_path, "apply", manifest=_manifest("v135", "1.35"))
    cluster_id = rest.seed_id(org.custom, org.namespace, kinds.PROVISIONED_CLUSTER, "v135")
    with rest.client(env, org.token) as api:
        updated = api.post(f"{org.base}/{cluster_id}",
                           json={"config": {"systemNodeGroup": {"instanceTypes": ["m7g.tiny", "m7g.huge"]}}})
    assert updated.status_code == 400, updated.text
    assert updated.json()["details"]["fieldErrors"] == {
        TYPES_FIELD: "m7g.tiny, m7g.huge are not instance types EKS nodes can use in us-east-1"}
    assert get(org.custom, org.namespace, kinds.PROVISIONED_CLUSTER, "v135")["spec"]["config"][
        "systemNodeGroup"]["instanceTypes"] == ["m7g.large"]
