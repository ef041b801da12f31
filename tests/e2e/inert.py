"""An organization where nothing can be built, for tests that send arbitrary or unauthorised writes
through the REST API: its Connection is active, but the role behind it may only be assumed.

The Network made on it fails to provision (AccessDenied from EC2, not retried: Stalled), so it never
becomes active; creating a cluster and provisioning one then answer 409, and ProvisionedClusters
kept at desiredState Pending have a Cluster record, an id and nothing in the cloud. Whatever the
tests send, no VPC or EKS cluster gets built.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fleetyard.devenv import customer_account
from fleetyard.models import kinds
from tests.conftest import get, wait_for
from tests.e2e import connections, infra

ASSUME_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["sts:GetCallerIdentity"], "Resource": "*"}]}


def assume_only_role(env) -> customer_account.ConnectionRole:
    """A role fleetyard may assume (trust policy with the external id) that may do nothing else."""
    name, role = connections.trusted_role(env, "fy-assume-only")
    infra.aws(env, "iam").put_role_policy(RoleName=name, PolicyName="assume-only",
                                          PolicyDocument=json.dumps(ASSUME_ONLY))
    return role


def organization(env, custom, core, prefix: str) -> str:
    """A fresh namespace with an active Connection `prod` (assume-only role) and a Network `net` on it."""
    from fleetyard.kube import apply as kube_apply

    namespace = f"{prefix}-{uuid.uuid4().hex[:6]}"
    kube_apply.ensure_namespace(env.api, namespace)
    connections.secret(core, namespace, "ext-id", connections.EXTERNAL_ID)
    connections.connection(custom, namespace, assume_only_role(env))
    connections.status_when(custom, namespace, "active")
    infra.network(custom, namespace)
    return namespace


def pending_cluster(custom, namespace: str, name: str, teams: list[str] = (), **spec: Any) -> None:
    """A ProvisionedCluster that is only a record (desiredState Pending) on Network `net`."""
    infra.cluster(custom, namespace, name, desiredState="Pending", displayName=f"Cluster {name}",
                  access={"teams": list(teams)}, **spec)


def record_id(custom, namespace: str, name: str, timeout: float = 30) -> str:
    """The id of the Cluster record the operator keeps beside ProvisionedCluster `name`."""
    def probe() -> str | None:
        try:
            record = get(custom, namespace, kinds.CLUSTER, name)
        except Exception:  # noqa: BLE001 - not created yet
            return None
        if not (record.get("status") or {}).get("externalClusterId"):
            return None
        return (record["metadata"].get("labels") or {}).get(kinds.ID_LABEL)
    return wait_for(probe, timeout, f"the Cluster record of {name}")


def network_not_active(custom, namespace: str, name: str = "net") -> dict[str, Any]:
    """The Network once its provisioning failed (it stays so: AccessDenied is not retried)."""
    return infra.phase_is(custom, namespace, kinds.NETWORK, name, "failed", timeout=120, generation=False)


def ids_in(custom, namespace: str) -> set[str]:
    """Every seed id held by a fleetyard object of the namespace (every kind)."""
    found = set()
    for kind in kinds.ALL:
        for obj in custom.list_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kind.plural)["items"]:
            value = (obj["metadata"].get("labels") or {}).get(kinds.ID_LABEL) or (obj.get("status") or {}).get("id")
            if value:
                found.add(value)
    return found

