"""/infra/clusters: the organization's ProvisionedClusters across Connections, and deleting a
record whose infrastructure is gone. Reads need RBAC `list`/`get` on provisionedclusters."""

from __future__ import annotations

from typing import Annotated

import fastapi

from fleetyard.models import api, kinds
from fleetyard.rest import deps, errors, pagination, views
from fleetyard.rest.routers import common

router = fastapi.APIRouter(prefix="/infra/clusters", tags=["clusters"])

Limit = Annotated[int, fastapi.Query(ge=0, le=100, description="The maximum number of items to list.")]
Marker = Annotated[str | None, fastapi.Query(max_length=1024, description="The marker of the previous page.")]


@router.get("", response_model=api.InfraClusterList, summary="List provisioned clusters",
            responses=common.error_responses(400, 403, 404))
async def list_clusters(ctx: deps.OrgContext, limit: Limit = 100, marker: Marker = None) -> fastapi.Response:
    after = pagination.decode_marker(marker)
    await ctx.svc.authorizer.require(ctx.caller, "list", kinds.PROVISIONED_CLUSTER.plural, ctx.org)
    return common.json_bytes(views.infra_page(ctx.cache, ctx.cache.clusters_sorted[ctx.org], ctx.org, after, limit))


@router.get("/{cluster}", response_model=api.InfraClusterItem, summary="Describe a provisioned cluster",
            responses=common.error_responses(404))
async def get_cluster(ctx: deps.OrgContext, cluster: deps.InfraCluster) -> fastapi.Response:
    return common.json_bytes(views.infra_item(ctx.cache, cluster))


@router.delete("/{cluster}", status_code=204, response_class=fastapi.Response,
               summary="Delete a provisioned cluster record", responses=common.error_responses(403, 404, 409))
async def delete_cluster(ctx: deps.OrgContext, cluster: deps.InfraCluster) -> fastapi.Response:
    await deps.require_write(ctx, "delete", cluster)
    if not common.nothing_in_cloud(ctx.cache, cluster):
        raise errors.ApiError(409, f"cluster {cluster.id} still has infrastructure in the cloud (status "
                                   f"{cluster.public.get('status')}); destroy it first with DELETE "
                                   f"/infra/connections/{cluster.public.get('connectionId')}/clusters/{cluster.id}")
    await ctx.svc.writer.delete_cluster(ctx.caller.identity(), cluster)
    return fastapi.Response(status_code=204)
