"""Which organization (namespace) a request acts in, derived from the caller's identity.

A ServiceAccount belongs to its namespace; anyone belongs to each namespace where a Team lists
them (by username or group). The header `X-Fleetyard-Organization` picks one when there are
several; it may also name a namespace where RBAC lets the caller list ProvisionedClusters (an
administrator outside every Team). Anything else is 404, never another organization's data.
"""

from __future__ import annotations

from fleetyard.rest import authn, authz, errors, store

HEADER = "X-Fleetyard-Organization"


def member_of(cache: store.Store, caller: authn.Caller) -> set[str]:
    found = {ns for ns, _ in cache.teams_of(caller.username, caller.groups)}
    if caller.service_account_namespace:
        found.add(caller.service_account_namespace)
    return found


async def resolve(cache: store.Store, access: authz.Authorizer, caller: authn.Caller, requested: str | None) -> str:
    orgs = member_of(cache, caller)
    if requested:
        if requested in orgs or await access.allowed(caller, "list", "provisionedclusters", requested):
            return requested
        raise errors.not_found(f"organization {requested}")
    if len(orgs) == 1:
        return next(iter(orgs))
    if not orgs:
        message = f"you belong to no organization; name one with the {HEADER} header"
    else:
        message = f"you belong to several organizations ({', '.join(sorted(orgs))}); pick one with the {HEADER} header"
    raise errors.ApiError(400, message, field_errors={HEADER: message})
