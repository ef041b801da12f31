"""FastAPI dependencies, declared once with `Annotated`: the app's services, the caller, the
organization, and the cluster/connection named in the path (404 when not visible).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

import fastapi
from kubernetes_asyncio import client as aclient

from fleetyard import settings as settings_mod
from fleetyard.connections import eks_versions
from fleetyard.models import kinds
from fleetyard.rest import authn, authz, errors, organizations, store, writes


@dataclasses.dataclass
class Services:
    settings: settings_mod.Settings
    cache: store.Store
    authenticator: authn.Authenticator
    authorizer: authz.Authorizer
    writer: writes.Writer
    api: aclient.ApiClient  # the process's one Kubernetes client
    versions: eks_versions.Versions  # the Kubernetes versions EKS offers per region (rest.offerings)


def services_of(request: fastapi.Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def synced(app: fastapi.FastAPI) -> bool:
    """Every informer has listed its kind once."""
    watchers = getattr(app.state, "informers", [])
    return bool(watchers) and all(w.synced.is_set() for w in watchers)


# One dependency per request does the common work (readiness, caller, organization) and hands the
# routes a Context: FastAPI re-solves every sub-dependency and parameter wherever a dependency is
# used (its cache only saves the call), which cost more per request than the read itself.

@dataclasses.dataclass(frozen=True)
class Context:
    svc: Services
    caller: authn.Caller
    requested: str | None  # the organization header, as sent
    org: str = ""  # the organization acted in (/infra only)

    @property
    def cache(self) -> store.Store:
        return self.svc.cache


OrganizationHeader = Annotated[str | None, fastapi.Header(
    alias=organizations.HEADER, description="The organization (namespace) to act in, when you belong to several.",
    max_length=63)]


async def _caller_context(request: fastapi.Request, requested: str | None) -> Context:
    if not synced(request.app):
        raise errors.ApiError(503, "the API is still loading its caches", retryable=True, retry_after=1)
    svc = services_of(request)
    authorization = (request.headers.get("authorization") or "").strip()
    return Context(svc, await svc.authenticator.caller(authorization), (requested or "").strip() or None)


async def me_context(request: fastapi.Request, requested: OrganizationHeader = None) -> Context:
    """The caller; the organization header only narrows /me (visibility is by Team membership)."""
    return await _caller_context(request, requested)


async def org_context(request: fastapi.Request, requested: OrganizationHeader = None) -> Context:
    ctx = await _caller_context(request, requested)
    org = await organizations.resolve(ctx.svc.cache, ctx.svc.authorizer, ctx.caller, ctx.requested)
    return dataclasses.replace(ctx, org=org)


MeContext = Annotated[Context, fastapi.Depends(me_context)]
OrgContext = Annotated[Context, fastapi.Depends(org_context)]

JSON = "application/json"


async def json_body(ctx: OrgContext, request: fastapi.Request) -> None:
    """415 unless the body comes as `application/json` (after the caller is known: a stranger hears 401).
    No body and no Content-Type passes, and the body's validation names what is missing."""
    content_type = request.headers.get("content-type") or ""
    if content_type.split(";", 1)[0].strip().lower() == JSON:
        return
    if not content_type and not await request.body():
        return
    raise errors.ApiError(415, f"the body must be sent as Content-Type: {JSON} (got "
                               f"{content_type.strip() or 'no Content-Type'})")


JsonBody = fastapi.Depends(json_body)

ClusterId = Annotated[str, fastapi.Path(description="The cluster's id.", max_length=64)]
ConnectionId = Annotated[str, fastapi.Path(description="The connection's id.", max_length=64)]


async def _visible(ctx: Context, kind: kinds.Kind, id_: str, what: str) -> store.Entry:
    """The object of seed id `id_` in the organization, if RBAC lets the caller get it; else 404."""
    entry = ctx.cache.by_seed_id(kind, ctx.org, id_)
    if entry is None:
        raise errors.not_found(what)
    await ctx.svc.authorizer.require(ctx.caller, "get", kind.plural, ctx.org, entry.name, hide=True, what=what)
    return entry


async def connection(ctx: OrgContext, connection: ConnectionId) -> store.Entry:
    return await _visible(ctx, kinds.CONNECTION, connection, f"connection {connection}")


PathConnection = Annotated[store.Entry, fastapi.Depends(connection)]


async def infra_cluster(ctx: OrgContext, cluster: ClusterId) -> store.Entry:
    return await _visible(ctx, kinds.PROVISIONED_CLUSTER, cluster, f"cluster {cluster}")


InfraCluster = Annotated[store.Entry, fastapi.Depends(infra_cluster)]


async def connection_cluster(ctx: OrgContext, connection: ConnectionId, cluster: ClusterId) -> store.Entry:
    """The cluster, under a connection it belongs to (else it does not exist there); see `owning_connection`."""
    parent = await _visible(ctx, kinds.CONNECTION, connection, f"connection {connection}")
    entry = await _visible(ctx, kinds.PROVISIONED_CLUSTER, cluster, f"cluster {cluster}")
    if (entry.spec.get("connectionRef") or {}).get("name") != parent.name:
        raise errors.not_found(f"cluster {cluster} of connection {connection}")
    return entry


ConnectionCluster = Annotated[store.Entry, fastapi.Depends(connection_cluster)]


def owning_connection(ctx: Context, cluster: store.Entry) -> store.Entry:
    found = ctx.cache.ref(cluster, "connectionRef", kinds.CONNECTION)
    if found is None:
        raise errors.not_found(f"the connection of cluster {cluster.id}")
    return found


async def require_write(ctx: Context, verb: str, target: store.Entry | str) -> None:
    """403 unless RBAC lets the caller `verb` the ProvisionedCluster `target` (or create one in the
    namespace `target`): asked before a write looks at the cluster's state, so a caller who may see a
    cluster but not change it hears 403 rather than a 409 about its state. The write itself still goes
    to the apiserver as the caller, which decides it."""
    namespace, name = (target, None) if isinstance(target, str) else (target.namespace, target.name)
    await ctx.svc.authorizer.require(ctx.caller, verb, kinds.PROVISIONED_CLUSTER.plural, namespace, name)
