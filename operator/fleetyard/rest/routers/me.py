"""/me/clusters: the clusters the caller may use through Team membership (Cluster records).

No RBAC check: visibility is exactly `access.teams` against the caller's Teams (the day-2 rule in
`fleetyard.teams`). A cluster the caller cannot see is a 404, like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Literal

import fastapi

from fleetyard.models import api
from fleetyard.rest import deps, errors, organizations, store, views
from fleetyard.rest.routers import common

router = fastapi.APIRouter(prefix="/me/clusters", tags=["me"])


def _visible(ctx: deps.Context, descending: bool = False) -> list[store.Entry]:
    memberships = ctx.cache.teams_of(ctx.caller.username, ctx.caller.groups)
    if ctx.requested:
        if ctx.requested not in organizations.member_of(ctx.cache, ctx.caller):
            raise errors.not_found(f"organization {ctx.requested}")
        memberships = {m for m in memberships if m[0] == ctx.requested}
    return ctx.cache.records_for(memberships, descending)


@router.get("", response_model=api.MyClusterList, summary="List my clusters",
            responses=common.error_responses(400, 404))
async def list_my_clusters(
    ctx: deps.MeContext,
    limit: Annotated[int, fastapi.Query(ge=0, le=100, description="The maximum number of items to list.")] = 100,
    page: Annotated[int, fastapi.Query(ge=1, le=2**31 - 1, description="The page number (1-indexed).")] = 1,
    sortBy: Annotated[Literal["name"], fastapi.Query(description="The field to sort by.")] = "name",  # noqa: N803
    sortDirection: Annotated[Literal["asc", "desc"], fastapi.Query(  # noqa: N803
        description="The direction to sort.")] = "asc",
) -> fastapi.Response:
    ordered = _visible(ctx, sortDirection == "desc")
    return common.json_bytes(views.my_page(ctx.cache, ordered, page, limit))


@router.get("/{cluster}", response_model=api.MyClusterItem, summary="Describe an accessible cluster",
            responses=common.error_responses(404))
async def get_my_cluster(ctx: deps.MeContext, cluster: deps.ClusterId) -> fastapi.Response:
    record = next((r for r in _visible(ctx) if r.id == cluster), None)
    if record is None:
        raise errors.not_found(f"cluster {cluster}")
    return common.json_bytes(views.my_item(ctx.cache, record))


