"""EKS's AWS-managed access policies as Kubernetes RBAC rules, for the test bed's workload cluster.

EKS authorizes an access entry's associated access policies itself (its own authorizer, not RBAC
objects in the cluster). The test bed's stand-in (`fleetyard.devenv.eks_access`) gives each
associated policy a ClusterRole with the same rules, bound to a group the token webhook puts the
principal in. The rules are the tables of the EKS User Guide, "Review access policy permissions"
(access-policy-reference.adoc in awsdocs/amazon-eks-user-guide); the user-facing Kubernetes roles
`view`, `edit`, `admin` and `cluster-admin` are close but not equal (e.g. AmazonEKSEditPolicy may
not touch Roles, AmazonEKSViewPolicy lists Namespaces). Used by `eks_access` and
`workload_cluster`.
"""

from __future__ import annotations

from typing import Any

PREFIX = "arn:aws:eks::aws:cluster-access-policy/"

Rule = dict[str, list[str]]

_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]


def _rule(group: str, resources: str, verbs: list[str]) -> Rule:
    return {"apiGroups": [group], "resources": resources.split(), "verbs": list(verbs)}


_VIEW: list[Rule] = [
    _rule("apps", "controllerrevisions daemonsets daemonsets/status deployments deployments/scale "
                  "deployments/status replicasets replicasets/scale replicasets/status statefulsets "
                  "statefulsets/scale statefulsets/status", _READ),
    _rule("autoscaling", "horizontalpodautoscalers horizontalpodautoscalers/status", _READ),
    _rule("batch", "cronjobs cronjobs/status jobs jobs/status", _READ),
    _rule("discovery.k8s.io", "endpointslices", _READ),
    _rule("extensions", "daemonsets daemonsets/status deployments deployments/scale deployments/status "
                        "ingresses ingresses/status networkpolicies replicasets replicasets/scale "
                        "replicasets/status replicationcontrollers/scale", _READ),
    _rule("networking.k8s.io", "ingresses ingresses/status networkpolicies", _READ),
    _rule("policy", "poddisruptionbudgets poddisruptionbudgets/status", _READ),
    _rule("", "configmaps endpoints persistentvolumeclaims persistentvolumeclaims/status pods "
              "replicationcontrollers replicationcontrollers/scale serviceaccounts services "
              "services/status", _READ),
    _rule("", "bindings events limitranges namespaces/status pods/log pods/status "
              "replicationcontrollers/status resourcequotas resourcequotas/status", _READ),
    _rule("", "namespaces", _READ),
]

_EDIT: list[Rule] = [
    *_VIEW,
    _rule("apps", "daemonsets deployments deployments/rollback deployments/scale replicasets "
                  "replicasets/scale statefulsets statefulsets/scale", _WRITE),
    _rule("autoscaling", "horizontalpodautoscalers", _WRITE),
    _rule("batch", "cronjobs jobs", _WRITE),
    _rule("extensions", "daemonsets deployments deployments/rollback deployments/scale ingresses "
                        "networkpolicies replicasets replicasets/scale replicationcontrollers/scale",
          _WRITE),
    _rule("networking.k8s.io", "ingresses networkpolicies", _WRITE),
    _rule("policy", "poddisruptionbudgets", _WRITE),
    _rule("", "pods/attach pods/exec pods/portforward pods/proxy secrets services/proxy", _READ),
    _rule("", "serviceaccounts", ["impersonate"]),
    _rule("", "pods pods/attach pods/exec pods/portforward pods/proxy", _WRITE),
    _rule("", "configmaps events persistentvolumeclaims replicationcontrollers "
              "replicationcontrollers/scale secrets serviceaccounts services services/proxy", _WRITE),
]

_ADMIN: list[Rule] = [
    *_EDIT,
    _rule("authorization.k8s.io", "localsubjectaccessreviews", ["create"]),
    _rule("rbac.authorization.k8s.io", "rolebindings roles", [*_READ, *_WRITE]),
]

_CLUSTER_ADMIN: list[Rule] = [
    {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
    {"nonResourceURLs": ["*"], "verbs": ["*"]},
]

RULES: dict[str, list[Rule]] = {
    "AmazonEKSClusterAdminPolicy": _CLUSTER_ADMIN,
    "AmazonEKSAdminPolicy": _ADMIN,
    "AmazonEKSEditPolicy": _EDIT,
    "AmazonEKSViewPolicy": _VIEW,
    "AmazonEKSAdminViewPolicy": [_rule("*", "*", _READ)],
    "AmazonEKSSecretReaderPolicy": [_rule("", "secrets", _READ)],
}
"""Policy name -> its rules. EKS lists more policies (AmazonEKSAutoNodePolicy, the networking and
storage ones for Auto Mode, ...): an association of one of those is refused by the test plugin."""


def arn(name: str) -> str:
    return PREFIX + name


def name_of(policy_arn: str) -> str | None:
    """The policy's name if `policy_arn` is one of `RULES`, else None."""
    name = policy_arn.removeprefix(PREFIX)
    return name if policy_arn.startswith(PREFIX) and name in RULES else None


def cluster_role(name: str, cluster_role_name: str, labels: dict[str, str]) -> dict[str, Any]:
    """The ClusterRole standing in for policy `name`."""
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": cluster_role_name, "labels": dict(labels),
                         "annotations": {"fleetyard.io/eks-access-policy": arn(name)}},
            "rules": [dict(r) for r in RULES[name]]}
