"""FastAPI dependencies, declared once with `Annotated`: the app's services, the caller, the
organization, and the cluster/connection named in the path (404 when not visible).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

import fastapi

from fleetyard import settings as settings_mod
from fleetyard.models import kinds
from fleetyard.rest import authn, authz, errors, organizations, store, writes


@dataclasses.dataclass
class Services:
    settings: settings_mod.Settings
    cache: store.Store
    authenticator: authn.Authenticator
    authorizer: authz.Authorizer
    writer: writes.Writer


async def services(request: fastapi.Request) -> Services:
    # async on purpose: FastAPI runs a plain `def` dependency in a worker thread, on every request
    return _services(request)


def _services(request: fastapi.Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, fastapi.Depends(services)]


# The hot dependencies take the Request rather than other dependencies or an undocumented Header:
# FastAPI resolves every sub-dependency and parameter again wherever a dependency is used (its
# cache only saves the call), which costs more per request than the read itself.

async def current_caller(request: fastapi.Request) -> authn.Caller:
    """The caller of the Bearer token in `Authorization` (not a documented parameter); once per request."""
    caller: authn.Caller | None = request.scope.get(_CALLER)
    if caller is None:
        caller = await _services(request).authenticator.caller(request.headers.get("authorization"))
        request.scope[_CALLER] = caller
    return caller


_CALLER = "fleetyard.caller"  # the request's caller, in its ASGI scope


CurrentCaller = Annotated[authn.Caller, fastapi.Depends(current_caller)]

OrganizationHeader = Annotated[str | None, fastapi.Header(
    alias=organizations.HEADER, description="The organization (namespace) to act in, when you belong to several.",
    max_length=63)]


async def organization(request: fastapi.Request, requested: OrganizationHeader = None) -> str:
    svc = _services(request)
    return await organizations.resolve(svc.cache, svc.authorizer, await current_caller(request), requested)


Organization = Annotated[str, fastapi.Depends(organization)]

ClusterId = Annotated[str, fastapi.Path(description="The cluster's id.", max_length=64)]
ConnectionId = Annotated[str, fastapi.Path(description="The connection's id.", max_length=64)]


async def connection(svc: ServicesDep, caller: CurrentCaller, org: Organization,
                     connection: ConnectionId) -> store.Entry:
    entry = svc.cache.by_seed_id(kinds.CONNECTION, org, connection)
    if entry is None:
        raise errors.not_found(f"connection {connection}")
    await svc.authorizer.require(caller, "get", kinds.CONNECTION.plural, org, entry.name, hide=True,
                                 what=f"connection {connection}")
    return entry


PathConnection = Annotated[store.Entry, fastapi.Depends(connection)]


async def infra_cluster(svc: ServicesDep, caller: CurrentCaller, org: Organization, cluster: ClusterId,
                        ) -> store.Entry:
    entry = svc.cache.by_seed_id(kinds.PROVISIONED_CLUSTER, org, cluster)
    if entry is None:
        raise errors.not_found(f"cluster {cluster}")
    await svc.authorizer.require(caller, "get", kinds.PROVISIONED_CLUSTER.plural, org, entry.name, hide=True,
                                 what=f"cluster {cluster}")
    return entry


InfraCluster = Annotated[store.Entry, fastapi.Depends(infra_cluster)]


async def connection_cluster(connection: PathConnection, cluster: InfraCluster) -> store.Entry:
    """A cluster named under a connection it does not belong to does not exist there."""
    if (cluster.spec.get("connectionRef") or {}).get("name") != connection.name:
        raise errors.not_found(f"cluster {cluster.public.get('id')} of connection {connection.public.get('id')}")
    return cluster


ConnectionCluster = Annotated[store.Entry, fastapi.Depends(connection_cluster)]


async def require_write(svc: Services, caller: authn.Caller, verb: str, target: store.Entry | str) -> None:
    """403 unless RBAC lets the caller `verb` the ProvisionedCluster `target` (or create one in the
    namespace `target`): asked before a write looks at the cluster's state, so a caller who may see a
    cluster but not change it hears 403 rather than a 409 about its state. The write itself still goes
    to the apiserver as the caller, which decides it."""
    namespace, name = (target, None) if isinstance(target, str) else (target.namespace, target.name)
    await svc.authorizer.require(caller, verb, kinds.PROVISIONED_CLUSTER.plural, namespace, name)
