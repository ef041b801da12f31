"""Verifying a Connection: external id -> AssumeRole -> account -> CloudFormation template version,
and the status, Event and schedule that follow from the outcome.

Called by `fleetyard.controllers.connection`. The phases take their outside world as arguments
(a Secret reader and a boto3 session), so they run in unit tests with fakes and in the operator
for real; the external id and the role come through `fleetyard.connections` like everywhere else.
Messages name what to fix and never contain the external id or credentials.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import boto3

from fleetyard.cloud import cloudformation, errors, sts
from fleetyard.connections import customer_session, external_id as external_id_mod, template
from fleetyard.models import conditions, connection, timestamps


@dataclasses.dataclass(frozen=True)
class Outcome:
    phase: str  # active | failed
    reason: str
    message: str
    retryable: bool = True
    credentials_used: bool = False
    template_synced: bool | None = None
    template_message: str | None = None
    request_id: str | None = None


class Failed(Exception):
    def __init__(self, reason: str, message: str, retryable: bool = True, credentials_used: bool = False,
                 request_id: str | None = None) -> None:
        super().__init__(message)
        self.outcome = Outcome("failed", reason, message, retryable, credentials_used, request_id=request_id)


def assume(config: connection.ConnectionProviderConfig, external_id: str, connection_id: str,
           base: boto3.Session) -> sts.AssumedRole:
    access = customer_session.Access(config.roleArn, external_id, customer_session.session_name(connection_id),
                                     config.region)
    try:
        return customer_session.assume(access, base)
    except errors.CloudError as exc:
        denied = exc.code in ("AccessDenied", "AccessDeniedException", "InvalidClientTokenId")
        hint = ("check the role's trust policy names the fleetyard principal and that the external id matches"
                if denied else "AWS did not answer as expected")
        raise Failed("AssumeRoleFailed", f"the role {config.roleArn} could not be assumed ({exc.code}): {hint}",
                     exc.retryable or denied, request_id=exc.request_id)


def check_account(config: connection.ConnectionProviderConfig, role: sts.AssumedRole) -> None:
    try:
        account = sts.caller_account(role.session(config.region))
    except errors.CloudError as exc:
        raise Failed("IdentityCheckFailed", f"GetCallerIdentity with the assumed role failed ({exc.code})",
                     exc.retryable, credentials_used=True, request_id=exc.request_id)
    if account != config.accountId:
        raise Failed("AccountMismatch", f"the assumed role belongs to account {account}, "
                     f"not providerConfig.accountId {config.accountId}", False, credentials_used=True)


def check_template(config: connection.ConnectionProviderConfig, role: sts.AssumedRole) -> tuple[bool | None, str]:
    """(synced, message) about the stack that created the role."""
    if not config.stackArn:
        return None, "no providerConfig.stackArn given: the template version is not checked"
    try:
        stack = cloudformation.describe_stack(role.session(config.region), config.stackArn)
    except errors.CloudError as exc:
        raise Failed("StackCheckFailed", f"could not describe stack {config.stackArn} ({exc.code})",
                     exc.retryable, credentials_used=True, request_id=exc.request_id)
    if stack is None:
        raise Failed("StackNotFound", f"the CloudFormation stack {config.stackArn} (providerConfig.stackArn) "
                     "does not exist", True, credentials_used=True)
    if not stack.status.endswith("_COMPLETE") or "ROLLBACK" in stack.status:
        raise Failed("StackNotReady", f"the CloudFormation stack {stack.name} is {stack.status}", True,
                     credentials_used=True)
    version = stack.outputs.get(template.VERSION_OUTPUT)
    if version == template.VERSION:
        return True, f"stack {stack.name} is at template version {version}"
    return False, (f"stack {stack.name} was created from template version {version or 'unknown'}; "
                   f"update it to {template.VERSION}")


def verify(namespace: str, connection_id: str, spec: connection.ConnectionSpec,
           read_secret: external_id_mod.SecretReader, base: boto3.Session) -> Outcome:
    config = spec.providerConfig
    try:
        try:
            external_id = external_id_mod.read(namespace, config, read_secret, base)
        except external_id_mod.Unreadable as exc:
            raise Failed(exc.reason, exc.message, exc.retryable, request_id=exc.request_id) from None
        role = assume(config, external_id, connection_id, base)
        check_account(config, role)
        synced, template_message = check_template(config, role)
    except Failed as failure:
        return failure.outcome
    return Outcome("active", "Verified", f"assumed {config.roleArn} in account {config.accountId}",
                   credentials_used=True, template_synced=synced, template_message=template_message)


def status_patch(status: connection.ConnectionStatus, outcome: Outcome, generation: int | None,
                 now: str) -> dict[str, Any]:
    """The status fields to write after a verification."""
    conds = list(status.as_stored().get("conditions") or [])
    ok = outcome.phase == "active"
    conds = conditions.set_condition(conds, conditions.CONNECTION_VERIFIED, ok, outcome.reason, outcome.message,
                                     generation, now)
    conds = conditions.set_condition(conds, conditions.READY, ok, outcome.reason, outcome.message, generation, now)
    conds = conditions.set_condition(conds, conditions.RECONCILING, False, "Verified" if ok else "WaitingToRetry",
                                     "" if ok else "verification will be retried", generation, now)
    conds = conditions.set_condition(conds, conditions.STALLED, not ok and not outcome.retryable, outcome.reason,
                                     "" if ok or outcome.retryable else outcome.message, generation, now)
    patch: dict[str, Any] = {
        "status": outcome.phase,
        "statusMessage": outcome.message,
        "lastVerifiedAt": now,
        "observedGeneration": generation,
    }
    if outcome.credentials_used:
        patch["lastUsedAt"] = now
    if outcome.template_synced is not None or outcome.template_message is not None:
        conds = conditions.set_condition(
            conds, conditions.TEMPLATE_SYNCED, "Unknown" if outcome.template_synced is None else outcome.template_synced,
            "NoStack" if outcome.template_synced is None else ("InSync" if outcome.template_synced else "Outdated"),
            outcome.template_message or "", generation, now)
        patch["templateSyncMessage"] = outcome.template_message
        if outcome.template_synced:
            patch["templateSyncedAt"] = now
    patch["conditions"] = conds
    return patch


def transition_event(previous_phase: str | None, previous_reason: str | None,
                     outcome: Outcome) -> tuple[str, str, str] | None:
    """(type, reason, message) of the Event to post, or None when nothing changed."""
    if previous_phase == outcome.phase and (outcome.phase == "active" or previous_reason == outcome.reason):
        return None
    if outcome.phase == "active":
        return "Normal", "Verified", f"Connection is active: {outcome.message}"
    return "Warning", outcome.reason, f"Connection verification failed: {outcome.message}"


def is_due(status: connection.ConnectionStatus, generation: int | None, now: datetime.datetime,
           verify_interval: float, retry_interval: float) -> bool:
    """Whether to verify again: spec changed, never verified, or interval elapsed."""
    return seconds_until_due(status, generation, now, verify_interval, retry_interval) <= 0


def seconds_until_due(status: connection.ConnectionStatus, generation: int | None, now: datetime.datetime,
                      verify_interval: float, retry_interval: float) -> float:
    """How long until the next verification is due (0 or less: now). Re-verified every
    `verify_interval` while active, every `retry_interval` otherwise."""
    if status.observedGeneration != generation:
        return 0.0
    age = timestamps.age(status.lastVerifiedAt, now)
    if age is None:
        return 0.0
    return (verify_interval if status.status == "active" else retry_interval) - age
