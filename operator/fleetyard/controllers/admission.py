"""Admission webhooks, served through Kopf's webhook server by `fleetyard webhooks`.

Registered by `fleetyard.webhooks_app`. Mutating: the id label and createdBy/updatedBy from the
request's userInfo. Validating: the id label is immutable; a ProvisionedCluster's Network must
belong to the same Connection and region; its instance types must be in the region's catalog and a new
(or changed) Kubernetes version must be one EKS offers in the region; the Teams a cluster's
`access.teams` newly names must exist (a Team named before that is gone is a warning kubectl prints); a Team's principals must not be a Connection's role (the
operator's alone). The rules are in `admission_rules`, `connections.catalog` and
`connections.eks_versions`. Bodies stay plain dicts here: a mutating
webhook sees an object before the schema has checked it. Connections, Networks and Teams are read
from the webhook server's watch cache, and from the API when it has not seen one yet.
"""

from __future__ import annotations

import functools
from typing import Any

import kopf

from fleetyard import metrics
from fleetyard.connections import catalog, catalog_ops, eks_versions
from fleetyard.controllers import admission_rules
from fleetyard.kube import resources
from fleetyard.models import kinds, timestamps


# When an UPDATE cannot change a handler's answer, the apiserver need not call it at all (the
# webhooks' matchConditions, `fleetyard webhook-rules`). Most UPDATEs of fleetyard objects are
# bookkeeping (Kopf's finalizer and annotations, the operator's labels) that passed every webhook of
# the kind: 7 calls per such write of a ProvisionedCluster, in a burst most of the webhooks' work.
_UPDATE = "request.operation == 'UPDATE'"
SPEC_CHANGED = f"!({_UPDATE}) || !has(object.spec) || !has(oldObject.spec) || object.spec != oldObject.spec"
ID_CHANGED = (f"!({_UPDATE}) || object.metadata.?labels[?'{kinds.ID_LABEL}'] != "
              f"oldObject.metadata.?labels[?'{kinds.ID_LABEL}']")
STAMPS_CHANGED = (f"{SPEC_CHANGED} || "
                  + str([kinds.CREATED_BY_ANNOTATION, kinds.UPDATED_BY_ANNOTATION, kinds.UPDATED_AT_ANNOTATION])
                  + ".exists(k, object.metadata.?annotations[?k] != oldObject.metadata.?annotations[?k])")


def match_conditions(handler_id: str) -> list[dict[str, str]]:
    """The CEL conditions under which the webhook of a handler is called: what its answer depends on."""
    if handler_id.startswith("stamp-"):
        return [{"name": "stamps-may-change", "expression": STAMPS_CHANGED}]
    if handler_id.startswith("id-"):
        return [{"name": "id-may-change", "expression": ID_CHANGED}]
    return [{"name": "spec-changed", "expression": SPEC_CHANGED}]


def _webhook(register: Any, kind: kinds.Kind, handler_id: str, registry: kopf.OperatorRegistry) -> Any:
    """Registers an admission handler of the kind for CREATE and UPDATE, counted per call."""
    def decorate(fn: Any) -> Any:
        @functools.wraps(fn)
        def counted(*args: Any, **kwargs: Any) -> Any:
            metrics.ADMISSION_REQUESTS.labels(handler_id).inc()
            return fn(*args, **kwargs)
        return register(kinds.GROUP, kinds.VERSION, kind.plural, operations=["CREATE", "UPDATE"], id=handler_id,
                        registry=registry)(counted)
    return decorate


def _username(userinfo: Any) -> str:
    return str((userinfo or {}).get("username") or "unknown")


def _refuse(kind: kinds.Kind, message: str | None) -> None:
    if message:
        metrics.ADMISSION_REJECTIONS.labels(kind.kind).inc()
        raise kopf.AdmissionError(message, code=422)


def _register_kind(registry: kopf.OperatorRegistry, kind: kinds.Kind) -> None:
    @_webhook(kopf.on.mutate, kind, f"stamp-{kind.singular}", registry)
    def stamp(body: Any, old: Any, operation: str, namespace: str, userinfo: Any, patch: kopf.Patch,
              **_: Any) -> None:
        meta = admission_rules.stamp(operation, old, dict(body), _username(userinfo), timestamps.now(),
                                     lambda id_: resources.id_in_use(kind, namespace, id_))
        for section, values in meta.items():
            patch.setdefault("metadata", {}).setdefault(section, {}).update(values)

    @_webhook(kopf.on.validate, kind, f"id-{kind.singular}", registry)
    def id_label(body: Any, old: Any, operation: str, namespace: str, **_: Any) -> None:
        _refuse(kind, admission_rules.id_label_error(
            operation, old, dict(body), lambda id_: resources.id_in_use(kind, namespace, id_)))


def _register_teams_check(registry: kopf.OperatorRegistry, kind: kinds.Kind) -> None:
    @_webhook(kopf.on.validate, kind, f"teams-exist-{kind.singular}", registry)
    def teams_exist(spec: Any, old: Any, namespace: str, warnings: list[str], **_: Any) -> None:
        warning = admission_rules.unknown_teams_warning(
            admission_rules.named_teams(dict(spec)), admission_rules.named_teams((old or {}).get("spec")),
            lambda team: resources.find_object(kinds.TEAM, namespace, team) is not None)
        if warning:
            warnings.append(warning)


def register(registry: kopf.OperatorRegistry) -> None:
    for kind in kinds.ALL:
        _register_kind(registry, kind)

    @_webhook(kopf.on.validate, kinds.PROVISIONED_CLUSTER, "network-matches", registry)
    def network_matches(spec: Any, namespace: str, **_: Any) -> None:
        network_name = (spec.get("networkRef") or {}).get("name")
        network = resources.find_object(kinds.NETWORK, namespace, network_name) if network_name else None
        _refuse(kinds.PROVISIONED_CLUSTER, admission_rules.network_connection_error(dict(spec), network))

    for kind in (kinds.PROVISIONED_CLUSTER, kinds.CLUSTER):
        _register_teams_check(registry, kind)

    @_webhook(kopf.on.validate, kinds.PROVISIONED_CLUSTER, "instance-types-offered", registry)
    def instance_types_offered(spec: Any, old: Any, namespace: str, memo: Any, **_: Any) -> None:
        wanted = list(((spec.get("config") or {}).get("systemNodeGroup") or {}).get("instanceTypes") or [])
        previous = ((((old or {}).get("spec") or {}).get("config") or {}).get("systemNodeGroup") or {}).get(
            "instanceTypes")
        connection_name = (spec.get("connectionRef") or {}).get("name")
        if not wanted or wanted == previous or not connection_name:
            return
        body = resources.find_object(kinds.CONNECTION, namespace, connection_name)
        cache = getattr(memo, "catalog", None)
        if body is None or cache is None:
            return
        connection = kinds.CONNECTION.parse(body)
        offered = catalog_ops.known_types(cache, connection, spec.get("region") or "")
        if offered is not None:  # no catalog yet: nothing to check against
            _refuse(kinds.PROVISIONED_CLUSTER, catalog.unknown_instance_types(wanted, offered, spec.get("region")))

    @_webhook(kopf.on.validate, kinds.PROVISIONED_CLUSTER, "kubernetes-version-offered", registry)
    def kubernetes_version_offered(spec: Any, old: Any, memo: Any, **_: Any) -> None:
        version = (spec.get("config") or {}).get("kubernetesVersion")
        previous = (((old or {}).get("spec") or {}).get("config") or {}).get("kubernetesVersion")
        versions = getattr(memo, "versions", None)
        if versions is None or not spec.get("region") or not eks_versions.is_new(version, previous):
            return
        _refuse(kinds.PROVISIONED_CLUSTER, eks_versions.field_error(versions.offered(spec["region"]), version))

    for kind in (kinds.PROVISIONED_CLUSTER, kinds.CLUSTER):
        _register_team_access(registry, kind)

    @_webhook(kopf.on.validate, kinds.TEAM, "team-principals", registry)
    def team_principals(spec: Any, namespace: str, **_: Any) -> None:
        roles = {}
        for conn in resources.list_objects(kinds.CONNECTION, namespace, fresh=True):  # never a Connection missed
            role = ((conn.get("spec") or {}).get("providerConfig") or {}).get("roleArn")
            if role:
                roles[role] = conn["metadata"]["name"]
        _refuse(kinds.TEAM, admission_rules.team_principals_error(dict(spec), roles))


def _register_team_access(registry: kopf.OperatorRegistry, kind: kinds.Kind) -> None:
    @_webhook(kopf.on.validate, kind, f"team-access-{kind.singular}", registry)
    def team_access(spec: Any, old: Any, namespace: str, **_: Any) -> None:
        if kind is kinds.CLUSTER and spec.get("provisionedClusterRef"):
            return  # the operator's mirror of a ProvisionedCluster, whose teams were checked there
        old_spec = dict((old or {}).get("spec") or {}) if old else None
        _refuse(kind, admission_rules.team_access_error(
            dict(spec), old_spec, lambda name: resources.find_object(kinds.TEAM, namespace, name) is not None))
