"""/infra/connections/{connection}/clusters: a Connection's ProvisionedClusters; create, update,
provision, destroy; health, kubeconfig and metrics of one.

Reads need RBAC on provisionedclusters (kubeconfig: membership of a Team the cluster names, or `get`
on `provisionedclusters/kubeconfig` of that cluster, which only fleetyard-admin has; it authenticates
as the caller's own AWS identity, never as the Connection's role);
writes go to the apiserver as the caller.
"""

from __future__ import annotations

from typing import Annotated, Any

import fastapi

from fleetyard.day2 import access, teams as team_rules, usage_metrics
from fleetyard.models import api, connection as connection_model, kinds, operation as operation_model
from fleetyard.models import provisioned_cluster
from fleetyard.rest import cluster_updates, customer_calls, deps, errors, offerings, pagination, store, views
from fleetyard.rest.routers import clusters as cluster_params
from fleetyard.rest.routers import common

router = fastapi.APIRouter(prefix="/infra/connections/{connection}/clusters", tags=["connection clusters"])


@router.get("", response_model=api.InfraClusterList, summary="List provisioned clusters by connection",
            responses=common.error_responses(400, 403, 404))
async def list_connection_clusters(ctx: deps.OrgContext, connection: deps.PathConnection,
                                   limit: cluster_params.Limit = 100,
                                   marker: cluster_params.Marker = None) -> fastapi.Response:
    after = pagination.decode_marker(marker)
    await ctx.svc.authorizer.require(ctx.caller, "list", kinds.PROVISIONED_CLUSTER.plural, ctx.org)
    index = ctx.cache.clusters_by_connection[(ctx.org, connection.name)]
    return common.json_bytes(views.infra_page(ctx.cache, index, ctx.org, after, limit))


@router.post("", response_model=api.ExternalClusterPublic, status_code=201, summary="Create a provisioned cluster",
             responses=common.error_responses(400, 403, 404, 409, 415), dependencies=[deps.JsonBody])
async def create_cluster(ctx: deps.OrgContext, connection: deps.PathConnection,
                         body: api.ClusterCreate) -> fastapi.Response:
    await deps.require_write(ctx, "create", ctx.org)
    cluster_updates.require_teams(body.access.teams, ctx.cache.team_names(ctx.org))
    if body.connectionId != connection.id:
        raise errors.invalid("connectionId", f"must be the connection in the path ({connection.id})")
    await offerings.require_offered(ctx.svc.versions, ctx.cache, connection, body.region,
                                    body.config.model_dump(mode="json", exclude_none=True))
    network = ctx.cache.by_seed_id(kinds.NETWORK, ctx.org, body.networkId)
    if network is None or (network.spec.get("connectionRef") or {}).get("name") != connection.name:
        raise errors.invalid("networkId", f"no network {body.networkId} in connection {connection.id}")
    if network.spec.get("region") != body.region:
        raise errors.invalid("region", f"must be the network's region ({network.spec.get('region')})")
    _require_active("connection", connection)
    _require_active("network", network)
    created = await ctx.svc.writer.create_cluster(ctx.caller.identity(), ctx.org, connection, network, body)
    return common.json_bytes(created.json, 201)


@router.get("/{cluster}", response_model=api.InfraClusterItem, summary="Describe a provisioned cluster by connection",
            responses=common.error_responses(404))
async def get_cluster(ctx: deps.OrgContext, cluster: deps.ConnectionCluster) -> fastapi.Response:
    return common.json_bytes(views.infra_item(ctx.cache, cluster))


@router.post("/{cluster}", response_model=api.ExternalClusterPublic, status_code=202,
             summary="Update a provisioned cluster", responses=common.error_responses(400, 403, 404, 409, 415),
             dependencies=[deps.JsonBody], description=(
                 "A partial update: a field left out keeps its value, objects merge field by field and lists "
                 "are replaced whole (the table in the guide, \"Updates\")."))
async def update_cluster(ctx: deps.OrgContext, cluster: deps.ConnectionCluster,
                         body: api.ClusterUpdate) -> fastapi.Response:
    await deps.require_write(ctx, "patch", cluster)
    patch = cluster_updates.patch_of(body)
    cluster_updates.check(cluster.spec, patch, ctx.cache.team_names(ctx.org))
    if "config" in patch:
        current = cluster.spec.get("config") or {}
        await offerings.require_offered(ctx.svc.versions, ctx.cache,
                                        ctx.cache.ref(cluster, "connectionRef", kinds.CONNECTION),
                                        str(cluster.spec.get("region") or ""),
                                        cluster_updates.merged(current, patch["config"]), current)
    updated = await ctx.svc.writer.update_cluster(ctx.caller.identity(), cluster, patch)
    return common.json_bytes(updated.json, 202)


@router.delete("/{cluster}", response_model=api.OperationPublic, status_code=202,
               summary="Destroy a provisioned cluster", responses=common.error_responses(403, 404, 409, 504))
async def destroy_cluster(ctx: deps.OrgContext, cluster: deps.ConnectionCluster) -> fastapi.Response:
    await deps.require_write(ctx, "patch", cluster)
    status = cluster.public.get("status")
    current = ctx.cache.latest_operation(cluster, "destroy")
    if cluster.spec.get("desiredState") == "Destroyed" and current is not None and \
            operation_model.in_flight(current.status.get("status")):
        return common.json_bytes(current.json, 202)  # asked again: the destroy under way
    if status == "destroyed" or common.nothing_in_cloud(ctx.cache, cluster):
        raise errors.ApiError(409, f"cluster {cluster.id} has no infrastructure to destroy (status {status})")
    return await _change_state(ctx, cluster, "Destroyed", "destroy")


@router.post("/{cluster}/provision", response_model=api.OperationPublic, status_code=202,
             summary="Provision a cluster", responses=common.error_responses(403, 404, 409, 504))
async def provision_cluster(ctx: deps.OrgContext, cluster: deps.ConnectionCluster) -> fastapi.Response:
    await deps.require_write(ctx, "patch", cluster)
    status = cluster.public.get("status")
    if status not in ("pending", "destroyed", "failed"):
        raise errors.ApiError(409, f"cluster {cluster.id} is {status}; only a pending, destroyed or failed "
                                   "cluster can be provisioned")
    _require_active("connection", ctx.cache.ref(cluster, "connectionRef", kinds.CONNECTION))
    _require_active("network", ctx.cache.ref(cluster, "networkRef", kinds.NETWORK))
    return await _change_state(ctx, cluster, "Provisioned", "provision")


@router.get("/{cluster}/health", response_model=api.Health, summary="Get provisioned cluster health status",
            responses=common.error_responses(404))
async def get_cluster_health(cluster: deps.ConnectionCluster) -> dict[str, Any]:
    return cluster.status.get("health") or {"status": "unknown"}


@router.get("/{cluster}/kubeconfig", response_model=api.Kubeconfig, summary="Get provisioned cluster kubeconfig",
            responses=common.error_responses(403, 404, 409, 502))
async def get_cluster_kubeconfig(ctx: deps.OrgContext, cluster: deps.ConnectionCluster) -> dict[str, Any]:
    # a member of a Team the cluster names gets it, and so does whoever RBAC lets `get` it; it carries
    # no credential either way: the person's own AWS identity and access entry decide on the cluster
    if not team_rules.may_see(cluster.outline(), ctx.cache.teams_of(ctx.caller.username, ctx.caller.groups)):
        await ctx.svc.authorizer.require(ctx.caller, "get", "provisionedclusters/kubeconfig", ctx.org, cluster.name)
    obj, conn = _typed(ctx, cluster)
    return await customer_calls.run(ctx.svc.api, access.kubeconfig, obj, conn)


@router.get("/{cluster}/metrics", response_model=api.Metrics, summary="Get provisioned cluster metrics",
            responses=common.error_responses(400, 404, 409, 502))
async def get_cluster_metrics(ctx: deps.OrgContext, cluster: deps.ConnectionCluster,
                              period: Annotated[str, fastapi.Query(max_length=16, description=(
                                  'The period for metrics: "1h", "24h" or "7d".'))] = "1h") -> dict[str, Any]:
    try:
        usage_metrics.parse_period(period)
    except ValueError as exc:
        raise errors.invalid("period", str(exc).removeprefix("period: ")) from None
    obj, conn = _typed(ctx, cluster)
    return await customer_calls.run(ctx.svc.api, access.metrics, obj, conn, period=period)


def _typed(ctx: deps.Context, cluster: store.Entry) -> tuple[provisioned_cluster.ProvisionedCluster,
                                                               connection_model.Connection]:
    """The cluster and its Connection as their models, for the calls into the customer's account."""
    return (kinds.PROVISIONED_CLUSTER.parse(cluster.obj),
            kinds.CONNECTION.parse(deps.owning_connection(ctx, cluster).obj))


async def _change_state(ctx: deps.Context, cluster: store.Entry, desired: str, operation: str) -> fastapi.Response:
    started = await ctx.svc.writer.set_desired_state(ctx.caller.identity(), cluster, desired, operation)
    if started is None:
        raise errors.ApiError(504, f"desiredState of cluster {cluster.id} is now {desired}, but the operator has "
                                   f"not started the {operation} Operation within {ctx.svc.settings.api_write_wait:g}s "
                                   "(it may be waiting for a running one); follow the cluster's status",
                              code="OperationNotStarted")
    return common.json_bytes(started.json, 202)


def _require_active(what: str, entry: store.Entry | None) -> None:
    if entry is None:
        raise errors.ApiError(409, f"the cluster's {what} no longer exists")
    if entry.public.get("status") != "active":
        raise errors.ApiError(409, f"{what} {entry.id} is {entry.public.get('status')}, not active")
