-- Argo CD health of a fleetyard.io/v1alpha1 Connection (an IAM role in a customer's AWS account).
-- The status is kstatus-shaped (https://github.com/kubernetes-sigs/cli-utils/blob/master/pkg/kstatus/README.md):
-- status.observedGeneration and the conditions Ready, Reconciling, Stalled, ConnectionVerified, TemplateSynced,
-- next to status.status (pending, active, failed) and status.statusMessage, written after every verification
-- (operator/fleetyard/controllers/connection_phases.py). A failed verification is retried every 30 s unless it
-- cannot succeed without a change (Stalled); both are Degraded: the Connection does not work until then.
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
  hs.message = "Waiting for the first verification"
  return hs
end

local generation = obj.metadata.generation
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to verify generation " .. generation
  return hs
end

local phase = status.status
local stalled = condition(status, "Stalled")
local ready = condition(status, "Ready")
if phase == "failed" or (stalled ~= nil and stalled.status == "True") then
  hs.status = "Degraded"
  hs.message = text(status.statusMessage, stalled ~= nil and stalled.message, "Connection verification failed")
  return hs
end

if phase == "active" and ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = text(status.statusMessage, "Connection is active")
  -- an outdated role template still works: say so without calling the Connection unhealthy
  local template = condition(status, "TemplateSynced")
  if template ~= nil and template.status == "False" then
    hs.message = hs.message .. "; " .. text(template.message, status.templateSyncMessage, "template outdated")
  end
  return hs
end

hs.status = "Progressing"
hs.message = text(status.statusMessage, ready ~= nil and ready.message, "Connection is " .. phase)
return hs
