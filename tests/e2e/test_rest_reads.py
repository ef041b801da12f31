"""The REST API's reads, errors and small writes against the real apiserver, with real tokens:
pages and markers, the seed's error object, /me by Team membership, read-your-writes."""

from __future__ import annotations

import pytest

from fleetyard.models import kinds
from tests.conftest import get, wait_for
from tests.e2e import connections, inert, infra, rest

CLUSTERS = 5


@pytest.fixture(scope="module")
def org(env):
    """An organization with an active Connection, a Network and five Pending ProvisionedClusters
    (nothing is built); two of them are for Team `blue`, whose member is the ServiceAccount alice."""
    import kubernetes

    custom = kubernetes.client.CustomObjectsApi(env.api)
    namespace = connections.organization(env, "rest")
    infra.network(custom, namespace)
    rest.team(custom, namespace, "blue", members=[rest.username(namespace, "alice")])  # before the clusters naming it
    names = []
    for i in range(CLUSTERS):
        name = f"c{i}"
        infra.cluster(custom, namespace, name, desiredState="Pending", displayName=f"Cluster {chr(ord('e') - i)}",
                      access={"teams": ["blue"] if i < 2 else []})
        names.append(name)
    tokens = {
        "viewer": rest.user(env, namespace, "viewer", "fleetyard-viewer"),
        "editor": rest.user(env, namespace, "editor", "fleetyard-editor"),
        "nobody": rest.user(env, namespace, "nobody"),
        "alice": rest.user(env, namespace, "alice"),
    }
    ids = {n: rest.seed_id(custom, namespace, kinds.PROVISIONED_CLUSTER, n) for n in names}
    connection_id = rest.seed_id(custom, namespace, kinds.CONNECTION, "prod")
    # the Cluster records the operator keeps beside each ProvisionedCluster (made a moment later)
    for n in names[:2]:
        inert.record_id(custom, namespace, n, timeout=40)
    return {"namespace": namespace, "tokens": tokens, "ids": ids, "connection": connection_id, "custom": custom}


def test_no_token_or_a_bad_one_is_401_with_the_request_id(env):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}):
        with rest.client(env, None) as api:
            response = api.get("/infra/clusters", headers=headers)
        assert response.status_code == 401
        body = response.json()
        assert body["code"] == "Unauthenticated" and body["errorType"] == "client"
        assert body["details"]["requestId"] == response.headers["x-request-id"]


def test_infra_list_pages_with_markers_oldest_first(env, org):
    with rest.client(env, org["tokens"]["viewer"]) as api:
        seen, marker, pages = [], None, 0
        while True:
            params = {"limit": 2, **({"marker": marker} if marker else {})}
            body = api.get("/infra/clusters", params=params).json()
            pages += 1
            assert body["total"] == CLUSTERS
            assert [c["id"] for c in body["included"]["clusters"]] == [i["id"] for i in body["items"]]
            assert len(body["included"]["connections"]) == 1  # referenced by both, included once
            assert body["included"]["connections"][0]["id"] == org["connection"]
            seen += [i["id"] for i in body["items"]]
            marker = body["marker"]  # present on every page: null on the last
            if marker is None:
                break
    assert pages == 3
    created = {org["ids"][n]: get(org["custom"], org["namespace"], kinds.PROVISIONED_CLUSTER, n)["metadata"][
        "creationTimestamp"] for n in org["ids"]}
    assert seen == sorted(created, key=lambda i: (created[i], i))  # oldest first; ties by id
    cluster = body["included"]["clusters"][0]
    assert cluster["config"]["systemNodeGroup"]["instanceTypes"] == ["m7g.large"]
    assert cluster["status"] == "pending" and cluster["connectionId"] == org["connection"]


def test_limits_and_markers_are_checked(env, org):
    with rest.client(env, org["tokens"]["viewer"]) as api:
        empty = api.get("/infra/clusters", params={"limit": 0}).json()
        assert empty["total"] == CLUSTERS and empty["items"] == [] and empty["marker"] is None
        for params, field in (({"limit": 101}, "limit"), ({"limit": -1}, "limit"), ({"marker": "garbage!"}, "marker"),
                              ({"marker": "WyJ2MSIsMV0"}, "marker")):
            response = api.get("/infra/clusters", params=params)
            assert response.status_code == 400, params
            assert field in response.json()["details"]["fieldErrors"], response.json()
        connection_list = api.get(f"/infra/connections/{org['connection']}/clusters", params={"limit": 100}).json()
        assert connection_list["total"] == CLUSTERS


def test_rbac_decides_infra_reads(env, org):
    some_id = org["ids"]["c0"]
    with rest.client(env, org["tokens"]["nobody"]) as api:
        assert api.get("/infra/clusters").status_code == 403
        assert api.get(f"/infra/clusters/{some_id}").status_code == 404
    with rest.client(env, org["tokens"]["viewer"]) as api:
        body = api.get(f"/infra/clusters/{some_id}").json()
        assert body["item"] == {"id": some_id, "connectionId": org["connection"]}
        assert api.get("/infra/clusters/NOSUCHID00").status_code == 404
        other = api.get(f"/infra/connections/NOSUCHID00/clusters/{some_id}")
        assert other.status_code == 404


def test_me_shows_exactly_the_team_clusters(env, org):
    with rest.client(env, org["tokens"]["alice"]) as api:
        body = api.get("/me/clusters").json()
        assert body["total"] == 2
        names = [c["name"] for c in body["included"]["clusters"]]
        assert names == sorted(names)
        assert {i["externalClusterId"] for i in body["items"]} == {org["ids"]["c0"], org["ids"]["c1"]}
        assert {e["id"] for e in body["included"]["externalClusters"]} == {org["ids"]["c0"], org["ids"]["c1"]}
        assert len(body["included"]["connections"]) == 1 and len(body["included"]["networks"]) == 1
        desc = api.get("/me/clusters", params={"sortDirection": "desc", "limit": 1, "page": 2}).json()
        assert [c["name"] for c in desc["included"]["clusters"]] == [min(names)]
        record_id = body["items"][0]["id"]
        assert api.get(f"/me/clusters/{record_id}").status_code == 200
        assert api.get("/infra/clusters").status_code == 403  # a team member is not an infra viewer
    with rest.client(env, org["tokens"]["viewer"]) as api:
        assert api.get("/me/clusters").json()["total"] == 0
        assert api.get(f"/me/clusters/{record_id}").status_code == 404


def test_invalid_bodies_name_their_fields(env, org):
    path = f"/infra/connections/{org['connection']}/clusters"
    good = {"connectionId": org["connection"], "networkId": org["connection"], "name": "x", "region": "us-east-1",
            "config": {"kubernetesVersion": "1.35", "systemNodeGroup": {
                "name": "system", "instanceTypes": [["m7g.large", "m7g.xlarge"]], "minSize": 1, "maxSize": 3,
                "desiredSize": 2, "diskSizeGb": 100}}}
    with rest.client(env, org["tokens"]["editor"]) as api:
        sizes = {**good, "config": {**good["config"], "systemNodeGroup": {
            **good["config"]["systemNodeGroup"], "desiredSize": 9}}}
        response = api.post(path, json=sizes)
        assert response.status_code == 400
        assert "config.systemNodeGroup.desiredSize" in response.json()["details"]["fieldErrors"]
        mixed = {**good, "config": {**good["config"], "systemNodeGroup": {
            **good["config"]["systemNodeGroup"], "instanceTypes": ["m7g.large", "m5.large"]}}}
        errors = api.post(path, json=mixed).json()["details"]["fieldErrors"]
        assert any("must not mix CPU architectures" in m for m in errors.values())
        wrong = api.post(path, json={**good, "connectionId": "ABCDEFGHIJ"}).json()
        assert list(wrong["details"]["fieldErrors"]) == ["connectionId"]
        missing = api.post(path, json={k: v for k, v in good.items() if k != "region"}).json()
        assert missing["details"]["fieldErrors"] == {"region": "is required"}
        no_network = api.post(path, json=good).json()  # the nested instanceTypes form is accepted
        assert list(no_network["details"]["fieldErrors"]) == ["networkId"]


def test_an_update_is_visible_on_the_next_read(env, org):
    cluster_id = org["ids"]["c4"]
    path = f"/infra/connections/{org['connection']}/clusters/{cluster_id}"
    with rest.client(env, org["tokens"]["editor"]) as api:
        current = api.get(path).json()["included"]["clusters"][0]
        for i in range(3):
            response = api.post(path, json={"name": f"Renamed {i}", "config": current["config"]})
            assert response.status_code == 202, response.text
            assert response.json()["name"] == f"Renamed {i}"
            assert api.get(path).json()["included"]["clusters"][0]["name"] == f"Renamed {i}"
        assert response.json()["updatedBy"] == rest.username(org["namespace"], "editor")
        downgrade = {"config": {**current["config"], "kubernetesVersion": "1.33"}}
        refused = api.post(path, json=downgrade)
        assert refused.status_code == 400
        assert list(refused.json()["details"]["fieldErrors"]) == ["config.kubernetesVersion"]
    with rest.client(env, org["tokens"]["viewer"]) as api:
        assert api.post(path, json={"name": "not allowed"}).status_code == 403
    assert get(org["custom"], org["namespace"], kinds.PROVISIONED_CLUSTER, "c4")["spec"]["displayName"] == "Renamed 2"


def test_openapi_document_lists_every_seed_endpoint(env):
    with rest.client(env, None) as api:
        doc = api.get("/openapi.json").json()
    methods = {(path, m) for path, item in doc["paths"].items() for m in item}
    extensions = {(path, m) for path, item in doc["paths"].items() for m, op in item.items()
                  if op.get("x-fleetyard-extension")}
    assert len(methods - extensions) == 14  # the seed's
    assert extensions == {("/infra/connections/{connection}/instance-types", "get")}
    assert ("/infra/connections/{connection}/clusters/{cluster}/provision", "post") in methods




def test_the_request_id_is_in_the_header_the_error_and_the_log(env, org):
    import json
    import uuid

    request_id = f"trace-{uuid.uuid4().hex[:12]}"
    with rest.client(env, org["tokens"]["viewer"]) as api:
        response = api.get("/infra/clusters/NOSUCHID00", headers={"X-Request-Id": request_id})
        made_up = api.get("/infra/clusters", headers={"X-Request-Id": "not sane!"}).headers["x-request-id"]
    assert response.status_code == 404
    assert response.headers["x-request-id"] == request_id == response.json()["details"]["requestId"]
    assert made_up != "not sane!" and made_up

    def logged():
        lines = [json.loads(line) for line in (env.state_dir / "api.log").read_text().splitlines()
                 if request_id in line]
        return lines or None
    lines = wait_for(logged, 5, "the request's log line")
    assert any(line.get("requestId") == request_id and line.get("status") == 404 for line in lines)
    assert all(org["tokens"]["viewer"] not in json.dumps(line) for line in lines)
