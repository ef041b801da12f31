"""May the caller do this: SubjectAccessReview against the management cluster, cached briefly.

Used for the REST API's reads (writes go to the apiserver as the caller, see
`fleetyard.kube.impersonation`). Answers are cached per (caller, verb, resource, namespace,
name) for `api_access_cache_ttl` seconds, so a revoked RoleBinding takes at most that long.
A resource may name a subresource as `kubectl auth can-i` does (`provisionedclusters/kubeconfig`).
"""

from __future__ import annotations

from kubernetes_asyncio import client as aclient

from fleetyard.kube import reviews
from fleetyard.models import kinds
from fleetyard.rest import authn, errors, ttl_cache


class Authorizer:
    def __init__(self, api: aclient.ApiClient, ttl: float) -> None:
        self._api = api
        self._cache: ttl_cache.TtlCache[bool] = ttl_cache.TtlCache(ttl)

    async def allowed(self, caller: authn.Caller, verb: str, resource: str, namespace: str,
                      name: str | None = None, group: str = kinds.GROUP) -> bool:
        key = (caller, verb, group, resource, namespace, name)
        return await self._cache.get_or_load(key, lambda: self._review(caller, verb, group, resource, namespace, name))

    async def require(self, caller: authn.Caller, verb: str, resource: str, namespace: str,
                      name: str | None = None, group: str = kinds.GROUP, hide: bool = False,
                      what: str = "the resource") -> None:
        """Raise 403 (or 404 when `hide`: the caller must not learn that it exists)."""
        if not await self.allowed(caller, verb, resource, namespace, name, group):
            if hide:
                raise errors.not_found(what)
            raise errors.ApiError(403, f"{caller.username} may not {verb} {resource} in {namespace}")

    async def _review(self, caller: authn.Caller, verb: str, group: str, resource: str, namespace: str,
                      name: str | None) -> bool:
        try:
            return await reviews.access_review(self._api, caller.username, caller.uid, caller.groups,
                                               {k: list(v) for k, v in caller.extra},
                                               reviews.Attributes(verb, group, resource, namespace, name))
        except reviews.ReviewUnavailable as exc:
            raise errors.ApiError(503, "could not check access with the Kubernetes API", retryable=True,
                                  retry_after=1, caused_by=str(exc)) from None
