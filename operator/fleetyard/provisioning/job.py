"""One unit of Pulumi work as plain data: what the runner hands to a worker process on stdin.

Built by `fleetyard.provisioning.jobs` in the operator, read by `fleetyard.provisioning.worker`.
It carries secrets (the external id, the state passphrase), so it travels on a pipe, never in argv,
the environment of other processes, a log or a status.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Literal

from fleetyard.provisioning import aws_target, cluster_program, network_program

ProgramKind = Literal["network", "cluster"]
PROJECTS = {"network": network_program.PROJECT, "cluster": cluster_program.PROJECT}


@dataclasses.dataclass(frozen=True)
class Job:
    operation: str  # provision | update | destroy | refresh
    program: ProgramKind
    stack_name: str
    backend_url: str
    passphrase: str
    work_dir: str
    args: dict[str, Any]
    recover: bool = False
    attempt: int = 1
    # Where the worker checks, after a destroy, that the cloud answers "gone".
    verify_gone: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def project(self) -> str:
        return PROJECTS[self.program]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Job":
        return cls(**json.loads(text))

    def program_args(self) -> network_program.NetworkArgs | cluster_program.ClusterArgs:
        raw = dict(self.args)
        target = aws_target.AwsTarget(**raw.pop("target"))
        if self.program == "network":
            return network_program.NetworkArgs(target=target, **raw)
        group = cluster_program.NodeGroupArgs(**raw.pop("node_group"))
        return cluster_program.ClusterArgs(target=target, node_group=group, **raw)


def stack_name(namespace: str, resource_id: str) -> str:
    """Stack names per object: the organization (namespace) and the seed id, stable for its lifetime."""
    return f"{namespace}-{resource_id.lower()}"
