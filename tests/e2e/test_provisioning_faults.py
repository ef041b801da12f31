"""What users see when provisioning cannot go ahead: waiting for a Connection or Network with a message
naming it, a permission error that stops (Stalled) until the Connection is fixed, and the seed's error
object on the failed Operation. Nothing crash-loops; every stop is explained in status and an Event."""

from __future__ import annotations

import json
import time

import pytest

from fleetyard.models import kinds
from tests.conftest import get, wait_for
from tests.e2e import connections, infra

pytestmark = pytest.mark.timeout(600)


def _message(custom, namespace, kind, name, text, timeout=30) -> dict:
    def probe():
        obj = get(custom, namespace, kind, name)
        return obj if text in ((obj.get("status") or {}).get("statusMessage") or "") else None
    return wait_for(probe, timeout, f"{kind.kind} {name} to say {text!r}")


def test_resources_wait_for_their_connection_and_network(env, namespace, custom, core, role) -> None:
    connections.secret(core, namespace, "ext-id", "not-the-external-id")
    connections.connection(custom, namespace, role)
    connections.status_when(custom, namespace, "failed")
    infra.network(custom, namespace)
    infra.cluster(custom, namespace)
    net = _message(custom, namespace, kinds.NETWORK, "net", "waiting for Connection prod to become active (it is failed)")
    assert net["status"]["status"] == "pending"
    pc = _message(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod", "waiting for Connection prod")
    assert pc["status"]["status"] == "pending"
    assert infra.operations(custom, namespace, "net") == []
    events = core.list_namespaced_event(namespace, field_selector="involvedObject.name=net").items
    assert any(e.reason == "Waiting" and "Connection prod" in e.message for e in events)
    # fixing the Secret makes the Connection active; the Network goes ahead, the cluster waits for it
    core.patch_namespaced_secret("ext-id", namespace, {"stringData": {"value": connections.EXTERNAL_ID}})
    connections.status_when(custom, namespace, "active", timeout=30)
    _message(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod", "waiting for Network net to become active")
    infra.phase_is(custom, namespace, kinds.NETWORK, "net", "active")
    infra.phase_is(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod", "active")
    for kind, name in ((kinds.PROVISIONED_CLUSTER, "prod"), (kinds.NETWORK, "net")):
        custom.delete_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kind.plural, name)
    infra.gone(custom, namespace, kinds.NETWORK, "net")


EC2_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["ec2:*", "sts:GetCallerIdentity"], "Resource": "*"}]}
EVERYTHING = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["ec2:*", "eks:*", "iam:*", "sts:GetCallerIdentity"], "Resource": "*"}]}


def test_permission_error_stalls_until_the_connection_changes(env, namespace, custom, core) -> None:
    iam = infra.aws(env, "iam")
    name, role = connections.trusted_role(env, "fy-ec2-only")
    policy = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(EC2_ONLY))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=policy)
    connections.secret(core, namespace, "ext-id", connections.EXTERNAL_ID)
    connections.connection(custom, namespace, role)
    connections.status_when(custom, namespace, "active")
    infra.network(custom, namespace, cidr="10.40.0.0/20")
    infra.phase_is(custom, namespace, kinds.NETWORK, "net", "active")
    infra.cluster(custom, namespace)
    pc = infra.phase_is(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod", "failed")
    conds = {c["type"]: c for c in pc["status"]["conditions"]}
    assert conds["Stalled"]["status"] == "True" and "AccessDenied" in pc["status"]["statusMessage"]
    error = infra.operations(custom, namespace, "prod")[-1]["status"]["error"]
    assert error["code"] == "AccessDenied" and error["details"]["retryable"] is False
    assert error["errorType"] and error["details"].get("causedBy")
    wait_for(lambda: any(e.type == "Warning" and e.reason == "Stalled" for e in core.list_namespaced_event(
        namespace, field_selector="involvedObject.name=prod").items), 10, "a Stalled Warning Event")
    runs = infra.operation_names(custom, namespace, "prod")
    time.sleep(3)  # several reconcile ticks: a terminal error is not retried on its own
    assert not infra.new_operations(custom, namespace, "prod", runs)
    # the customer widens the role's policy and touches the Connection: fleetyard tries again
    iam.create_policy_version(PolicyArn=policy, PolicyDocument=json.dumps(EVERYTHING), SetAsDefault=True)
    infra.patch_spec(custom, namespace, kinds.CONNECTION, "prod", {"displayName": "Prod (fixed)"})
    wait_for(lambda: infra.new_operations(custom, namespace, "prod", runs), 30, "a new attempt")
    newest = infra.operations(custom, namespace, "prod")[-1]["metadata"]["name"]
    wait_for(lambda: (get(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod").get("status") or {}).get(
        "operationRef") == {"name": newest}, 30, "the cluster to follow the new attempt")
    infra.phase_is(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod", "active")
    for kind, obj in ((kinds.PROVISIONED_CLUSTER, "prod"), (kinds.NETWORK, "net")):
        custom.delete_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kind.plural, obj)
    infra.gone(custom, namespace, kinds.NETWORK, "net")
