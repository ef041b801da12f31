"""The "workload cluster" of the test bed: the Kubernetes API that fake EKS clusters point at.

moto's EKS clusters have a fake endpoint and random `certificateAuthority.data`. `WorkloadCluster`
is a second etcd + kube-apiserver (`controlplane.ControlPlane`, state in `<state_dir>/control-plane`)
that authenticates bearer tokens like EKS: through `eks_authenticator.EksAuthenticator`
(`<state_dir>/authenticator`), a TokenReview webhook that checks EKS tokens against STS (moto)
and names the caller by its canonical IAM ARN (an assumed role: `arn:aws:iam::ACCT:role/ROLE`).
The apiserver caches a review for `WEBHOOK_CACHE_TTL` (10 s), successes and failures alike.

`env()` (`FLEETYARD_FAKE_EKS_ENDPOINT`, `FLEETYARD_FAKE_EKS_CA_DATA`) in the environment of moto's
server (`moto_main`, so start this first: the webhook asks for moto's endpoint only at each review)
and of the fake `aws` Pulumi plugin makes `endpoint` and `ca_data` every EKS cluster's `endpoint`
and `certificateAuthority.data`, in DescribeCluster and stack outputs alike: all clusters of a
test bed share this one API server.
`grant_cluster_admin(username)` is the stand-in for an EKS access entry with
AmazonEKSClusterAdminPolicy: a ClusterRoleBinding to `cluster-admin`. Tests create Nodes and Pods
through `admin_kubeconfig` (alias `admin`; a client certificate in `system:masters`) or
`admin_api`; nothing runs them. It runs no kube-controller-manager: its node lifecycle controller
would turn those kubelet-less Nodes `Ready=Unknown` (tainted unreachable) 50 s after the test set
them Ready, and nothing of fleetyard's needs garbage collection there.

A token is accepted for the cluster names given as `cluster_names` (a set, or a callable read at
each review such as `plugin_cluster_names(state_file)`: the clusters the fake plugin created)
and those added by `allow_cluster`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import pathlib
import time
from collections.abc import Callable, Iterable

import kubernetes

from fleetyard.devenv import controlplane, eks_authenticator, processes
from fleetyard.kube import client as kube_client

CONTEXT = "fleetyard-workload"
WEBHOOK_CACHE_TTL = "10s"
ENDPOINT_ENV = "FLEETYARD_FAKE_EKS_ENDPOINT"
CA_DATA_ENV = "FLEETYARD_FAKE_EKS_CA_DATA"
CLUSTER_ADMIN = "cluster-admin"
ACCESS_LABEL = "fleetyard.io/eks-access-entry"


def plugin_cluster_names(state_file: pathlib.Path) -> Callable[[], list[str]]:
    """The names of the EKS clusters in the fake `aws` plugin's state file, read at each call."""
    def names() -> list[str]:
        try:
            clusters = json.loads(pathlib.Path(state_file).read_text()).get("clusters") or {}
        except (OSError, ValueError, AttributeError):
            return []
        return sorted({key.partition("/")[2] for key in clusters if "/" in key})
    return names


ADMIN_GROUP = "fleetyard:eks-cluster-admin"
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def plugin_access_groups(state_file: pathlib.Path) -> eks_authenticator.AccessGroups:
    """EKS access entries, as the fake plugin recorded them: a principal with the cluster-scoped
    AmazonEKSClusterAdminPolicy on the cluster its token names gets `ADMIN_GROUP`, which the
    workload cluster binds to cluster-admin. So who may do what follows the access entries the
    cluster program creates, as on EKS."""
    def groups(cluster: str, principal: str) -> list[str]:
        try:
            clusters = json.loads(pathlib.Path(state_file).read_text()).get("clusters") or {}
        except (OSError, ValueError, AttributeError):
            return []
        for key, entry in clusters.items():
            if key.partition("/")[2] != cluster:
                continue
            policies = ((entry.get("accessEntries") or {}).get(principal) or {}).get("policies") or {}
            if (policies.get(ADMIN_POLICY) or {}).get("accessScope", {}).get("type") == "cluster":
                return [ADMIN_GROUP]
        return []
    return groups


class WorkloadCluster(processes.Service):
    """kube-apiserver + etcd + EKS token webhook; see the module docstring."""

    def __init__(self, state_dir: pathlib.Path, sts_endpoint: str | Callable[[], str],
                 cluster_names: eks_authenticator.ClusterNames = (),
                 access_groups: eks_authenticator.AccessGroups | None = None,
                 etcd: pathlib.Path | None = None, kube_apiserver: pathlib.Path | None = None) -> None:
        """`sts_endpoint` (moto's endpoint, or a callable giving it) is read at each review."""
        self.state_dir = pathlib.Path(state_dir).resolve()
        self.authenticator = eks_authenticator.EksAuthenticator(
            self.state_dir / "authenticator", sts_endpoint, cluster_names, access_groups=access_groups)
        webhook_config = self.state_dir / "authenticator" / "webhook.kubeconfig"
        self.control_plane = controlplane.ControlPlane(
            self.state_dir / "control-plane", etcd, kube_apiserver, context_name=CONTEXT,
            controller_manager=False,
            extra_args=[f"--authentication-token-webhook-config-file={webhook_config}",
                        f"--authentication-token-webhook-cache-ttl={WEBHOOK_CACHE_TTL}",
                        "--authentication-token-webhook-version=v1"])
        self._webhook_config = webhook_config
        self._api: kubernetes.client.ApiClient | None = None

    @property
    def endpoint(self) -> str:
        """`https://127.0.0.1:PORT`, as an EKS cluster's `endpoint`."""
        return self.control_plane.server

    @property
    def ca_file(self) -> pathlib.Path:
        return self.control_plane.ca_file

    @property
    def ca_data(self) -> str:
        """The serving CA, base64 PEM, as an EKS cluster's `certificateAuthority.data`."""
        return base64.b64encode(self.ca_file.read_bytes()).decode()

    @property
    def admin_kubeconfig(self) -> pathlib.Path:
        """A kubeconfig for a `system:masters` client certificate (tests create Nodes and Pods)."""
        return self.control_plane.kubeconfig

    admin = admin_kubeconfig

    @property
    def admin_api(self) -> kubernetes.client.ApiClient:
        """A client for `admin_kubeconfig`."""
        if self._api is None:
            self._api = kube_client.client_for(str(self.admin_kubeconfig))
        return self._api

    def env(self) -> dict[str, str]:
        """What tells the fake `aws` plugin to report this cluster for every EKS cluster."""
        return {ENDPOINT_ENV: self.endpoint, CA_DATA_ENV: self.ca_data}

    def running(self) -> bool:
        return self.control_plane.running()

    def allow_cluster(self, name: str) -> None:
        """Accept EKS tokens made for cluster `name` from now on."""
        self.authenticator.allow_cluster(name)

    def start(self, timeout: float = 90) -> None:
        """Start the token webhook, then etcd and kube-apiserver; on failure stop what started."""
        try:
            self.authenticator.start()
            self.authenticator.write_webhook_kubeconfig(self._webhook_config)
            self.control_plane.start(timeout)
            self._bind_admin_group()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None
        try:
            self.control_plane.stop()
        finally:
            self.authenticator.stop()

    def _bind_admin_group(self) -> None:
        rbac = kubernetes.client.RbacAuthorizationV1Api(self.admin_api)
        try:
            rbac.create_cluster_role_binding({
                "metadata": {"name": "fleetyard-eks-access-entries"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": CLUSTER_ADMIN},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": ADMIN_GROUP}]})
        except kubernetes.client.ApiException as exc:
            if exc.status != 409:
                raise

    def grant_cluster_admin(self, username: str, timeout: float = 10) -> str:
        """Bind `username` to `cluster-admin` (an EKS access entry's stand-in) and wait until the
        authorizer says so. Idempotent; returns the ClusterRoleBinding's name."""
        name = _binding_name(username)
        rbac = kubernetes.client.RbacAuthorizationV1Api(self.admin_api)
        body = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": {ACCESS_LABEL: "true"},
                         "annotations": {"fleetyard.io/principal": username}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": CLUSTER_ADMIN},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": username}],
        }
        try:
            rbac.create_cluster_role_binding(body)
        except kubernetes.client.ApiException as exc:
            if exc.status != 409:
                raise
            rbac.replace_cluster_role_binding(name, body)
        self._wait_allowed(username, True, timeout)
        return name

    def revoke_cluster_admin(self, username: str, timeout: float = 10) -> None:
        """Delete what `grant_cluster_admin` created and wait until the authorizer says so."""
        rbac = kubernetes.client.RbacAuthorizationV1Api(self.admin_api)
        try:
            rbac.delete_cluster_role_binding(_binding_name(username))
        except kubernetes.client.ApiException as exc:
            if exc.status != 404:
                raise
        self._wait_allowed(username, False, timeout)

    def can(self, username: str, verb: str = "*", resource: str = "*",
            groups: Iterable[str] = eks_authenticator.GROUPS) -> bool:
        """A SubjectAccessReview: may `username` do `verb` on `resource` cluster-wide?"""
        review = kubernetes.client.AuthorizationV1Api(self.admin_api).create_subject_access_review({
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": username, "groups": list(groups),
                     "resourceAttributes": {"verb": verb, "resource": resource, "group": "*"}}})
        return bool(review.status.allowed)

    def _wait_allowed(self, username: str, allowed: bool, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.can(username) != allowed:
            if time.monotonic() > deadline:
                raise TimeoutError(f"RBAC did not {'allow' if allowed else 'deny'} {username} "
                                   f"everything within {timeout}s")
            time.sleep(0.05)


def _binding_name(username: str) -> str:
    return f"eks-access-entry-{hashlib.sha256(username.encode()).hexdigest()[:16]}"
