"""Valid sample specs and the table of invalid ones, shared by the model unit tests and the
admission tests against the real apiserver (the same rule must hold in both places)."""

from __future__ import annotations

import copy
from typing import Any

from fleetyard.models import kinds

CONNECTION_SPEC = {
    "displayName": "Production account",
    "providerConfig": {
        "accountId": "123456789012",
        "region": "us-east-1",
        "roleArn": "arn:aws:iam::123456789012:role/FleetyardConnection",
        "externalIdSecretRef": {"name": "ext-id", "key": "value"},
    },
}
NETWORK_SPEC = {"connectionRef": {"name": "prod"}, "displayName": "Prod network", "region": "us-east-1",
                "config": {"cidr": "10.0.0.0/16"}}
CLUSTER_SPEC = {
    "connectionRef": {"name": "prod"}, "networkRef": {"name": "prod-net"}, "displayName": "Prod cluster",
    "region": "us-east-1",
    "config": {"kubernetesVersion": "1.35",
               "systemNodeGroup": {"name": "system", "instanceTypes": ["m7g.large"], "minSize": 1, "maxSize": 3,
                                   "desiredSize": 2, "diskSizeGb": 100},
               "publicAccessCidrs": ["203.0.113.0/24"]},
}
VALID = {kinds.CONNECTION: CONNECTION_SPEC, kinds.NETWORK: NETWORK_SPEC, kinds.PROVISIONED_CLUSTER: CLUSTER_SPEC}


def with_change(spec: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    *parents, last = path.split(".")
    node = out
    for p in parents:
        node = node[p]
    if value is DELETE:
        node.pop(last)
    else:
        node[last] = value
    return out


DELETE = object()

# (id, kind, path, value, a fragment the error message must contain: it names the field)
INVALID = [
    ("desired-above-max", kinds.PROVISIONED_CLUSTER, "config.systemNodeGroup.desiredSize", 5, "desiredSize"),
    ("min-above-max", kinds.PROVISIONED_CLUSTER, "config.systemNodeGroup.minSize", 4, "minSize"),
    ("negative-size", kinds.PROVISIONED_CLUSTER, "config.systemNodeGroup.minSize", -1, "minSize"),
    ("disk-too-small", kinds.PROVISIONED_CLUSTER, "config.systemNodeGroup.diskSizeGb", 5, "diskSizeGb"),
    ("disk-too-large", kinds.PROVISIONED_CLUSTER, "config.systemNodeGroup.diskSizeGb", 100000, "diskSizeGb"),
    ("no-instance-types", kinds.PROVISIONED_CLUSTER, "config.systemNodeGroup.instanceTypes", [], "instanceTypes"),
    ("bad-instance-type", kinds.PROVISIONED_CLUSTER, "config.systemNodeGroup.instanceTypes", ["large"], "instanceTypes"),
    ("mixed-architectures", kinds.PROVISIONED_CLUSTER, "config.systemNodeGroup.instanceTypes",
     ["m7g.large", "m7i.large"], "must not mix CPU architectures"),
    ("unknown-deletion-policy", kinds.NETWORK, "deletionPolicy", "Orphan", "deletionPolicy"),
    ("bad-version", kinds.PROVISIONED_CLUSTER, "config.kubernetesVersion", "v1.35", "kubernetesVersion"),
    ("bad-public-cidr", kinds.PROVISIONED_CLUSTER, "config.publicAccessCidrs", ["300.1.2.0/24"], "publicAccessCidrs"),
    # refused, not normalized: the stored spec stays the manifest (no GitOps diff), nothing is guessed
    ("public-cidr-host-bits", kinds.PROVISIONED_CLUSTER, "config.publicAccessCidrs",
     ["203.0.113.0/24", "198.51.100.7/24"], "must not have host bits set"),
    # JSON types as they are: no string or boolean for an integer, no number for a string
    ("size-as-string", kinds.PROVISIONED_CLUSTER, "config.systemNodeGroup.desiredSize", "2", "desiredSize"),
    ("size-as-boolean", kinds.PROVISIONED_CLUSTER, "config.systemNodeGroup.minSize", True, "minSize"),
    ("version-as-number", kinds.PROVISIONED_CLUSTER, "config.kubernetesVersion", 1.35, "kubernetesVersion"),
    ("name-as-number", kinds.NETWORK, "displayName", 7, "displayName"),
    # names that render as something else, or break a log line
    ("name-bidi-override", kinds.PROVISIONED_CLUSTER, "displayName", "Prod \u202egnp.exe", "bidi"),
    ("name-zero-width", kinds.NETWORK, "displayName", "Prod\u200bnetwork", "zero-width"),
    ("name-newline", kinds.CONNECTION, "displayName", "Prod\naccount", "control"),
    ("name-bidi-isolate", kinds.CONNECTION, "displayName", "\u2066Prod\u2069", "bidi"),
    ("bad-region", kinds.PROVISIONED_CLUSTER, "region", "US East", "region"),
    ("unknown-desired-state", kinds.PROVISIONED_CLUSTER, "desiredState", "Running", "desiredState"),
    ("bad-network-cidr", kinds.NETWORK, "config.cidr", "10.0.0.0/33", "cidr"),
    ("network-cidr-too-small", kinds.NETWORK, "config.cidr", "10.0.0.0/28", "cidr"),
    ("network-no-connection", kinds.NETWORK, "connectionRef", DELETE, "connectionRef"),
    ("bad-account", kinds.CONNECTION, "providerConfig.accountId", "1234", "accountId"),
    ("role-in-other-account", kinds.CONNECTION, "providerConfig.roleArn",
     "arn:aws:iam::999999999999:role/FleetyardConnection", "roleArn"),
    ("two-external-id-sources", kinds.CONNECTION, "providerConfig.externalIdSecretArn",
     "arn:aws:secretsmanager:us-east-1:123456789012:secret:ext", "externalIdSecret"),
    ("no-external-id-source", kinds.CONNECTION, "providerConfig.externalIdSecretRef", DELETE, "externalIdSecret"),
]

# (id, kind, path, old value, new value, fragment) for updates refused by transition rules
INVALID_UPDATES = [
    ("version-lowered", kinds.PROVISIONED_CLUSTER, "config.kubernetesVersion", "1.35", "1.34", "cannot be lowered"),
    ("version-skips-minor", kinds.PROVISIONED_CLUSTER, "config.kubernetesVersion", "1.35", "1.37", "one minor"),
    ("region-changed", kinds.PROVISIONED_CLUSTER, "region", "us-east-1", "eu-west-1", "region is immutable"),
    ("cluster-connection-changed", kinds.PROVISIONED_CLUSTER, "connectionRef", {"name": "prod"}, {"name": "other"},
     "connectionRef is immutable"),
    ("network-changed", kinds.PROVISIONED_CLUSTER, "networkRef", {"name": "prod-net"}, {"name": "other-net"},
     "networkRef is immutable"),
    ("network-connection-changed", kinds.NETWORK, "connectionRef", {"name": "prod"}, {"name": "other"},
     "connectionRef is immutable"),
    ("network-cidr-changed", kinds.NETWORK, "config.cidr", "10.0.0.0/16", "10.1.0.0/16", "cidr is immutable"),
    ("account-changed", kinds.CONNECTION, "providerConfig.accountId", "123456789012", "210987654321", "accountId"),
]
