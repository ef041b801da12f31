-- Argo CD health of a fleetyard.io/v1alpha1 ProvisionedCluster (an EKS cluster fleetyard builds through Pulumi).
-- The status is kstatus-shaped (https://github.com/kubernetes-sigs/cli-utils/blob/master/pkg/kstatus/README.md):
-- status.observedGeneration and the conditions Ready, Reconciling, Stalled, Provisioned, next to the phase in
-- status.status (pending, provisioning, active, updating, destroying, destroyed, failed) and status.statusMessage,
-- written by fleetyard's reconciler (operator/fleetyard/controllers/infra_phases.py). The health check
-- (operator/fleetyard/day2/assessment.py) adds status.lastHealthStatus (healthy, degraded, unhealthy, unknown),
-- lastHealthMessage and the Healthy condition every minute while the cluster is active or updating.
-- An active cluster whose control plane, API, node group or system pods fail is Degraded, as Cluster API's
-- Cluster is when its Ready condition turns False with severity Warning/Error after provisioning.
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
local desired = "Provisioned"
if obj.spec ~= nil and obj.spec.desiredState ~= nil then
  desired = obj.spec.desiredState
end
local stalled = condition(status, "Stalled")
local ready = condition(status, "Ready")
if phase == "failed" or (stalled ~= nil and stalled.status == "True") then
  hs.status = "Degraded"
  hs.message = text(status.statusMessage, stalled ~= nil and stalled.message, "ProvisionedCluster is " .. phase)
  return hs
end

-- spec.desiredState Pending (record only) or Destroyed (infrastructure removed, record kept), once done
if (phase == "pending" and desired == "Pending") or (phase == "destroyed" and desired == "Destroyed")
    or (phase == "active" and desired == "Pending") then
  hs.status = "Suspended"
  hs.message = text(status.statusMessage, "desiredState is " .. desired)
  return hs
end

if phase == "active" and desired == "Provisioned" then
  if ready == nil or ready.status ~= "True" then
    hs.status = "Progressing"
    hs.message = text(ready ~= nil and ready.message, "Waiting for the Ready condition")
    return hs
  end
  local health = status.lastHealthStatus
  local detail = text(status.lastHealthMessage, health)
  if health == "healthy" then
    hs.status = "Healthy"
    hs.message = "Cluster is active and healthy: " .. detail
  elseif health == "degraded" or health == "unhealthy" then
    hs.status = "Degraded"
    hs.message = "Cluster is active but " .. health .. ": " .. detail
  elseif health == "unknown" then
    hs.status = "Unknown"
    hs.message = "Cluster is active; its health is unknown: " .. detail
  else
    hs.status = "Progressing"
    hs.message = "Cluster is active; waiting for the first health check"
  end
  return hs
end

-- pending (waiting for its Connection or Network), provisioning, updating, destroying, an active cluster
-- about to be destroyed, and any phase newer than this script
local reconciling = condition(status, "Reconciling")
hs.status = "Progressing"
hs.message = text(status.statusMessage, reconciling ~= nil and reconciling.message, "ProvisionedCluster is " .. phase)
return hs
