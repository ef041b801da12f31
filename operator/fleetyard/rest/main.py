"""The `fleetyard api` process: builds the FastAPI app and serves it with uvicorn (uvloop, httptools).

At start-up one asyncio Kubernetes client, the store and one informer per kind start; `/healthz`
answers 200 once every informer has listed, and other requests get a 503 until then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import fastapi
import uvicorn

from fleetyard import settings as settings_mod
from fleetyard.connections import eks_versions
from fleetyard.kube import async_client, informer
from fleetyard.models import kinds
from fleetyard.rest import authn, authz, deps, errors, head, request_ids, store, writes
from fleetyard.rest.routers import clusters, common, connection_clusters, connections, me

log = logging.getLogger(__name__)


def create_app(settings: settings_mod.Settings) -> fastapi.FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: fastapi.FastAPI) -> AsyncIterator[None]:
        api = await async_client.api_client()
        cache = store.Store()
        watchers = [informer.Informer(api, kind, _replace(cache, kind), _event(cache, kind),
                                      _version(cache, kind), transform=store.listed) for kind in kinds.ALL]
        tasks = [asyncio.create_task(w.run(), name=f"informer-{w.kind.plural}") for w in watchers]
        app.state.informers = watchers
        app.state.services = deps.Services(
            settings, cache, authn.Authenticator(api, settings.api_token_cache_ttl, settings.api_impersonate_extras),
            authz.Authorizer(api, settings.api_access_cache_ttl), writes.Writer(api, cache, settings.api_write_wait), api,
            eks_versions.Versions(settings.eks_versions_ttl, settings.eks_versions_failure_ttl))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await api.close()

    # no redirect for a trailing slash: a 404 that names the path without it (errors.not_found_message)
    app = fastapi.FastAPI(
        title="fleetyard clusters API", version="1.0.0", lifespan=lifespan, redirect_slashes=False,
        description="Kubernetes cluster management, both self-registered and provisioned into cloud accounts.")
    errors.install(app)
    app.add_middleware(head.Head)
    app.add_middleware(request_ids.RequestIds)  # outermost: logs HEAD as HEAD
    for router in (me.router, clusters.router, connection_clusters.router, connections.router):
        app.include_router(router)
    app.openapi = _document(app)  # type: ignore[method-assign]

    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: fastapi.Request) -> fastapi.Response:
        ready = deps.synced(request.app)
        return fastapi.Response(b"ok" if ready else b"syncing", status_code=200 if ready else 503)

    return app


def _document(app: fastapi.FastAPI) -> Callable[[], dict[str, Any]]:
    """FastAPI's document, with the invalid-request answer this API gives: FastAPI documents 422
    (`HTTPValidationError`) for every operation with parameters, but `errors.install` answers a
    request that fails validation with 400 and the seed's error object."""
    generate = app.openapi

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = generate()
            for item in doc.get("paths", {}).values():
                for operation in item.values():
                    responses = operation.get("responses", {})
                    if responses.pop("422", None) is not None and "400" not in responses:
                        responses["400"] = {"description": common.described(400), "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            schemas = doc.get("components", {}).get("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
        return app.openapi_schema  # type: ignore[return-value]

    return document


def _replace(cache: store.Store, kind: kinds.Kind):  # type: ignore[no-untyped-def]
    return lambda items, version: cache.replace(kind, items, version)


def _event(cache: store.Store, kind: kinds.Kind):  # type: ignore[no-untyped-def]
    return lambda event_type, obj: cache.apply_event(kind, event_type, obj)


def _version(cache: store.Store, kind: kinds.Kind):  # type: ignore[no-untyped-def]
    return lambda version: cache.observe_version(kind, version)


def configure_logging(as_json: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(request_ids.JsonFormatter() if as_json else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def run(settings: settings_mod.Settings) -> None:
    configure_logging(settings.log_json)
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port, loop="uvloop",
                http="httptools", log_config=None, access_log=False, lifespan="on")
