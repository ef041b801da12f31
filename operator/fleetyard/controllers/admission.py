"""Admission webhooks, served through Kopf's webhook server by `fleetyard webhooks`.

Registered by `fleetyard.webhooks_app`. Mutating: the id label and createdBy/updatedBy from the
request's userInfo. Validating: the id label is immutable; a ProvisionedCluster's Network must
belong to the same Connection and region; its instance types must be in the region's catalog and a new
(or changed) Kubernetes version must be one EKS offers in the region; the Teams a cluster's
`access.teams` newly names must exist (a Team named before that is gone is a warning kubectl prints); a Team's principals must not be a Connection's role (the
operator's alone). The rules are in `admission_rules`, `connections.catalog` and
`connections.eks_versions`. Bodies stay plain dicts here: a mutating
webhook sees an object before the schema has checked it.
"""

from __future__ import annotations

from typing import Any

import kopf

from fleetyard import metrics
from fleetyard.connections import catalog, catalog_ops, eks_versions
from fleetyard.controllers import admission_rules
from fleetyard.kube import resources
from fleetyard.models import kinds, timestamps


def _username(userinfo: Any) -> str:
    return str((userinfo or {}).get("username") or "unknown")


def _refuse(kind: kinds.Kind, message: str | None) -> None:
    if message:
        metrics.ADMISSION_REJECTIONS.labels(kind.kind).inc()
        raise kopf.AdmissionError(message, code=422)


def _register_kind(registry: kopf.OperatorRegistry, kind: kinds.Kind) -> None:
    resource = (kinds.GROUP, kinds.VERSION, kind.plural)

    @kopf.on.mutate(*resource, operations=["CREATE", "UPDATE"], id=f"stamp-{kind.singular}", registry=registry)
    def stamp(body: Any, old: Any, operation: str, namespace: str, userinfo: Any, patch: kopf.Patch,
              **_: Any) -> None:
        meta = admission_rules.stamp(operation, old, dict(body), _username(userinfo), timestamps.now(),
                                     lambda id_: resources.id_in_use(kind, namespace, id_))
        for section, values in meta.items():
            patch.setdefault("metadata", {}).setdefault(section, {}).update(values)

    @kopf.on.validate(*resource, operations=["CREATE", "UPDATE"], id=f"id-{kind.singular}", registry=registry)
    def id_label(body: Any, old: Any, operation: str, namespace: str, **_: Any) -> None:
        _refuse(kind, admission_rules.id_label_error(
            operation, old, dict(body), lambda id_: resources.id_in_use(kind, namespace, id_)))


def _register_teams_check(registry: kopf.OperatorRegistry, kind: kinds.Kind) -> None:
    @kopf.on.validate(kinds.GROUP, kinds.VERSION, kind.plural, operations=["CREATE", "UPDATE"],
                      id=f"teams-exist-{kind.singular}", registry=registry)
    def teams_exist(spec: Any, old: Any, namespace: str, warnings: list[str], **_: Any) -> None:
        warning = admission_rules.unknown_teams_warning(
            admission_rules.named_teams(dict(spec)), admission_rules.named_teams((old or {}).get("spec")),
            lambda team: resources.get_object(kinds.TEAM, namespace, team) is not None)
        if warning:
            warnings.append(warning)


def register(registry: kopf.OperatorRegistry) -> None:
    for kind in kinds.ALL:
        _register_kind(registry, kind)

    @kopf.on.validate(kinds.GROUP, kinds.VERSION, kinds.PROVISIONED_CLUSTER.plural, operations=["CREATE", "UPDATE"],
                      id="network-matches", registry=registry)
    def network_matches(spec: Any, namespace: str, **_: Any) -> None:
        network_name = (spec.get("networkRef") or {}).get("name")
        network = resources.get_object(kinds.NETWORK, namespace, network_name) if network_name else None
        _refuse(kinds.PROVISIONED_CLUSTER, admission_rules.network_connection_error(dict(spec), network))

    for kind in (kinds.PROVISIONED_CLUSTER, kinds.CLUSTER):
        _register_teams_check(registry, kind)

    @kopf.on.validate(kinds.GROUP, kinds.VERSION, kinds.PROVISIONED_CLUSTER.plural, operations=["CREATE", "UPDATE"],
                      id="instance-types-offered", registry=registry)
    def instance_types_offered(spec: Any, old: Any, namespace: str, memo: Any, **_: Any) -> None:
        wanted = list(((spec.get("config") or {}).get("systemNodeGroup") or {}).get("instanceTypes") or [])
        previous = ((((old or {}).get("spec") or {}).get("config") or {}).get("systemNodeGroup") or {}).get(
            "instanceTypes")
        connection_name = (spec.get("connectionRef") or {}).get("name")
        if not wanted or wanted == previous or not connection_name:
            return
        connection = resources.get(kinds.CONNECTION, namespace, connection_name)
        cache = getattr(memo, "catalog", None)
        if connection is None or cache is None:
            return
        offered = catalog_ops.known_types(cache, connection, spec.get("region") or "")
        if offered is not None:  # no catalog yet: nothing to check against
            _refuse(kinds.PROVISIONED_CLUSTER, catalog.unknown_instance_types(wanted, offered, spec.get("region")))

    @kopf.on.validate(kinds.GROUP, kinds.VERSION, kinds.PROVISIONED_CLUSTER.plural, operations=["CREATE", "UPDATE"],
                      id="kubernetes-version-offered", registry=registry)
    def kubernetes_version_offered(spec: Any, old: Any, memo: Any, **_: Any) -> None:
        version = (spec.get("config") or {}).get("kubernetesVersion")
        previous = (((old or {}).get("spec") or {}).get("config") or {}).get("kubernetesVersion")
        versions = getattr(memo, "versions", None)
        if versions is None or not spec.get("region") or not eks_versions.is_new(version, previous):
            return
        _refuse(kinds.PROVISIONED_CLUSTER, eks_versions.field_error(versions.offered(spec["region"]), version))

    for kind in (kinds.PROVISIONED_CLUSTER, kinds.CLUSTER):
        _register_team_access(registry, kind)

    @kopf.on.validate(kinds.GROUP, kinds.VERSION, kinds.TEAM.plural, operations=["CREATE", "UPDATE"],
                      id="team-principals", registry=registry)
    def team_principals(spec: Any, namespace: str, **_: Any) -> None:
        roles = {}
        for conn in resources.list_objects(kinds.CONNECTION, namespace):
            role = ((conn.get("spec") or {}).get("providerConfig") or {}).get("roleArn")
            if role:
                roles[role] = conn["metadata"]["name"]
        _refuse(kinds.TEAM, admission_rules.team_principals_error(dict(spec), roles))


def _register_team_access(registry: kopf.OperatorRegistry, kind: kinds.Kind) -> None:
    @kopf.on.validate(kinds.GROUP, kinds.VERSION, kind.plural, operations=["CREATE", "UPDATE"],
                      id=f"team-access-{kind.singular}", registry=registry)
    def team_access(spec: Any, old: Any, namespace: str, **_: Any) -> None:
        if kind is kinds.CLUSTER and spec.get("provisionedClusterRef"):
            return  # the operator's mirror of a ProvisionedCluster, whose teams were checked there
        old_spec = dict((old or {}).get("spec") or {}) if old else None
        _refuse(kind, admission_rules.team_access_error(
            dict(spec), old_spec, lambda name: resources.get_object(kinds.TEAM, namespace, name) is not None))
