"""One unit of Pulumi work: the `Job` a worker process runs, and how the runner builds it from the
typed objects it read (the Operation, its target, the Connection and the Network).

Built by `fleetyard.provisioning.runner` just before a worker starts: the spec it applies is the one
the Operation names (`spec.targetSpec`, copied at creation by `applied_spec`), never a newer or older
one; the credentials and the Network's subnets are read as they are now. Read by `fleetyard.provisioning.worker` from stdin, and its `args`
by the Pulumi programs. The programs get the spec's own config models (`NetworkConfig`,
`ClusterConfig`): a new field is added in `fleetyard.models` and read in the program. The job
carries secrets (the external id, the state passphrase), so it travels on a pipe, never in argv,
the environment of other processes, a log or a status. `JobProblem` names the field or object when
the work cannot be described.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from typing import Any, Literal

import pydantic

from fleetyard import settings as settings_mod
from fleetyard.connections import customer_session
from fleetyard.models import connection, network as network_model, operation, provisioned_cluster as pc_model
from fleetyard.models import team as team_model, team_access

Program = Literal["network", "cluster"]
PROGRAMS: dict[str, Program] = {"Network": "network", "ProvisionedCluster": "cluster"}
PROJECTS: dict[Program, str] = {"network": "fleetyard-byoc-network", "cluster": "fleetyard-byoc-cluster"}


Scope = operation.OperationScope


class JobProblem(Exception):
    """The Operation cannot run as asked; the message is safe to show in status."""

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class _Data(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


class Account(_Data):
    """Where a program builds: the customer's account through the Connection's role (the same
    `Access` every other call in that account assumes), tagged with the organization; `endpoint_url`
    points the provider at moto in development."""

    access: customer_session.Access
    organization: str
    endpoint_url: str | None = None


class NetworkArgs(_Data):
    account: Account
    network_id: str
    name: str
    config: network_model.NetworkConfig


class ClusterArgs(_Data):
    account: Account
    cluster_id: str
    cluster_name: str
    role_prefix: str
    config: pc_model.ClusterConfig
    public_subnet_ids: list[str]
    private_subnet_ids: list[str]
    # the members' EKS access entries (the Connection's role has its own, always)
    access_entries: list[team_access.EntryGrant] = pydantic.Field(default_factory=list)


class Job(_Data):
    operation: Literal["provision", "update", "destroy", "refresh"]
    scope: Scope = "all"
    program: Program
    stack_name: str
    backend_url: str
    passphrase: str = pydantic.Field(repr=False)
    work_dir: str
    args: NetworkArgs | ClusterArgs
    recover: bool = False
    attempt: int = 1
    # Where the worker checks, after a destroy, that the cloud answers "gone".
    verify_gone: dict[str, str] = pydantic.Field(default_factory=dict)
    # The retry backoff of a failed run (`failures.backoff`), from the operator's settings.
    retry_base: float = 10.0
    retry_cap: float = 600.0

    @property
    def project(self) -> str:
        return PROJECTS[self.program]

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> "Job":
        return cls.model_validate_json(text)


def stack_name(namespace: str, resource_id: str) -> str:
    """Stack names per object: the organization (namespace) and the seed id, stable for its lifetime."""
    return f"{namespace}-{resource_id.lower()}"


def _id(obj: connection.Connection | network_model.Network | pc_model.ProvisionedCluster) -> str:
    if not obj.seed_id:
        raise JobProblem(f"{obj.kind} {obj.name} has no id yet", retryable=True)
    return obj.seed_id


def _dns_name(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def cluster_name(namespace: str, name: str, cluster_id: str) -> str:
    """The EKS cluster's name: readable, unique per organization and id, within EKS's 100 characters."""
    return f"fy-{_dns_name(namespace)[:30]}-{_dns_name(name)[:50]}-{cluster_id.lower()}"


def applied_spec(target: network_model.Network | pc_model.ProvisionedCluster) -> dict[str, Any]:
    """What a Pulumi run of `target` applies from its spec (the Operation's `spec.targetSpec`): region and
    config, defaults filled in. The access entries (from access.teams and the Teams) are tracked apart,
    by their digest (`spec.accessDigest`); the rest of the spec (displayName, desiredState,
    deletionPolicy) is not read by the programs, so a change there needs no run."""
    return {"region": target.spec.region, "config": target.spec.config.model_dump(mode="json")}


def _config(op: operation.Operation, target: network_model.Network | pc_model.ProvisionedCluster,
            ) -> tuple[str, network_model.NetworkConfig | pc_model.ClusterConfig]:
    """(region, config) the Operation applies: its snapshot; the target's current spec only for an
    Operation created before snapshots existed."""
    snapshot = op.spec.targetSpec
    if snapshot is None:
        return target.spec.region, target.spec.config
    model = network_model.NetworkConfig if isinstance(target, network_model.Network) else pc_model.ClusterConfig
    try:
        return snapshot.region, model.model_validate(snapshot.config)
    except pydantic.ValidationError as exc:
        raise JobProblem(f"spec.targetSpec.config of Operation {op.name} is invalid: {exc.errors()[0]['msg']}") from None


def build(op: operation.Operation, target: network_model.Network | pc_model.ProvisionedCluster,
          conn: connection.Connection, network: network_model.Network | None, external_id: str, passphrase: str,
          cfg: settings_mod.Settings, *, recover: bool = False, endpoint_url: str | None = None,
          teams: Sequence[team_model.Team] = ()) -> Job:
    if op.spec.operation == operation.LIST_INSTANCE_TYPES:
        raise JobProblem("listInstanceTypes is not a Pulumi run")
    target_id = _id(target)
    region, config = _config(op, target)
    access = customer_session.Access(conn.spec.providerConfig.roleArn, external_id,
                                     customer_session.session_name(op.name), region)
    account = Account(access=access, organization=target.namespace,
                      endpoint_url=endpoint_url if endpoint_url is not None else os.environ.get("AWS_ENDPOINT_URL")
                      or None)
    args: NetworkArgs | ClusterArgs
    if isinstance(target, network_model.Network):
        assert isinstance(config, network_model.NetworkConfig)
        args = NetworkArgs(account=account, network_id=target_id, name=target.name, config=config)
        vpc = target.status.providerNetworkId
        verify = {"vpcId": vpc} if vpc else {}
    else:
        assert isinstance(config, pc_model.ClusterConfig)
        args = _cluster_args(account, target, target_id, config, conn, network, teams)
        built = target.status.providerMetadata.clusterName if target.status.providerMetadata else None
        verify = {"clusterName": built or args.cluster_name}
    program = PROGRAMS[target.kind]
    stack = stack_name(target.namespace, target_id)
    return Job(
        operation=op.spec.operation, scope=op.spec.scope, program=program, stack_name=stack, backend_url=cfg.state_backend_url,
        passphrase=passphrase, work_dir=os.path.join(cfg.workspace_root, PROJECTS[program], stack), args=args,
        recover=recover, verify_gone=verify if op.spec.operation == "destroy" else {}, attempt=op.spec.attempt,
        retry_base=cfg.retry_base, retry_cap=cfg.retry_cap)


def _cluster_args(account: Account, target: pc_model.ProvisionedCluster, target_id: str,
                  config: pc_model.ClusterConfig, conn: connection.Connection,
                  network: network_model.Network | None, teams: Sequence[team_model.Team] = ()) -> ClusterArgs:
    if network is None:
        raise JobProblem(f"Network {target.spec.networkRef.name} (spec.networkRef) was not found", retryable=True)
    outputs = network.status.iacOutputs or {}
    public, private = outputs.get("publicSubnetIds"), outputs.get("privateSubnetIds")
    if not public or not private:
        raise JobProblem(f"Network {network.name} has no subnets yet", retryable=True)
    return ClusterArgs(
        account=account, cluster_id=target_id, cluster_name=cluster_name(target.namespace, target.name, target_id),
        role_prefix=f"fy-{_id(conn)}-{target_id}".lower(), config=config,
        public_subnet_ids=public.split(","), private_subnet_ids=private.split(","),
        access_entries=team_access.entries(target.spec.access, teams, [conn.spec.providerConfig.roleArn]))


PassphraseReader = Callable[[str, str, str], str]


def passphrase(cfg: settings_mod.Settings, read_secret: PassphraseReader) -> str:
    namespace, _, name = cfg.passphrase_secret.partition("/")
    return read_secret(namespace, name, "passphrase")
