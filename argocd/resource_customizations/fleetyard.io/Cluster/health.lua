-- Argo CD health of a fleetyard.io/v1alpha1 Cluster: the record people use, either the mirror of a
-- ProvisionedCluster of the same name (spec.provisionedClusterRef; the operator creates and owns it and copies
-- status.status into status.externalStatus plus the health fields) or a self-registered cluster
-- (spec.kubeconfigSecretRef; the operator only checks it, through that kubeconfig, every minute).
-- Health fields (operator/fleetyard/day2/checks.py): status.lastHealthStatus (healthy, degraded,
-- unhealthy, unknown), lastHealthMessage, and for self-registered clusters the Healthy condition, whose
-- observedGeneration says which spec the last check used. A Cluster has no status.observedGeneration.
-- A reachable cluster that fails its checks is Degraded, as for ProvisionedCluster (and Cluster API's Cluster).
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

local function by_health(hs, status)
  local health = status.lastHealthStatus
  local detail = text(status.lastHealthMessage, health)
  if health == "healthy" then
    hs.status = "Healthy"
    hs.message = "Cluster is healthy: " .. detail
  elseif health == "degraded" or health == "unhealthy" then
    hs.status = "Degraded"
    hs.message = "Cluster is " .. health .. ": " .. detail
  elseif health == "unknown" then
    hs.status = "Unknown"
    hs.message = "Cluster health is unknown: " .. detail
  else
    hs.status = "Progressing"
    hs.message = "Waiting for the first health check"
  end
  return hs
end

local hs = {}
local status = obj.status
if status == nil then
  status = {}
end

local source = obj.spec.provisionedClusterRef
if source == nil then
  -- self-registered: only the health checks speak for it
  local healthy = condition(status, "Healthy")
  local generation = obj.metadata.generation
  if healthy ~= nil and generation ~= nil and healthy.observedGeneration ~= nil
      and healthy.observedGeneration < generation then
    hs.status = "Progressing"
    hs.message = "Waiting for a health check of generation " .. generation
    return hs
  end
  return by_health(hs, status)
end

local phase = status.externalStatus
local owner = "ProvisionedCluster " .. source.name
if phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for " .. owner .. " to report a status"
  return hs
end
if phase == "failed" then
  hs.status = "Degraded"
  hs.message = owner .. " has failed: its status says why"
  return hs
end
if phase == "destroyed" then
  hs.status = "Suspended"
  hs.message = owner .. " is destroyed"
  return hs
end
if phase == "active" then
  return by_health(hs, status)
end
-- pending, provisioning, updating, destroying: the ProvisionedCluster tells what it waits for or does
hs.status = "Progressing"
hs.message = owner .. " is " .. phase
return hs
