-- Argo CD health of a fleetyard.io/v1alpha1 Operation: one run of long work (a Pulumi provision, update,
-- destroy or refresh, or a catalog query) that fleetyard's reconciler creates, owned by its target, so Argo CD
-- shows it under its Network or ProvisionedCluster. Written by the runner (operator/fleetyard/provisioning/runner.py):
-- status.status (queued, running, succeeded, failed, cancelled), status.progress {stage, message}, status.error.
-- cancelled is Suspended: the run was stopped, not failed; the target starts a new one and its own health
-- says whether the work got done.
-- Uses only Lua's base functions: argocd-cm scripts run without the standard libraries (no string.*).

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
local what = obj.spec.operation .. " of " .. obj.spec.resourceRef.kind .. " " .. obj.spec.resourceRef.name
if status == nil or status.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the runner to take the " .. what
  return hs
end

local phase = status.status
local progress = status.progress
if progress == nil then
  progress = {}
end
if phase == "succeeded" then
  hs.status = "Healthy"
  hs.message = text(progress.message, what .. " succeeded")
elseif phase == "failed" then
  hs.status = "Degraded"
  if status.error ~= nil then
    hs.message = text(status.error.code, "Failed") .. ": " .. text(status.error.message, what .. " failed")
  else
    hs.message = text(progress.message, what .. " failed")
  end
elseif phase == "cancelled" then
  hs.status = "Suspended"
  hs.message = text(progress.message, what .. " was cancelled")
else
  -- queued (waiting for a free worker), running, and any phase newer than this script
  hs.status = "Progressing"
  hs.message = text(progress.message, what .. " is " .. phase)
end
return hs
