"""Property-based tests of the REST API against its own OpenAPI document (schemathesis): the running
API of the session environment (real apiserver, real ServiceAccount token, real RBAC), every
operation of `/openapi.json`, positive and negative inputs, a bounded number of examples each.

Checked for every answer: no 5xx, the status code is documented, the content type is documented,
the body is valid against the document's schema for that status, and it keeps the seed's null
convention (`null_convention`: every field of every object present, null rather than left out, no
other field, no list null).

The caller is a fleetyard-admin of an organization with real data, so requests reach the handlers:
path parameters are most often real ids (hooks mix them into what schemathesis generates), the
organization header most often names the organization or is absent, and create bodies most often
name the real Connection and Network. The organization is `inert`: its Network never becomes active,
so whatever schemathesis sends, nothing is built (create and provision answer 409); the record
deletes it sends get clusters of their own, so the other operations keep finding theirs.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
from typing import Any

import hypothesis
import hypothesis.strategies as st
import kubernetes
import pytest
import schemathesis
from schemathesis import checks as st_checks
from schemathesis.specs.openapi import checks as openapi_checks

from fleetyard.models import kinds
from fleetyard.rest import organizations
from tests.e2e import inert, rest

# per operation; raise it locally to search longer (FLEETYARD_CONTRACT_EXAMPLES=500)
MAX_EXAMPLES = int(os.environ.get("FLEETYARD_CONTRACT_EXAMPLES", "25"))
REF = "#/components/schemas/"


def convention_problems(value: Any, node: dict[str, Any], schemas: dict[str, Any], where: str = "") -> list[str]:
    """Where `value` breaks the seed's null convention against the document's schema `node`: an object
    without one of its fields (even an optional one: absent is never how "no value" is said), with a
    field the document does not list, or a list that is null."""
    if "$ref" in node:
        node = {**schemas[node["$ref"].removeprefix(REF)], **{k: v for k, v in node.items() if k != "$ref"}}
    options = node.get("anyOf")
    if options:
        if value is None and any(o.get("type") == "null" for o in options):
            return []
        return [p for o in options if o.get("type") != "null"
                for p in convention_problems(value, o, schemas, where)][:5]
    kind = node.get("type")
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where or 'body'}: a list that is {json.dumps(value)}"]
        return [p for i, item in enumerate(value)
                for p in convention_problems(item, node.get("items") or {}, schemas, f"{where}[{i}]")]
    if kind == "object" and isinstance(value, dict):
        fields = node.get("properties")
        if fields is None:  # a map (iacOutputs, fieldErrors)
            mapped = node.get("additionalProperties")
            return [p for k, v in value.items() if isinstance(mapped, dict)
                    for p in convention_problems(v, mapped, schemas, f"{where}.{k}")]
        problems = [f"{where}.{name}: left out" for name in fields if name not in value]
        problems += [f"{where}.{name}: not in the document" for name in value if name not in fields]
        return problems + [p for name, prop in fields.items() if name in value
                           for p in convention_problems(value[name], prop, schemas, f"{where}.{name}")]
    return []


def null_convention(document: dict[str, Any]) -> Any:
    """A schemathesis check of `convention_problems` for every JSON answer."""
    schemas = document["components"]["schemas"]

    @schemathesis.check
    def seed_null_convention(ctx: Any, response: Any, case: schemathesis.Case) -> None:
        operation = document["paths"][case.operation.path][case.method.lower()]
        answer = (operation["responses"].get(str(response.status_code)) or {}).get("content") or {}
        schema = (answer.get("application/json") or {}).get("schema")
        if schema is None or not response.content:
            return None
        problems = convention_problems(response.json(), schema, schemas)
        if problems:
            raise AssertionError(f"{response.status_code} breaks the null convention: " + "; ".join(problems[:8]))
        return None

    return seed_null_convention


CHECKS = [st_checks.not_a_server_error, openapi_checks.status_code_conformance,
          openapi_checks.content_type_conformance, openapi_checks.response_schema_conformance]

pytestmark = pytest.mark.timeout(300)


@dataclasses.dataclass(frozen=True)
class World:
    namespace: str
    token: str
    connection: str
    network: str
    clusters: tuple[str, ...]  # Pending ProvisionedClusters for Team blue, whose member the caller is
    records: tuple[str, ...]  # their Cluster records (the /me ids)
    victims: tuple[str, ...]  # Pending ProvisionedClusters only DELETE /infra/clusters/{cluster} is sent

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def world(env) -> World:
    custom = kubernetes.client.CustomObjectsApi(env.api)
    core = kubernetes.client.CoreV1Api(env.api)
    namespace = inert.organization(env, custom, core, "contract")
    token = rest.user(env, namespace, "admin", "fleetyard-admin")
    rest.team(custom, namespace, "blue", members=[rest.username(namespace, "admin")])
    kept, victims = ["c0", "c1", "c2"], ["v0", "v1", "v2"]
    for name in kept:
        inert.pending_cluster(custom, namespace, name, ["blue"])
    for name in victims:
        inert.pending_cluster(custom, namespace, name)
    inert.network_not_active(custom, namespace)
    return World(
        namespace=namespace, token=token,
        connection=rest.seed_id(custom, namespace, kinds.CONNECTION, "prod"),
        network=rest.seed_id(custom, namespace, kinds.NETWORK, "net"),
        clusters=tuple(rest.seed_id(custom, namespace, kinds.PROVISIONED_CLUSTER, n) for n in kept),
        records=tuple(inert.record_id(custom, namespace, n) for n in kept),
        victims=tuple(rest.seed_id(custom, namespace, kinds.PROVISIONED_CLUSTER, n) for n in victims))


def _or_real(generated: Any, real: tuple[str, ...] | list[str]) -> st.SearchStrategy[Any]:
    """Mostly one of the real values, sometimes what schemathesis generated."""
    return st.sampled_from([generated, *real, *real])


def api_schema(env, world: World) -> schemathesis.BaseSchema:
    """The document the running API serves, with hooks that mix the organization's real data in."""
    schema = schemathesis.openapi.from_url(f"{env.api_url}/openapi.json", timeout=30)

    @schema.hook("flatmap_path_parameters")
    def real_ids(ctx, parameters: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        operation = ctx.operation
        if operation.path == "/me/clusters/{cluster}":
            clusters = world.records
        elif operation.path == "/infra/clusters/{cluster}" and operation.method.lower() == "delete":
            clusters = world.victims
        else:
            clusters = world.clusters
        choices = {"cluster": clusters, "connection": (world.connection,)}
        return st.fixed_dictionaries({k: _or_real(v, choices[k]) if k in choices else st.just(v)
                                      for k, v in (parameters or {}).items()})

    @schema.hook("flatmap_headers")
    def organization_header(ctx, headers: dict[str, Any] | None) -> st.SearchStrategy[dict[str, Any]]:
        headers = dict(headers or {})
        generated = headers.pop(organizations.HEADER, None)
        return st.sampled_from([None, world.namespace, generated]).map(
            lambda org: {**headers, **({organizations.HEADER: org} if org is not None else {})})

    @schema.hook("flatmap_body")
    def real_references(ctx, body: Any) -> st.SearchStrategy[Any]:
        operation = ctx.operation
        if not (operation.path == "/infra/connections/{connection}/clusters" and isinstance(body, dict)):
            return st.just(body)
        real = {**body, "connectionId": world.connection, "networkId": world.network, "region": "us-east-1"}
        return st.sampled_from([body, real, real])

    return schema


def test_every_answer_is_documented_and_no_5xx(env, world: World) -> None:
    """Each operation: MAX_EXAMPLES cases, positive and negative, derandomized, no shrinking (a failure
    is reported as found: the API's state moves on between calls, so shrinking would not replay).

    Driven through `APIOperation.as_strategy` and Hypothesis directly: the schema only exists once the
    session's API runs, and schemathesis 4.32's lazy pytest loader (`schemathesis.pytest.from_fixture`)
    fails under pytest 9.2 (it sets `Function._nodeid`, which pytest no longer has)."""
    schema = api_schema(env, world)
    loaded = list(schema.get_all_operations())
    assert all(r.ok() for r in loaded)
    operations = [r.ok() for r in loaded]
    assert len(operations) == 15  # the seed's 14 and the instance-type catalog
    checks = [*CHECKS, null_convention(schema.raw_schema)]
    failures: dict[str, str] = {}
    statuses: dict[str, collections.Counter[int]] = {}
    for operation in operations:
        seen = statuses[operation.label] = collections.Counter()
        cases = st.one_of(operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE),
                          operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE))

        @hypothesis.settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                             phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                             suppress_health_check=list(hypothesis.HealthCheck), print_blob=False)
        @hypothesis.given(case=cases)
        def exchange(case: schemathesis.Case) -> None:
            response = case.call_and_validate(headers=world.headers, checks=checks, timeout=30)
            seen[response.status_code] += 1

        try:
            exchange()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every operation runs; all are reported
            failures[operation.label] = f"{type(exc).__name__}: {exc}"
    summary = "\n".join(f"  {label}: {dict(sorted(c.items()))}" for label, c in statuses.items())
    print(f"statuses per operation:\n{summary}")
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items()) + \
        f"\n\nstatuses so far:\n{summary}"
    # the hooks did their job: every operation reached its handler with real data at least once
    only_404 = [label for label, c in statuses.items() if set(c) <= {404}]
    assert not only_404, f"only 404s for {only_404}:\n{summary}"


def test_other_methods_are_405_naming_the_documented_ones(env, world: World) -> None:
    """Schemathesis' coverage phase sends methods a path does not have: the answer is 405 with the
    seed's error object and an Allow header listing exactly the document's methods of that path, and
    HEAD beside GET (answered wherever GET is, without a body)."""
    wrong = []
    with rest.client(env, world.token) as api:
        doc = api.get("/openapi.json").json()
        for template, item in doc["paths"].items():
            path = template.format(connection=world.connection, cluster=world.clusters[0])
            allowed = sorted({m.upper() for m in item} | ({"HEAD"} if "get" in item else set()))
            for method in sorted({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} - set(allowed)):
                response = api.request(method, path)
                code = response.json().get("code") if method != "HEAD" else "MethodNotAllowed"
                got = (response.status_code, response.headers.get("allow"), code)
                if got != (405, ", ".join(allowed), "MethodNotAllowed"):
                    wrong.append(f"  {method} {template}: {got}")
            if "get" in item:
                get, head = api.get(path), api.head(path)
                if (head.status_code, head.content, head.headers.get("content-length")) != (
                        get.status_code, b"", str(len(get.content))):
                    wrong.append(f"  HEAD {template}: {head.status_code} {head.headers} vs GET {get.status_code}")
    assert not wrong, "unexpected answers to undocumented methods:\n" + "\n".join(wrong)
