"""The REST API's authorization matrix, with real ServiceAccount tokens and real RBAC: two
organizations, two Teams in each, users with and without RBAC; every endpoint of the document for
every user, against organization A's objects; the expected status of each cell in one table.

The rules the table spells out:
- /infra reads follow RBAC (SubjectAccessReview): an object the caller may not `get` is 404, a list
  the caller may not `list` is 403; a kubeconfig also needs `get` on the cluster's Secret.
- /me follows Team membership (access.teams), never RBAC.
- Writes are decided by RBAC before the cluster's state is looked at: a caller who may see a cluster
  but not change it gets 403, never a 409 about its state. Allowed callers here get the state's
  answer: the organizations are `inert` (their Network never becomes active), so create and
  provision are 409, destroying a cluster that was never built is 409, renaming is 202, and deleting
  the record of a never-built cluster is 204 (each user aims at a cluster of their own).
- Another organization's ids are 404 for everyone, and so is naming another organization in the
  `X-Fleetyard-Organization` header; no answer carries another organization's ids, and /me carries
  no ids of another Team's clusters.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx
import kubernetes
import pytest

from fleetyard.models import kinds
from fleetyard.rest import organizations
from tests.conftest import wait_for
from tests.e2e import inert, infra, rest

pytestmark = pytest.mark.timeout(300)

ROLES = {"admin": "fleetyard-admin", "editor": "fleetyard-editor", "viewer": "fleetyard-viewer",
         "blue": None, "green": None, "nobody": None}
TEAMS = {"blue": "blue", "green": "green"}  # user -> the Team they are the (only RBAC-less) member of
USERS = [f"{org}.{name}" for org in ("A", "B") for name in ROLES]

# Every endpoint of the document, against organization A's objects: the cluster of Team blue (its
# Cluster record for /me), A's Connection, and for DELETE /infra/clusters/{cluster} a cluster per user.
# Columns: the users of organization A, then those of organization B (same names, same bindings).
#                                                                         ------------ A -------------  ------------ B -------------
#                                                                         adm  edi  vie  blu  grn  nob  adm  edi  vie  blu  grn  nob
EXPECTED = {
    "GET /me/clusters":                                                  (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /me/clusters/{cluster}":                                        (404, 404, 404, 200, 404, 404, 404, 404, 404, 404, 404, 404),
    "GET /infra/clusters":                                               (200, 200, 200, 403, 403, 403, 200, 200, 200, 403, 403, 403),
    "GET /infra/clusters/{cluster}":                                     (200, 200, 200, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "DELETE /infra/clusters/{cluster}":                                  (204, 204, 403, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "GET /infra/connections/{connection}/clusters":                      (200, 200, 200, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "POST /infra/connections/{connection}/clusters":                     (409, 409, 403, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "GET /infra/connections/{connection}/clusters/{cluster}":            (200, 200, 200, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "POST /infra/connections/{connection}/clusters/{cluster}":           (202, 202, 403, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "DELETE /infra/connections/{connection}/clusters/{cluster}":         (409, 409, 403, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "POST /infra/connections/{connection}/clusters/{cluster}/provision": (409, 409, 403, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "GET /infra/connections/{connection}/clusters/{cluster}/health":     (200, 200, 200, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "GET /infra/connections/{connection}/clusters/{cluster}/kubeconfig": (409, 403, 403, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "GET /infra/connections/{connection}/clusters/{cluster}/metrics":    (409, 409, 409, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "GET /infra/connections/{connection}/instance-types":                (200, 200, 200, 404, 404, 404, 404, 404, 404, 404, 404, 404),
}
# With the header naming the other organization (B for A's users, A for B's), every cell is 404.
OTHER_ORGANIZATION_HEADER = {endpoint: (404,) * len(USERS) for endpoint in EXPECTED}


@dataclasses.dataclass
class Org:
    namespace: str
    connection: str
    network: str
    clusters: dict[str, str]  # name -> ProvisionedCluster id
    records: dict[str, str]  # name -> Cluster record id
    tokens: dict[str, str]  # user name -> token

    def team_ids(self, team: str) -> set[str]:
        """Ids of the clusters (and their records) whose access.teams name `team`."""
        return {self.clusters[team], self.records[team]}


def _organization(env, custom, core, label: str) -> Org:
    namespace = inert.organization(env, custom, core, f"authz-{label.lower()}")
    tokens = {name: rest.user(env, namespace, name, role) for name, role in ROLES.items()}
    for user, team in TEAMS.items():
        rest.team(custom, namespace, team, members=[rest.username(namespace, user)])
        inert.pending_cluster(custom, namespace, team, [team])
    victims = [f"victim-{u.replace('.', '-').lower()}" for u in USERS] if label == "A" else []
    for name in victims:
        inert.pending_cluster(custom, namespace, name)
    inert.network_not_active(custom, namespace)
    # the catalog Operation the operator asks for once the Connection is verified (it fails: the role
    # may only be assumed), which GET .../instance-types answers
    wait_for(lambda: [o for o in infra.operations(custom, namespace, "prod", kind="Connection")
                      if o["spec"]["operation"] == "listInstanceTypes"], 60, "the catalog Operation")
    names = [*TEAMS.values(), *victims]
    return Org(namespace=namespace, connection=rest.seed_id(custom, namespace, kinds.CONNECTION, "prod"),
               network=rest.seed_id(custom, namespace, kinds.NETWORK, "net"),
               clusters={n: rest.seed_id(custom, namespace, kinds.PROVISIONED_CLUSTER, n) for n in names},
               records={n: inert.record_id(custom, namespace, n) for n in TEAMS.values()}, tokens=tokens)


@pytest.fixture(scope="module")
def orgs(env) -> dict[str, Org]:
    custom = kubernetes.client.CustomObjectsApi(env.api)
    core = kubernetes.client.CoreV1Api(env.api)
    return {label: _organization(env, custom, core, label) for label in ("A", "B")}


def _request(endpoint: str, a: Org, user: str) -> tuple[str, str, Any]:
    """(method, path, json body) of `endpoint` against organization A's objects, sent by `user`."""
    method, template = endpoint.split(" ", 1)
    cluster = a.clusters["blue"]
    if endpoint == "GET /me/clusters/{cluster}":
        cluster = a.records["blue"]
    elif endpoint == "DELETE /infra/clusters/{cluster}":
        cluster = a.clusters[f"victim-{user.replace('.', '-').lower()}"]
    body = None
    if endpoint == "POST /infra/connections/{connection}/clusters":
        body = {"connectionId": a.connection, "networkId": a.network, "name": f"new by {user}",
                "region": "us-east-1", "config": {"kubernetesVersion": "1.34", "systemNodeGroup": {
                    "name": "system", "instanceTypes": ["m7g.large"], "minSize": 1, "maxSize": 3,
                    "desiredSize": 2}}}
    elif endpoint == "POST /infra/connections/{connection}/clusters/{cluster}":
        body = {"name": f"Renamed by {user}"}
    return method, template.format(connection=a.connection, cluster=cluster), body


@dataclasses.dataclass
class Exchange:
    user: str
    endpoint: str
    sent: str  # path, body and headers: what the answer may echo
    status: int
    text: str


def _run(env, orgs: dict[str, Org], other_org_header: bool) -> tuple[dict[str, tuple[int, ...]], list[Exchange]]:
    seen: dict[str, list[int]] = {endpoint: [] for endpoint in EXPECTED}
    exchanges = []
    clients = {}
    for user in USERS:
        label, name = user.split(".")
        other = orgs["B" if label == "A" else "A"]
        clients[user] = rest.client(env, orgs[label].tokens[name], other.namespace if other_org_header else None)
    try:
        # record deletes last: nothing else aims at those clusters, but a 204 should not race a read
        order = sorted(EXPECTED, key=lambda e: e == "DELETE /infra/clusters/{cluster}")
        for endpoint in order:
            for user in USERS:
                method, path, body = _request(endpoint, orgs["A"], user)
                response = clients[user].request(method, path, json=body)
                seen[endpoint].append(response.status_code)
                sent = f"{path} {json.dumps(body)} {clients[user].headers.get(organizations.HEADER, '')}"
                exchanges.append(Exchange(user, endpoint, sent, response.status_code, response.text))
    finally:
        for c in clients.values():
            c.close()
    return {e: tuple(seen[e]) for e in EXPECTED}, exchanges


def _table(statuses: dict[str, tuple[int, ...]]) -> str:
    width = max(len(e) for e in statuses)
    lines = [" " * width + "  " + " ".join(f"{u:>8}" for u in USERS)]
    lines += [f"{e:<{width}}  " + " ".join(f"{s:>8}" for s in row) for e, row in statuses.items()]
    return "\n".join(lines)


def _assert_matrix(expected: dict[str, tuple[int, ...]], actual: dict[str, tuple[int, ...]],
                   exchanges: list[Exchange]) -> None:
    text = {(x.endpoint, x.user): x.text for x in exchanges}
    wrong = [f"  {endpoint} as {user}: expected {want}, got {got}: {text[(endpoint, user)][:200]}"
             for endpoint in expected for user, want, got in zip(USERS, expected[endpoint], actual[endpoint])
             if want != got]
    assert not wrong, ("cells that differ:\n" + "\n".join(wrong) + "\n\nexpected:\n" + _table(expected)
                       + "\n\nactual:\n" + _table(actual))


def _leaks(exchanges: list[Exchange], orgs: dict[str, Org], custom) -> list[str]:
    """Ids (or the namespace) of the other organization in any answer, and ids of another Team's
    clusters in /me answers and in any answer to a Team member, unless the request itself named them."""
    everything = {label: inert.ids_in(custom, org.namespace) | {org.namespace} for label, org in orgs.items()}
    found = []
    for x in exchanges:
        label, name = x.user.split(".")
        own, other = orgs[label], "B" if label == "A" else "A"
        forbidden = set(everything[other])
        if name in TEAMS:
            forbidden |= set().union(*(own.team_ids(t) for t in TEAMS.values() if t != TEAMS[name]))
            forbidden |= {i for n, i in own.clusters.items() if n not in TEAMS.values()}
        if x.endpoint.startswith("GET /me/"):
            mine = own.team_ids(TEAMS[name]) if name in TEAMS else set()
            forbidden |= (set(own.clusters.values()) | set(own.records.values())) - mine
        leaked = sorted(i for i in forbidden if i in x.text and i not in x.sent)
        if leaked:
            found.append(f"  {x.endpoint} as {x.user} ({x.status}): {leaked} in {x.text[:300]}")
    return found


def test_authorization_matrix(env, orgs: dict[str, Org]) -> None:
    with rest.client(env, None) as api:
        documented = {f"{m.upper()} {p}" for p, item in api.get("/openapi.json").json()["paths"].items() for m in item}
    assert set(EXPECTED) == documented, "the table must have a row for every endpoint of the document"
    # the other organization named in the header first: nothing may change, every cell is 404
    header_statuses, header_exchanges = _run(env, orgs, other_org_header=True)
    _assert_matrix(OTHER_ORGANIZATION_HEADER, header_statuses, header_exchanges)
    statuses, exchanges = _run(env, orgs, other_org_header=False)
    print("authorization matrix (organization A's objects):\n" + _table(statuses))
    _assert_matrix(EXPECTED, statuses, exchanges)
    leaks = _leaks(header_exchanges + exchanges, orgs, kubernetes.client.CustomObjectsApi(env.api))
    assert not leaks, "answers carrying ids they must not:\n" + "\n".join(leaks)


def test_me_shows_each_member_their_team_only(env, orgs: dict[str, Org]) -> None:
    """The /me cells above are 200 for everyone: what each 200 holds."""
    for label, org in orgs.items():
        for name in ROLES:
            with rest.client(env, org.tokens[name]) as api:
                body = api.get("/me/clusters").json()
            wanted = {org.records[TEAMS[name]]} if name in TEAMS else set()
            assert {i["id"] for i in body["items"]} == wanted, (label, name, body)
            assert {c["id"] for c in body["included"]["externalClusters"]} == \
                ({org.clusters[TEAMS[name]]} if name in TEAMS else set()), (label, name, body)


def test_an_update_that_changes_nothing_is_authorized_too(env, orgs: dict[str, Org]) -> None:
    """An empty update writes nothing, but is still a write: a viewer hears 403, not 202."""
    a = orgs["A"]
    path = f"/infra/connections/{a.connection}/clusters/{a.clusters['green']}"
    for name, status in (("viewer", 403), ("editor", 202), ("green", 404)):
        with rest.client(env, a.tokens[name]) as api:
            assert api.post(path, json={}).status_code == status, name
