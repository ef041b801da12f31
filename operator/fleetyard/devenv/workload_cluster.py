"""The "workload cluster" of the test bed: the Kubernetes API that fake EKS clusters point at.

moto's EKS clusters have a fake endpoint and random `certificateAuthority.data`. `WorkloadCluster`
is a second etcd + kube-apiserver (`controlplane.ControlPlane`, state in `<state_dir>/control-plane`)
that authenticates bearer tokens like EKS: through `eks_authenticator.EksAuthenticator`
(`<state_dir>/authenticator`), a TokenReview webhook that checks EKS tokens against STS (moto),
then through the cluster's access entries (`eks_access`, from `access_entries`: in the
Environment, what the fake `aws` plugin recorded, `eks_access.plugin_clusters(state_file)`). A
principal without an access entry is refused (401, as EKS answers); one with an entry gets its
username (an assumed role: `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`) and groups: its
`kubernetesGroups` and one group per associated access policy and scope. At start the cluster
creates a ClusterRole per EKS access policy with the policy's rules (`eks_access_policies`) and a
ClusterRoleBinding of the policy's cluster-scope group to it; the RoleBinding of a
namespace-scoped group is created in its namespace when a review first needs it. The apiserver
caches a refused token for `webhook_cache_ttl` (default `WEBHOOK_CACHE_TTL`, 10 s) and an
accepted one for at least `TOKEN_SUCCESS_CACHE`: its own token cache (TokenSuccessCacheTTL, not a
flag) keeps successes 10 s however short the webhook's TTL (kube-apiserver warns so at start;
reviews of one token were seen 10.1 s apart). So a new access entry lets a token in once its
refusal expires, and a deleted one (or a removed access policy) shuts it out up to 10 s later.

`env()` (`FLEETYARD_FAKE_EKS_ENDPOINT`, `FLEETYARD_FAKE_EKS_CA_DATA`) in the environment of moto's
server (`moto_main`, so start this first: the webhook asks for moto's endpoint only at each review)
and of the fake `aws` Pulumi plugin makes `endpoint` and `ca_data` every EKS cluster's `endpoint`
and `certificateAuthority.data`, in DescribeCluster and stack outputs alike: all clusters of a
test bed share this one API server. Tests create Nodes and Pods through `admin_kubeconfig` (alias
`admin`; a client certificate in `system:masters`) or `admin_api`; nothing runs them. It runs no
kube-controller-manager: its node lifecycle controller would turn those kubelet-less Nodes
`Ready=Unknown` (tainted unreachable) 50 s after the test set them Ready, and nothing of
fleetyard's needs garbage collection there.

A token is accepted for the cluster names given as `cluster_names` (a set, or a callable read at
each review such as `plugin_cluster_names(state_file)`: the clusters the fake plugin created)
and those added by `allow_cluster`.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import pathlib
from collections.abc import Callable

import kubernetes

from fleetyard.devenv import controlplane, eks_access, eks_access_policies, eks_authenticator, processes
from fleetyard.kube import client as kube_client

CONTEXT = "fleetyard-workload"
WEBHOOK_CACHE_TTL = "10s"
TOKEN_SUCCESS_CACHE = 10.0  # seconds: kube-apiserver's own cache of accepted tokens
ENDPOINT_ENV = "FLEETYARD_FAKE_EKS_ENDPOINT"
CA_DATA_ENV = "FLEETYARD_FAKE_EKS_CA_DATA"
POLICY_LABELS = {"fleetyard.io/test-bed": "eks-access-policy"}

AccessEntries = Callable[[str, str], eks_access.ClusterAccess | None]
"""(cluster name, region) -> the cluster's access configuration, None for a cluster without any."""


def plugin_cluster_names(state_file: pathlib.Path) -> Callable[[], list[str]]:
    """The names of the EKS clusters in the fake `aws` plugin's state file, read at each call."""
    def names() -> list[str]:
        try:
            clusters = json.loads(pathlib.Path(state_file).read_text()).get("clusters") or {}
        except (OSError, ValueError, AttributeError):
            return []
        return sorted({key.partition("/")[2] for key in clusters if "/" in key})
    return names


class WorkloadCluster(processes.Service):
    """kube-apiserver + etcd + EKS token webhook; see the module docstring."""

    def __init__(self, state_dir: pathlib.Path, sts_endpoint: str | Callable[[], str],
                 cluster_names: eks_authenticator.ClusterNames = (),
                 access_entries: AccessEntries | None = None,
                 etcd: pathlib.Path | None = None, kube_apiserver: pathlib.Path | None = None,
                 webhook_cache_ttl: str = WEBHOOK_CACHE_TTL) -> None:
        """`sts_endpoint` (moto's endpoint, or a callable giving it) is read at each review, and so
        is `access_entries` (None: no cluster has any, so every token is refused)."""
        self.state_dir = pathlib.Path(state_dir).resolve()
        self.access_entries: AccessEntries = access_entries or (lambda cluster, region: None)
        self.webhook_cache_ttl = webhook_cache_ttl
        self.authenticator = eks_authenticator.EksAuthenticator(
            self.state_dir / "authenticator", sts_endpoint, cluster_names, access=self._access)
        webhook_config = self.state_dir / "authenticator" / "webhook.kubeconfig"
        self.control_plane = controlplane.ControlPlane(
            self.state_dir / "control-plane", etcd, kube_apiserver, context_name=CONTEXT,
            controller_manager=False,
            extra_args=[f"--authentication-token-webhook-config-file={webhook_config}",
                        f"--authentication-token-webhook-cache-ttl={webhook_cache_ttl}",
                        "--authentication-token-webhook-version=v1"])
        self._webhook_config = webhook_config
        self._api: kubernetes.client.ApiClient | None = None
        self._webhook_api: kubernetes.client.ApiClient | None = None

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
        """Start the token webhook, then etcd and kube-apiserver, then install the access policies'
        ClusterRoles; on failure stop what started."""
        try:
            self.authenticator.start()
            self.authenticator.write_webhook_kubeconfig(self._webhook_config)
            self.control_plane.start(timeout)
            self._webhook_api = kube_client.client_for(str(self.admin_kubeconfig))
            self._install_access_policies()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for api in (self._api, self._webhook_api):
            if api is not None:
                api.close()
        self._api = self._webhook_api = None
        try:
            self.control_plane.stop()
        finally:
            self.authenticator.stop()

    def _install_access_policies(self) -> None:
        """A ClusterRole per EKS access policy and a ClusterRoleBinding of its cluster-scope group."""
        rbac = kubernetes.client.RbacAuthorizationV1Api(self._webhook_api)
        for name in eks_access_policies.RULES:
            group = eks_access.policy_group(name)
            _create(rbac.create_cluster_role, eks_access_policies.cluster_role(name, group, POLICY_LABELS))
            _create(rbac.create_cluster_role_binding, _binding(group, group, group))

    def _access(self, cluster: str, identity: eks_authenticator.Identity) -> eks_authenticator.Identity:
        """The token webhook's access hook: the identity the cluster's access entries give."""
        arn = identity.extra["arn"][0]
        caller = eks_access.Caller(arn, arn.split(":")[4], identity.extra["principalId"][0],
                                   identity.extra["accessKeyId"][0])
        try:
            access = eks_access.resolve(self.access_entries(cluster, identity.region), caller,
                                        self._namespaces)
        except eks_access.NoAccess as exc:
            raise eks_authenticator.Refused(str(exc)) from None
        for policy, namespace in access.bindings:
            self._bind_in_namespace(policy, namespace)
        return dataclasses.replace(identity, username=access.username,
                                   groups=(*eks_authenticator.GROUPS, *access.groups))

    def _namespaces(self) -> list[str]:
        namespaces = kubernetes.client.CoreV1Api(self._webhook_api).list_namespace().items
        return [n.metadata.name for n in namespaces]

    def _bind_in_namespace(self, policy: str, namespace: str) -> None:
        """The RoleBinding of `policy`'s group for `namespace` to its ClusterRole."""
        group = eks_access.policy_group(policy)
        rbac = kubernetes.client.RbacAuthorizationV1Api(self._webhook_api)
        try:
            _create(rbac.create_namespaced_role_binding, namespace,
                    _binding(group, group, eks_access.policy_group(policy, namespace), kind="RoleBinding",
                             namespace=namespace))
        except kubernetes.client.ApiException as exc:
            if exc.status != 404:  # 404: the namespace went away since it was listed
                raise


def _binding(name: str, cluster_role: str, group: str, kind: str = "ClusterRoleBinding",
             namespace: str | None = None) -> dict[str, object]:
    metadata: dict[str, object] = {"name": name, "labels": dict(POLICY_LABELS)}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}]}


def _create(create: Callable[..., object], *args: object) -> None:
    """Create something that may already exist."""
    try:
        create(*args)
    except kubernetes.client.ApiException as exc:
        if exc.status != 409:
            raise
