"""The REST API's read model: indexes follow watch events, references resolve whichever arrives
first, Team membership finds exactly the right records, and writes can wait for their echo."""

from __future__ import annotations

import asyncio
import json

from fleetyard.models import kinds
from fleetyard.rest import store

CONFIG = {"kubernetesVersion": "1.35", "publicAccessCidrs": [],
          "systemNodeGroup": {"name": "system", "instanceTypes": ["m7g.large"], "minSize": 1, "maxSize": 3,
                              "desiredSize": 2, "diskSizeGb": 100}}


def obj(kind: kinds.Kind, name: str, id_: str, rv: int, spec: dict, ns: str = "acme", status: dict | None = None,
        created: str = "2026-11-27T10:00:00Z", labels: dict | None = None) -> dict:
    return {"apiVersion": kinds.API_VERSION, "kind": kind.kind, "metadata": {
        "name": name, "namespace": ns, "uid": f"uid-{ns}-{name}", "resourceVersion": str(rv), "generation": 1,
        "creationTimestamp": created, "labels": {kinds.ID_LABEL: id_, **(labels or {})}},
        "spec": spec, "status": status or {}}


def cluster(name: str, id_: str, rv: int, connection: str = "prod", created: str = "2026-11-27T10:00:00Z") -> dict:
    return obj(kinds.PROVISIONED_CLUSTER, name, id_, rv, {
        "connectionRef": {"name": connection}, "networkRef": {"name": "net"}, "displayName": name.upper(),
        "region": "us-east-1", "config": CONFIG}, created=created)


def connection(name: str, id_: str, rv: int) -> dict:
    return obj(kinds.CONNECTION, name, id_, rv, {"displayName": name, "provider": "aws", "providerConfig": {
        "accountId": "123456789012", "region": "us-east-1", "roleArn": "arn:aws:iam::123456789012:role/r",
        "externalIdSecretRef": {"name": "x"}}}, status={"status": "active"})


def test_a_cluster_seen_before_its_connection_gets_the_connection_id_later() -> None:
    s = store.Store()
    s.apply_event(kinds.PROVISIONED_CLUSTER, "ADDED", cluster("a", "AAAAAAAAAA", 5))
    entry = s.get(kinds.PROVISIONED_CLUSTER, "acme", "a")
    assert entry is not None and entry.public["connectionId"] is None and b'"connectionId":null' in entry.ref_json
    s.apply_event(kinds.CONNECTION, "ADDED", connection("prod", "CONNECTION", 6))
    entry = s.get(kinds.PROVISIONED_CLUSTER, "acme", "a")
    assert entry.public["connectionId"] == "CONNECTION" and b'"connectionId":"CONNECTION"' in entry.ref_json


def test_an_entry_unpacks_to_its_body_less_the_bookkeeping() -> None:
    s = store.Store()
    body = cluster("a", "AAAAAAAAAA", 1)
    body["status"] = {"status": "active", "health": {"status": "healthy", "totalNodes": 2}}
    wanted = json.loads(json.dumps(body))
    body["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
    body["metadata"]["annotations"] = {store.LAST_APPLIED: json.dumps(wanted), kinds.CREATED_BY_ANNOTATION: "alice"}
    wanted["metadata"]["annotations"] = {kinds.CREATED_BY_ANNOTATION: "alice"}
    s.replace(kinds.PROVISIONED_CLUSTER, [store.listed(body)], "1")  # as the informer hands it over
    entry = s.get(kinds.PROVISIONED_CLUSTER, "acme", "a")
    assert entry is not None and entry.obj == wanted and entry.status == wanted["status"]
    assert (entry.spec, entry.uid, entry.created) == (wanted["spec"], "uid-acme-a", "2026-11-27T10:00:00Z")
    assert entry.public == {"status": "active", "connectionId": None, "networkId": None}
    s.apply_event(kinds.PROVISIONED_CLUSTER, "MODIFIED", json.loads(json.dumps(wanted)))
    assert s.get(kinds.PROVISIONED_CLUSTER, "acme", "a").obj == wanted


def test_pages_per_namespace_and_connection_follow_events() -> None:
    s = store.Store()
    s.replace(kinds.PROVISIONED_CLUSTER, [
        cluster("a", "AAAAAAAAAA", 1, created="2026-11-27T10:00:01Z"),
        cluster("b", "BBBBBBBBBB", 2, connection="other", created="2026-11-27T10:00:02Z"),
        cluster("c", "CCCCCCCCCC", 3, created="2026-11-27T10:00:00Z"),
    ], "3")
    assert s.clusters_sorted["acme"].page(None, 10)[0] == ["c", "a", "b"]
    assert s.clusters_by_connection[("acme", "prod")].page(None, 10)[0] == ["c", "a"]
    s.apply_event(kinds.PROVISIONED_CLUSTER, "DELETED", cluster("a", "AAAAAAAAAA", 4))
    assert s.clusters_sorted["acme"].page(None, 10)[0] == ["c", "b"]
    assert s.by_seed_id(kinds.PROVISIONED_CLUSTER, "acme", "AAAAAAAAAA") is None
    assert s.by_seed_id(kinds.PROVISIONED_CLUSTER, "other-ns", "CCCCCCCCCC") is None  # ids are per organization
    s.replace(kinds.PROVISIONED_CLUSTER, [cluster("b", "BBBBBBBBBB", 2)], "9")  # a relist drops what is gone
    assert s.clusters_sorted["acme"].page(None, 10)[0] == ["b"] and s.versions["ProvisionedCluster"] == 9


def test_team_membership_by_name_or_group_finds_exactly_the_named_records() -> None:
    s = store.Store()
    team = obj(kinds.TEAM, "blue", "TEAMBLUE00", 1, {"displayName": "b", "members": ["alice"], "groups": ["devs"]})
    s.apply_event(kinds.TEAM, "ADDED", team)
    s.apply_event(kinds.TEAM, "ADDED", obj(kinds.TEAM, "blue", "TEAMBLUE01", 2, {
        "displayName": "b", "members": ["alice"]}, ns="globex"))
    for name, teams, ns in (("r1", ["blue"], "acme"), ("r2", ["red"], "acme"), ("r3", ["blue"], "globex")):
        s.apply_event(kinds.CLUSTER, "ADDED", obj(kinds.CLUSTER, name, f"RECORD{name.upper():0>4}", 3, {
            "displayName": name, "access": {"teams": teams}, "kubeconfigSecretRef": {"name": "k"}}, ns=ns))
    alice = s.teams_of("alice", [])
    assert alice == {("acme", "blue"), ("globex", "blue")}
    assert sorted(r.name for r in s.records_for(alice)) == ["r1", "r3"]
    bob = s.teams_of("bob", ["devs"])
    assert [r.name for r in s.records_for(bob)] == ["r1"]
    team["spec"]["groups"] = []
    s.apply_event(kinds.TEAM, "MODIFIED", team)
    assert s.teams_of("bob", ["devs"]) == set()


def test_operations_are_found_by_their_target() -> None:
    s = store.Store()
    s.apply_event(kinds.PROVISIONED_CLUSTER, "ADDED", cluster("a", "AAAAAAAAAA", 1))
    for i, created in enumerate(("2026-11-27T10:00:05Z", "2026-11-27T10:00:01Z")):
        s.apply_event(kinds.OPERATION, "ADDED", obj(kinds.OPERATION, f"op{i}", f"OPERATION{i}", 2 + i, {
            "operation": "provision", "resourceType": "externalCluster",
            "resourceRef": {"kind": "ProvisionedCluster", "name": "a"}}, created=created,
            labels={kinds.TARGET_UID_LABEL: "uid-acme-a"}))
    target = s.get(kinds.PROVISIONED_CLUSTER, "acme", "a")
    assert [e.name for e in s.operations_of(target)] == ["op1", "op0"]


def test_a_write_waits_for_its_echo_and_gives_up_in_time() -> None:
    async def scenario() -> tuple[bool, bool]:
        s = store.Store()
        waiting = asyncio.create_task(s.wait_until(lambda: s.seen(kinds.PROVISIONED_CLUSTER, "7"), 5))
        await asyncio.sleep(0)
        s.apply_event(kinds.PROVISIONED_CLUSTER, "ADDED", cluster("a", "AAAAAAAAAA", 7))
        caught_up = await waiting
        never = await s.wait_until(lambda: s.seen(kinds.PROVISIONED_CLUSTER, "99"), 0.05)
        return caught_up, never

    assert asyncio.run(scenario()) == (True, False)


def test_every_infra_page_has_a_marker_null_on_the_last() -> None:
    import json

    from fleetyard.rest import pagination, views

    s = store.Store()
    s.replace(kinds.PROVISIONED_CLUSTER, [cluster(n, f"{n.upper() * 10}", i, created=f"2026-11-27T10:00:0{i}Z")
                                          for i, n in enumerate("abc")], "3")
    index = s.clusters_sorted["acme"]
    first = json.loads(views.infra_page(s, index, "acme", None, 2))
    assert [i["id"] for i in first["items"]] == ["AAAAAAAAAA", "BBBBBBBBBB"] and first["marker"]
    last = json.loads(views.infra_page(s, index, "acme", pagination.decode_marker(first["marker"]), 2))
    assert [i["id"] for i in last["items"]] == ["CCCCCCCCCC"] and last["marker"] is None
    assert json.loads(views.infra_page(s, index, "acme", None, 0))["marker"] is None
    assert json.loads(views.infra_page(s, index, "acme", None, 3))["marker"] is None
