"""Event-driven reconciles: which watched change wakes which object (`wakeups.dependents`), the
watch cache's store it reads (`watch_cache.Store`, `labels_of`), whether this replica acts
(`peering_gate.acting`) and when a Connection is next verified (`seconds_until_due`).

`dependents` reads other kinds from the watch cache; the `stores` fixture stands in for the
synced reflectors with one plain `watch_cache.Store` per kind."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest

from fleetyard.controllers import connection_phases, peering_gate, wakeups
from fleetyard.kube import watch_cache
from fleetyard.models import connection, kinds

NS, OTHER_NS = "acme", "globex"
Body = dict[str, Any]


# --- bodies -------------------------------------------------------------------------------------

def obj(kind: kinds.Kind, name: str, namespace: str = NS, *, spec: Body | None = None,
        status: Body | None = None, rv: int = 1, **meta: Any) -> Body:
    return {"apiVersion": kinds.API_VERSION, "kind": kind.kind,
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": str(rv), "generation": 1,
                         "uid": f"uid-{name}", **meta},
            "spec": spec or {}, "status": status or {}}


def changed(body: Body, *, spec: Body | None = None, status: Body | None = None, **meta: Any) -> Body:
    """The next version of `body`: merged spec/status/metadata fields, a new resourceVersion (and
    generation, when the spec changed), the managedFields a write leaves."""
    new = copy.deepcopy(body)
    new["metadata"]["resourceVersion"] = str(int(body["metadata"]["resourceVersion"]) + 1)
    new["metadata"]["managedFields"] = [{"manager": "test", "operation": "Update"}]
    if spec is not None:
        new["spec"].update(spec)
        new["metadata"]["generation"] += 1
    if status is not None:
        new["status"].update(status)
    new["metadata"].update(meta)
    return new


def connection_(name: str, namespace: str = NS, phase: str | None = "pending") -> Body:
    return obj(kinds.CONNECTION, name, namespace, spec={"providerConfig": {"accountId": "123456789012"}},
               status={"status": phase} if phase else {})


def network(name: str, namespace: str = NS, *, conn: str = "conn-a", phase: str | None = "provisioning",
            **meta: Any) -> Body:
    return obj(kinds.NETWORK, name, namespace, spec={"connectionRef": {"name": conn}, "region": "eu-west-1"},
               status={"status": phase} if phase else {}, **meta)


def cluster(name: str, namespace: str = NS, *, conn: str = "conn-a", net: str = "net-a",
            teams: list[Any] | None = None) -> Body:
    return obj(kinds.PROVISIONED_CLUSTER, name, namespace,
               spec={"connectionRef": {"name": conn}, "networkRef": {"name": net}, "region": "eu-west-1",
                     "config": {"kubernetesVersion": "1.31"}, "access": {"teams": teams or []}},
               status={"status": "active"})


def operation(name: str, target_kind: str, target: str, phase: str = "queued", namespace: str = NS) -> Body:
    return obj(kinds.OPERATION, name, namespace,
               spec={"operation": "provision", "resourceRef": {"kind": target_kind, "name": target}},
               status={"status": phase})


def team(name: str, namespace: str = NS, level: str = "view") -> Body:
    return obj(kinds.TEAM, name, namespace, spec={"principals": ["arn:aws:iam::123456789012:user/dana"],
                                                  "access": {"level": level}})


def cluster_record(name: str, owner: str | None, namespace: str = NS) -> Body:
    spec: Body = {"displayName": name, "region": "eu-west-1"}
    if owner is not None:
        spec["provisionedClusterRef"] = {"name": owner}
    return obj(kinds.CLUSTER, name, namespace, spec=spec, status={"externalStatus": "active"})


def key(kind: kinds.Kind, name: str, namespace: str = NS) -> tuple[str, str, str]:
    return kind.kind, namespace, name


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> dict[str, watch_cache.Store]:
    held = {k.kind: watch_cache.Store(k) for k in kinds.ALL}
    monkeypatch.setattr(watch_cache, "store", lambda kind: held[kind.kind])
    return held


def hold(stores: dict[str, watch_cache.Store], *bodies: Body) -> None:
    for body in bodies:
        stores[body["kind"]].put(body)


def woken(kind: kinds.Kind, old: Body | None, new: Body | None) -> list[tuple[str, str, str]]:
    return sorted(wakeups.dependents(kind, old, new))


# --- dependents: the object itself ------------------------------------------------------------------

INFRA = [pytest.param(kinds.PROVISIONED_CLUSTER, cluster, id="ProvisionedCluster"),
         pytest.param(kinds.NETWORK, network, id="Network")]


@pytest.mark.parametrize(("kind", "build"), INFRA)
def test_a_spec_change_wakes_the_object_itself(stores, kind, build) -> None:
    old = build("x")
    assert woken(kind, old, changed(old, spec={"region": "eu-central-1"})) == [key(kind, "x")]


@pytest.mark.parametrize(("kind", "build"), INFRA)
def test_a_status_only_change_does_not_wake_the_object(stores, kind, build) -> None:
    hold(stores, cluster("on-it", net="x"))
    old = build("x")
    new = changed(old, status={"statusMessage": "applying", "observedGeneration": 1})
    assert woken(kind, old, new) == []


def test_a_health_result_wakes_the_cluster_while_its_record_shows_older_status(stores) -> None:
    old = cluster("x")
    record = cluster_record("x", owner="x")  # shows externalStatus active and nothing of health yet
    hold(stores, record)
    new = changed(old, status={"lastHealthStatus": "healthy", "lastHealthCheckAt": "2026-11-27T12:00:00Z"})
    assert woken(kinds.PROVISIONED_CLUSTER, old, new) == [key(kinds.PROVISIONED_CLUSTER, "x")]
    # once the record shows it (the reconcile copied it), a status write of the cluster wakes nothing
    hold(stores, changed(record, status={"lastHealthStatus": "healthy", "lastHealthCheckAt": "2026-11-27T12:00:00Z"}))
    assert woken(kinds.PROVISIONED_CLUSTER, new, changed(new, status={"statusMessage": "x"})) == []


def test_kopf_bookkeeping_and_finalizers_do_not_wake_the_cluster(stores) -> None:
    old = cluster("x")
    new = changed(old, annotations={"kopf.zalando.org/last-handled-configuration": "{}"},
                  finalizers=["fleetyard.io/finalizer"])
    assert woken(kinds.PROVISIONED_CLUSTER, old, new) == []


@pytest.mark.parametrize("meta", [
    pytest.param({"annotations": {kinds.RETRY_REQUESTED_ANNOTATION: "2026-11-27T12:00:00Z"}}, id="retry-requested"),
    pytest.param({"labels": {"team": "data"}}, id="labels"),
    pytest.param({"deletionTimestamp": "2026-11-27T12:00:00Z"}, id="deletion-requested"),
])
def test_a_metadata_change_wakes_the_cluster(stores, meta) -> None:
    old = cluster("pc")
    assert woken(kinds.PROVISIONED_CLUSTER, old, changed(old, **meta)) == [key(kinds.PROVISIONED_CLUSTER, "pc")]


@pytest.mark.parametrize(("kind", "build"), INFRA)
def test_creation_and_deletion_wake_the_object(stores, kind, build) -> None:
    body = build("x")
    assert key(kind, "x") in woken(kind, None, body)
    assert key(kind, "x") in woken(kind, body, None)


# --- dependents: Connections and Networks wake what is built on them --------------------------------

@pytest.fixture
def fleet(stores) -> None:
    """conn-a's Network and clusters in NS; beside them, conn-b's and another namespace's conn-a's."""
    hold(stores,
         network("net-a", conn="conn-a"), network("net-b", conn="conn-b"),
         network("net-a", OTHER_NS, conn="conn-a"),
         cluster("pc-a1", conn="conn-a", net="net-a"), cluster("pc-a2", conn="conn-a", net="net-a"),
         cluster("pc-b", conn="conn-b", net="net-b"),
         cluster("pc-a1", OTHER_NS, conn="conn-a", net="net-a"))


A_USERS = [key(kinds.NETWORK, "net-a"), key(kinds.PROVISIONED_CLUSTER, "pc-a1"),
           key(kinds.PROVISIONED_CLUSTER, "pc-a2")]


@pytest.mark.parametrize(("before", "after"), [("pending", "active"), ("active", "failed"), ("failed", "active")])
def test_a_connection_phase_change_wakes_its_networks_and_clusters_in_its_namespace_only(
        fleet, before, after) -> None:
    old = connection_("conn-a", phase=before)
    assert woken(kinds.CONNECTION, old, changed(old, status={"status": after})) == A_USERS


def test_a_connection_reverified_in_the_same_phase_wakes_nothing(fleet) -> None:
    old = connection_("conn-a", phase="active")
    new = changed(old, status={"lastVerifiedAt": "2026-11-27T12:00:00Z", "statusMessage": "assumed role"})
    assert woken(kinds.CONNECTION, old, new) == []


def test_a_connection_spec_change_wakes_it_and_what_is_built_on_it(fleet) -> None:
    old = connection_("conn-a", phase="active")
    new = changed(old, spec={"providerConfig": {"accountId": "210987654321"}})
    assert woken(kinds.CONNECTION, old, new) == sorted([key(kinds.CONNECTION, "conn-a"), *A_USERS])


def test_a_deleted_connection_wakes_what_is_built_on_it(fleet) -> None:
    assert woken(kinds.CONNECTION, connection_("conn-a", phase="active"), None) == A_USERS


@pytest.mark.parametrize(("before", "after"), [("provisioning", "active"), ("active", "destroying")])
def test_a_network_phase_change_wakes_the_clusters_on_it(fleet, before, after) -> None:
    old = network("net-a", phase=before)
    assert woken(kinds.NETWORK, old, changed(old, status={"status": after})) == [
        key(kinds.PROVISIONED_CLUSTER, "pc-a1"), key(kinds.PROVISIONED_CLUSTER, "pc-a2")]


def test_a_network_progress_update_in_the_same_phase_wakes_nothing(fleet) -> None:
    old = network("net-a", phase="provisioning")
    assert woken(kinds.NETWORK, old, changed(old, status={"statusMessage": "creating subnets"})) == []


def test_a_deleted_network_wakes_it_and_the_clusters_on_it(fleet) -> None:
    assert woken(kinds.NETWORK, network("net-a", phase="active"), None) == [
        key(kinds.NETWORK, "net-a"), key(kinds.PROVISIONED_CLUSTER, "pc-a1"), key(kinds.PROVISIONED_CLUSTER, "pc-a2")]


# --- dependents: Operations, Teams, Cluster records ---------------------------------------------------

@pytest.mark.parametrize("target", [kinds.NETWORK, kinds.PROVISIONED_CLUSTER], ids=lambda k: k.kind)
@pytest.mark.parametrize(("before", "after"), [("queued", "running"), ("running", "succeeded"),
                                               ("running", "failed")])
def test_an_operation_status_change_wakes_its_target_and_the_unfinished_run_itself(stores, target, before,
                                                                                   after) -> None:
    """An unfinished Operation is handed to the runner (started, or taken over from a dead replica);
    a finished one only tells its target."""
    old = operation("op-1", target.kind, "x", before)
    itself = [] if after in ("succeeded", "failed") else [key(kinds.OPERATION, "op-1")]
    assert woken(kinds.OPERATION, old, changed(old, status={"status": after})) == sorted(itself + [key(target, "x")])


def test_an_operation_progress_update_wakes_its_target_and_itself(stores) -> None:
    old = operation("op-1", kinds.PROVISIONED_CLUSTER.kind, "pc", "running")
    new = changed(old, status={"progress": {"stage": "nodegroup"}})
    assert woken(kinds.OPERATION, old, new) == [key(kinds.OPERATION, "op-1"), key(kinds.PROVISIONED_CLUSTER, "pc")]


def test_a_new_operation_is_handed_to_the_runner(stores) -> None:
    """Created (or first listed), queued: its run starts from the queue, not from a Kopf handler."""
    created = operation("op-1", kinds.CONNECTION.kind, "conn-a", "queued")
    assert woken(kinds.OPERATION, None, created) == [key(kinds.OPERATION, "op-1")]
    created.pop("status")  # as created by the operator: the status comes with the run
    assert woken(kinds.OPERATION, None, created) == [key(kinds.OPERATION, "op-1")]


def test_an_operation_without_a_status_change_wakes_nothing(stores) -> None:
    old = operation("op-1", kinds.PROVISIONED_CLUSTER.kind, "pc", "running")
    assert woken(kinds.OPERATION, old, changed(old, labels={"fleetyard.io/target-kind": "x"})) == []


def test_a_connection_operation_wakes_nothing_unless_it_failed(stores) -> None:
    """A Connection's Operations are catalog queries: the Connection is not reconciled by them, but a
    failed one is retried from the Connection's key (`catalog_ops.retry_failed`)."""
    old = operation("op-1", kinds.CONNECTION.kind, "conn-a", "running")
    assert woken(kinds.OPERATION, old, changed(old, status={"status": "succeeded"})) == []
    assert woken(kinds.OPERATION, old, None) == []
    assert woken(kinds.OPERATION, old, changed(old, status={"status": "failed"})) == [key(kinds.CONNECTION, "conn-a")]


@pytest.fixture
def team_users(stores) -> None:
    hold(stores,
         cluster("by-name", teams=["data"]),
         cluster("by-grant", teams=[{"name": "data", "access": "admin", "namespaces": ["etl"]}]),
         cluster("among-others", teams=["ops", {"name": "data"}]),
         cluster("other-team", teams=["ops", {"name": "database"}]),
         cluster("no-teams"),
         cluster("by-name", OTHER_NS, teams=["data"]))


DATA_USERS = [key(kinds.PROVISIONED_CLUSTER, n) for n in ("among-others", "by-grant", "by-name")]


@pytest.mark.parametrize("change", ["spec", "deleted", "created"])
def test_a_team_change_wakes_the_clusters_naming_it(team_users, change) -> None:
    body = team("data")
    old, new = {"spec": (body, changed(body, spec={"access": {"level": "admin"}})), "deleted": (body, None),
                "created": (None, body)}[change]
    assert woken(kinds.TEAM, old, new) == DATA_USERS


def test_a_team_metadata_or_status_change_wakes_nothing(team_users) -> None:
    old = team("data")
    assert woken(kinds.TEAM, old, changed(old, labels={"cost-center": "42"}, status={"members": 3})) == []


def test_an_edited_cluster_record_wakes_its_provisioned_cluster(stores) -> None:
    old = cluster_record("pc", owner="pc")
    assert woken(kinds.CLUSTER, old, changed(old, spec={"region": "us-east-1"})) == [
        key(kinds.PROVISIONED_CLUSTER, "pc")]
    assert woken(kinds.CLUSTER, old, None) == [key(kinds.PROVISIONED_CLUSTER, "pc")]


def test_a_cluster_record_health_update_wakes_nothing(stores) -> None:
    old = cluster_record("pc", owner="pc")
    assert woken(kinds.CLUSTER, old, changed(old, status={"lastHealthStatus": "healthy"})) == []


def test_a_self_registered_cluster_wakes_nothing(stores) -> None:
    old = cluster_record("mine", owner=None)
    assert woken(kinds.CLUSTER, old, changed(old, spec={"region": "us-east-1"})) == []
    assert woken(kinds.CLUSTER, old, None) == []


# --- watch_cache.Store ------------------------------------------------------------------------------

def versions(store: watch_cache.Store) -> dict[tuple[str, str], str]:
    return {watch_cache.Store.key(b): b["metadata"]["resourceVersion"] for b in store.list()}


def test_an_older_version_never_replaces_a_newer_one() -> None:
    store = watch_cache.Store(kinds.NETWORK)
    v5 = network("n", rv=5)
    v7 = changed(changed(v5, spec={"region": "a"}), spec={"region": "b"})
    old, new = store.put(v7)
    assert old is None and new["metadata"]["resourceVersion"] == "7"
    assert store.put(v5) == (None, None)  # a late watch event of an older version
    assert store.put(copy.deepcopy(v7)) == (None, None)  # the same version again: no change
    assert store.get(NS, "n")["spec"]["region"] == "b"
    old, new = store.put(changed(v7, spec={"region": "c"}))
    assert old["spec"]["region"] == "b" and new["spec"]["region"] == "c"


def test_a_list_older_than_a_held_write_does_not_undo_it() -> None:
    store = watch_cache.Store(kinds.NETWORK)
    listed = network("n", rv=10)
    written = changed(listed, spec={"region": "written"})  # rv 11: observed while the list was being read
    store.put(written)
    store.replace([listed])
    assert store.get(NS, "n")["metadata"]["resourceVersion"] == "11"


def test_a_deleted_object_does_not_come_back_from_an_older_event() -> None:
    store = watch_cache.Store(kinds.NETWORK)
    body = network("n", rv=8)
    store.put(body)
    assert store.remove(changed(body)) is not None  # deleted at rv 9
    assert store.put(body) == (None, None)  # e.g. a write's result from before the delete
    assert store.get(NS, "n") is None and len(store) == 0
    recreated = network("n", rv=20)
    assert store.put(recreated)[1] is not None  # created again since: held
    assert store.get(NS, "n") is not None


def test_a_deleted_object_does_not_come_back_from_a_list_that_began_before_the_delete() -> None:
    store = watch_cache.Store(kinds.NETWORK)
    body = network("n", rv=8)
    store.put(body)
    store.remove(changed(body))  # deleted at rv 9
    store.replace([body, network("m", rv=5)])  # a list whose snapshot predates the delete
    assert store.get(NS, "n") is None
    assert store.get(NS, "m") is not None


def test_replace_reports_additions_changes_and_removals() -> None:
    store = watch_cache.Store(kinds.NETWORK)
    same, edited, gone = network("same", rv=1), network("edited", rv=2), network("gone", rv=3)
    for body in (same, edited, gone):
        store.put(body)
    newer = changed(edited, spec={"region": "us-east-1"})
    added = network("added", rv=9)

    changes = store.replace([same, newer, added])
    rv = lambda body: body and body["metadata"]["resourceVersion"]  # noqa: E731
    summary = {(n or o)["metadata"]["name"]: (rv(o), rv(n)) for o, n in changes}
    assert len(changes) == 3
    assert summary == {"added": (None, "9"), "edited": ("2", "3"), "gone": ("3", None)}
    assert versions(store) == {(NS, "same"): "1", (NS, "edited"): "3", (NS, "added"): "9"}
    assert store.replace([same, newer, added]) == []  # the same list again: nothing changed


def _bulky(rv: int = 1) -> Body:
    body = network("n", rv=rv)
    body["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
    body["metadata"]["annotations"] = {watch_cache.LAST_APPLIED: '{"spec": {}}', "fleetyard.io/created-by": "dana"}
    return body


@pytest.mark.parametrize("how", ["put", "replace"])
def test_managed_fields_and_the_last_applied_annotation_are_not_kept(how) -> None:
    store = watch_cache.Store(kinds.NETWORK)
    body = _bulky()
    store.put(body) if how == "put" else store.replace([body])
    for held in (store.get(NS, "n"), store.list()[0]):
        assert "managedFields" not in held["metadata"]
        assert held["metadata"]["annotations"] == {"fleetyard.io/created-by": "dana"}
        assert held["spec"] == body["spec"]
    # the caller's body (e.g. what a write returned) is left as it was
    assert body == _bulky()


def test_list_answers_by_namespace_and_labels_and_reads_are_copies() -> None:
    store = watch_cache.Store(kinds.NETWORK)
    hold_all = [network("a", labels={"env": "prod", "tier": "1"}), network("b", labels={"env": "dev"}),
                network("c", OTHER_NS, labels={"env": "prod"})]
    for body in hold_all:
        store.put(body)
    assert sorted(b["metadata"]["name"] for b in store.list(NS)) == ["a", "b"]
    assert sorted(b["metadata"]["name"] for b in store.list(labels={"env": "prod"})) == ["a", "c"]
    assert [b["metadata"]["name"] for b in store.list(NS, {"env": "prod", "tier": "1"})] == ["a"]
    store.get(NS, "a")["spec"]["region"] = "mutated"
    store.list()[0]["metadata"]["labels"]["env"] = "mutated"
    assert store.get(NS, "a")["spec"]["region"] == "eu-west-1"
    assert sorted(b["metadata"]["labels"]["env"] for b in store.list()) == ["dev", "prod", "prod"]


@pytest.mark.parametrize(("selector", "expected"), [
    (None, {}),
    ("", {}),
    ("env=prod", {"env": "prod"}),
    ("env=prod, fleetyard.io/target-uid = u-1", {"env": "prod", "fleetyard.io/target-uid": "u-1"}),
    ("app.kubernetes.io/name=", {"app.kubernetes.io/name": ""}),
    ("env!=prod", None),
    ("env in (prod,dev)", None),
    ("env notin (dev)", None),
    ("env", None),
    ("!env", None),
    ("env=prod,tier", None),
])
def test_labels_of(selector, expected) -> None:
    assert watch_cache.labels_of(selector) == expected


def test_labels_of_never_misreads_double_equals() -> None:
    assert watch_cache.labels_of("env==prod") in (None, {"env": "prod"})


# --- peering_gate.acting ------------------------------------------------------------------------------

NOW = datetime.datetime(2026, 11, 27, 12, 0, 0, tzinfo=datetime.timezone.utc)
ME = "fleetyard-0@pod-a"


def peer(priority: int, seen_ago: float = 5.0, lifetime: int = 60) -> Body:
    """A peer entry as Kopf writes it into the ClusterKopfPeering's status."""
    return {"priority": priority, "lifetime": lifetime,
            "lastseen": (NOW - datetime.timedelta(seconds=seen_ago)).isoformat()}


@pytest.mark.parametrize(("peers", "expected"), [
    pytest.param(None, False, id="no-peering-object"),
    pytest.param({}, False, id="not-announced"),
    pytest.param({"fleetyard-1@pod-b": peer(0)}, False, id="only-others-announced"),
    pytest.param({ME: peer(10)}, True, id="alone"),
    pytest.param({ME: peer(10), "fleetyard-1@pod-b": peer(20)}, False, id="live-higher-priority"),
    pytest.param({ME: peer(10), "fleetyard-1@pod-b": peer(10)}, False, id="live-equal-priority"),
    pytest.param({ME: peer(10), "fleetyard-1@pod-b": peer(5)}, True, id="live-lower-priority"),
    pytest.param({ME: peer(10), "fleetyard-1@pod-b": peer(20, seen_ago=61)}, True, id="dead-higher-priority"),
    pytest.param({ME: peer(10), "fleetyard-1@pod-b": peer(20, seen_ago=59)}, False, id="not-yet-dead"),
    pytest.param({ME: peer(10), "fleetyard-1@pod-b": peer(20, seen_ago=60)}, True, id="dead-at-its-deadline"),
    pytest.param({ME: peer(10), "fleetyard-1@pod-b": peer(20, seen_ago=15, lifetime=10)}, True,
                 id="dead-by-its-own-lifetime"),
    pytest.param({ME: peer(10), "gone": None, "fleetyard-1@pod-b": peer(20, seen_ago=600)}, True,
                 id="cleaned-and-dead-peers"),
])
def test_acting_follows_kopfs_peering_rule(peers, expected) -> None:
    assert peering_gate.acting(peers, ME, 10, NOW) is expected


def test_acting_reads_kopfs_z_timestamps_too() -> None:
    live = {"priority": 20, "lifetime": 60, "lastseen": "2026-11-27T11:59:30Z"}
    dead = {"priority": 20, "lifetime": 60, "lastseen": "2026-11-27T11:58:30Z"}
    assert peering_gate.acting({ME: peer(10), "b": live}, ME, 10, NOW) is False
    assert peering_gate.acting({ME: peer(10), "b": dead}, ME, 10, NOW) is True


# --- connection_phases.seconds_until_due -------------------------------------------------------------

VERIFY, RETRY = 600.0, 60.0


def due_in(phase: str | None, verified_ago: float | None, observed: int | None = 3, generation: int = 3) -> float:
    status = connection.ConnectionStatus.model_validate({
        "status": phase, "observedGeneration": observed,
        "lastVerifiedAt": None if verified_ago is None else
        (NOW - datetime.timedelta(seconds=verified_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")})
    seconds = connection_phases.seconds_until_due(status, generation, NOW, VERIFY, RETRY)
    assert connection_phases.is_due(status, generation, NOW, VERIFY, RETRY) is (seconds <= 0)
    return seconds


@pytest.mark.parametrize(("phase", "verified_ago", "observed", "expected"), [
    pytest.param("active", 10, 2, 0.0, id="spec-changed-since"),
    pytest.param("active", 10, None, 0.0, id="never-observed"),
    pytest.param("active", None, 3, 0.0, id="never-verified"),
    pytest.param("active", 100, 3, VERIFY - 100, id="active"),
    pytest.param("failed", 10, 3, RETRY - 10, id="failed"),
    pytest.param("pending", 10, 3, RETRY - 10, id="pending"),
    pytest.param("failed", 90, 3, RETRY - 90, id="failed-overdue"),
    pytest.param("active", 700, 3, VERIFY - 700, id="active-overdue"),
])
def test_seconds_until_a_connection_is_verified_again(phase, verified_ago, observed, expected) -> None:
    assert due_in(phase, verified_ago, observed) == pytest.approx(expected)


def test_a_relist_keeps_what_was_created_after_the_list_was_read() -> None:
    store = watch_cache.Store(kinds.NETWORK)
    store.put(network("old", rv=4))
    store.put(network("new", rv=12))  # created (and observed) after the list below was read at rv 10
    changes = store.replace([network("listed", rv=7)], list_version="10")
    assert versions(store) == {(NS, "listed"): "7", (NS, "new"): "12"}
    assert {(o or n)["metadata"]["name"] for o, n in changes} == {"listed", "old"}


def test_a_peer_without_lastseen_counts_as_just_seen_as_kopf_reads_it() -> None:
    peers = {"me": {"priority": 10, "lifetime": 60, "lastseen": NOW.isoformat()}, "other": {"priority": 20}}
    assert peering_gate.acting(peers, "me", 10, NOW) is False
