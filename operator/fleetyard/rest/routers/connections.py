"""/infra/connections/{connection}/instance-types (an extension): the Connection's instance-type catalog,
as the seed's Operation whose `result` holds `items` (one per type of the region) and `metadata`.

The operator lists the catalog after each successful verification of the Connection (at most once a
day) in a `listInstanceTypes` Operation; this answers the newest that succeeded, or, while none has, the
newest one (queued, running or failed, with its error). Reads need RBAC `get` on the connection.
"""

from __future__ import annotations

import fastapi

from fleetyard.models import api
from fleetyard.rest import deps, errors, offerings
from fleetyard.rest.routers import common

router = fastapi.APIRouter(prefix="/infra/connections/{connection}", tags=["connections"])


@router.get("/instance-types", response_model=api.OperationPublic, summary="Get a connection's instance-type catalog",
            responses=common.error_responses(404, 409), openapi_extra={api.EXTENSION: True}, description=(
                api.EXTENSION_PREFIX + "the instance types the connection's region offers, as the `listInstanceTypes` "
                "Operation that listed them (`result.items`, `result.metadata`): the newest that succeeded, or "
                "the newest one while none has. 409 until the connection has been verified once."))
async def get_instance_types(ctx: deps.OrgContext, connection: deps.PathConnection) -> fastapi.Response:
    found = offerings.catalog_operation(ctx.cache, connection)
    if found is None:
        raise errors.ApiError(409, f"connection {connection.id} has no instance-type catalog yet (it is listed once "
                                   f"the connection is verified; status {connection.public.get('status')})")
    return common.json_bytes(found.json)
