-- Argo CD health of a fleetyard.io/v1alpha1 Team (members and groups who may use the clusters naming it).
-- A Team has nothing to reconcile: the REST API reads it as it is stored (who sees which clusters), so
-- there is no progress or failure to report. The operator only copies the id label into status.id.
-- Uses only Lua's base functions: argocd-cm scripts run without the standard libraries (no string.*).

local hs = {}
hs.status = "Healthy"
hs.message = "A Team takes effect when it is stored"
return hs
