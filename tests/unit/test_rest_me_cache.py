"""The /me view's cache in the REST store: which records a set of Team memberships sees, in order,
follows records that come, go, change their Teams or their name; pages join the same bytes as before."""

from __future__ import annotations

import json

from fleetyard.models import kinds
from fleetyard.rest import store, views


def record(name: str, id_: str, teams: list[str], display: str | None = None, ns: str = "acme") -> dict:
    return {"apiVersion": kinds.API_VERSION, "kind": "Cluster", "metadata": {
        "name": name, "namespace": ns, "uid": f"uid-{name}", "resourceVersion": "1", "generation": 1,
        "creationTimestamp": "2026-11-27T10:00:00Z", "labels": {kinds.ID_LABEL: id_}},
        "spec": {"displayName": display or name, "access": {"teams": teams}, "kubeconfigSecretRef": {"name": "k"}},
        "status": {}}


def team(name: str, members: list[str], ns: str = "acme") -> dict:
    return {"apiVersion": kinds.API_VERSION, "kind": "Team", "metadata": {
        "name": name, "namespace": ns, "uid": f"uid-{name}", "resourceVersion": "1",
        "labels": {kinds.ID_LABEL: f"TEAM{name.upper():0>6}"}}, "spec": {"displayName": name, "members": members}}


def names(entries: list[store.Entry]) -> list[str]:
    return [e.name for e in entries]


def test_records_follow_changes_and_sort_like_sorting_them() -> None:
    s = store.Store()
    s.apply_event(kinds.TEAM, "ADDED", team("blue", ["alice"]))
    s.apply_event(kinds.TEAM, "ADDED", team("red", ["bob"]))
    for name, id_, teams, display in (("a", "AAAAAAAAAA", ["blue"], "Zeta"),
                                      ("b", "BBBBBBBBBB", ["blue", "red"], "alpha"),
                                      ("c", "CCCCCCCCCC", ["red"], "Mid"), ("d", "DDDDDDDDDD", ["blue"], "Mid")):
        s.apply_event(kinds.CLUSTER, "ADDED", record(name, id_, teams, display))
    alice = s.teams_of("alice", [])
    assert names(s.records_for(alice)) == ["b", "d", "a"]  # alpha, Mid, Zeta (case-insensitive)
    assert names(s.records_for(alice)) == ["b", "d", "a"]  # cached
    for descending in (False, True):
        got = s.records_for(alice, descending)
        assert names(got) == names(sorted(list(s.records_for(alice)), key=lambda r: (
            json.loads(r.json)["name"].lower(), json.loads(r.json)["id"]), reverse=descending))

    s.apply_event(kinds.CLUSTER, "MODIFIED", record("c", "CCCCCCCCCC", ["red", "blue"], "Mid"))  # joins blue
    assert names(s.records_for(alice)) == ["b", "c", "d", "a"]  # Mid ties break on id
    s.apply_event(kinds.CLUSTER, "MODIFIED", record("a", "AAAAAAAAAA", ["blue"], "aardvark"))  # renamed
    assert names(s.records_for(alice)) == ["a", "b", "c", "d"]
    s.apply_event(kinds.CLUSTER, "DELETED", record("b", "BBBBBBBBBB", ["blue", "red"]))
    assert names(s.records_for(alice)) == ["a", "c", "d"]
    s.apply_event(kinds.CLUSTER, "MODIFIED", record("d", "DDDDDDDDDD", []))  # left every Team
    assert names(s.records_for(alice)) == ["a", "c"]
    assert names(s.records_for(s.teams_of("bob", []))) == ["c"]


def test_a_record_list_changed_by_its_caller_does_not_change_the_next_one() -> None:
    s = store.Store()
    s.apply_event(kinds.TEAM, "ADDED", team("blue", ["alice"]))
    for name, id_ in (("x", "XXXXXXXXXX"), ("y", "YYYYYYYYYY")):
        s.apply_event(kinds.CLUSTER, "ADDED", record(name, id_, ["blue"]))
    listed = s.records_for(s.teams_of("alice", []))
    listed.append(listed.pop(0))  # now y, x: same length, but also a new order
    listed.append(listed[0])
    assert names(s.records_for(s.teams_of("alice", []))) == ["x", "y"]
    assert names(s.records_for(s.teams_of("alice", []), True)) == ["y", "x"]


def test_body_updates_show_without_a_new_membership_lookup() -> None:
    s = store.Store()
    s.apply_event(kinds.TEAM, "ADDED", team("blue", ["alice"]))
    s.apply_event(kinds.CLUSTER, "ADDED", record("x", "XXXXXXXXXX", ["blue"]))
    alice = s.teams_of("alice", [])
    version = s.records_version
    body = record("x", "XXXXXXXXXX", ["blue"])
    body["status"] = {"externalStatus": "active"}
    s.apply_event(kinds.CLUSTER, "MODIFIED", body)
    assert s.records_version == version  # same Teams and name: the cached view stays
    page = views.my_page(s, s.records_for(alice), 1, 10)
    assert b'"externalStatus":"active"' in page
