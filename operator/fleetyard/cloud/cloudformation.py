"""CloudFormation: describe the stack that created a Connection's role.

Called by the Connection reconciler to check the stack exists and which template version made it.
"""

from __future__ import annotations

import dataclasses

import boto3

from fleetyard.cloud import errors, session as sessions


@dataclasses.dataclass(frozen=True)
class Stack:
    name: str
    status: str
    outputs: dict[str, str]


def describe_stack(sess: boto3.Session, stack_arn: str) -> Stack | None:
    """The stack, or None when it does not exist (deleted stacks count as missing)."""
    try:
        out = sessions.client(sess, "cloudformation", sessions.region_of_arn(stack_arn)).describe_stacks(
            StackName=stack_arn)
    except Exception as exc:
        err = errors.translate(exc)
        if err.code == "ValidationError" and "does not exist" in err.message:
            return None
        raise err from None
    stacks = out.get("Stacks") or []
    if not stacks or stacks[0]["StackStatus"] == "DELETE_COMPLETE":
        return None
    s = stacks[0]
    return Stack(s["StackName"], s["StackStatus"],
                 {o["OutputKey"]: o.get("OutputValue", "") for o in s.get("Outputs") or []})
