-- Argo CD health of a fleetyard.io/v1alpha1 Network (a VPC fleetyard builds through Pulumi).
-- The status is kstatus-shaped (https://github.com/kubernetes-sigs/cli-utils/blob/master/pkg/kstatus/README.md):
-- status.observedGeneration and the conditions Ready, Reconciling, Stalled, Provisioned, next to the phase in
-- status.status (pending, provisioning, active, updating, destroying, destroyed, failed) and status.statusMessage,
-- all written by fleetyard's reconciler (operator/fleetyard/controllers/infra_phases.py, infra_reconciler.py).
-- Uses only Lua's base functions: argocd-cm scripts run without the standard libraries (no string.*).

local function condition(status, type)
  if status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function text(...)
  for i = 1, select("#", ...) do
    local value = select(i, ...)
    if type(value) == "string" and value ~= "" then
      return value
    end
  end
  return ""
end

local hs = {}
local status = obj.status
if status == nil or status.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report a status"
  return hs
end

local generation = obj.metadata.generation
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to act on generation " .. generation
  return hs
end

local phase = status.status
local stalled = condition(status, "Stalled")
local ready = condition(status, "Ready")
if phase == "failed" or (stalled ~= nil and stalled.status == "True") then
  hs.status = "Degraded"
  hs.message = text(status.statusMessage, stalled ~= nil and stalled.message, "Network is " .. phase)
  return hs
end

if phase == "active" then
  if ready ~= nil and ready.status == "True" then
    hs.status = "Healthy"
    if status.providerNetworkId ~= nil then
      hs.message = text(status.statusMessage, "VPC " .. status.providerNetworkId .. " is active")
    else
      hs.message = text(status.statusMessage, "Network is active")
    end
    return hs
  end
  hs.status = "Progressing"
  hs.message = text(ready ~= nil and ready.message, "Waiting for the Ready condition")
  return hs
end

-- pending (waiting for its Connection), provisioning, updating, and any phase newer than this script. A Network
-- is destroying or destroyed only on its way out after kubectl delete, which Argo CD reports as "Pending deletion"
-- before it runs a health script.
local reconciling = condition(status, "Reconciling")
hs.status = "Progressing"
hs.message = text(status.statusMessage, reconciling ~= nil and reconciling.message, "Network is " .. phase)
return hs
