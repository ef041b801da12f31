"""The worker process: runs one Pulumi job off the operator's event loop and streams what happens.

Started by `fleetyard.provisioning.runner` as `python -m fleetyard.provisioning.worker`, one per
Operation, with the job (including its secrets) on stdin. It writes JSON lines on stdout:
`{"event": ...}` (a Pulumi engine event), `{"stage": ..., "message": ...}`, and finally
`{"result": ...}` or `{"error": ...}` (the seed's error object). Anything else the process or
Pulumi prints goes to stderr. A separate process per run keeps blocking Pulumi calls, their
threads and their memory away from the operator, and lets the run finish its last steps (and
release the stack lock) even when the operator dies.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

import pulumi.automation as auto

from fleetyard.cloud import inventory, session as sessions, sts
from fleetyard.connections import customer_session
from fleetyard.models import operation as operation_model
from fleetyard.provisioning import adoption, aws_provider, cluster_program, failures, job as job_mod, locks
from fleetyard.provisioning import network_program, progress

GONE_TIMEOUT = 900.0


class Channel:
    """JSON lines to the runner; a vanished reader (operator died) does not stop the run."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self.open = True

    def send(self, message: dict[str, Any]) -> None:
        if not self.open:
            return
        with self.lock:
            try:
                self.stream.write(json.dumps(message, default=str) + "\n")
                self.stream.flush()
            except (BrokenPipeError, OSError):
                self.open = False

    def stage(self, stage: str, message: str) -> None:
        self.send({"stage": stage, "message": message})


def program_for(job: job_mod.Job) -> Callable[[], None]:
    args = job.args
    if isinstance(args, job_mod.NetworkArgs):
        return lambda: network_program.network_program(args)
    return lambda: cluster_program.cluster_program(args)


def workspace_env(job: job_mod.Job) -> dict[str, str]:
    return {"PULUMI_BACKEND_URL": job.backend_url, "PULUMI_CONFIG_PASSPHRASE": job.passphrase,
            "PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_SKIP_CONFIRMATIONS": "true"}


def select_stack(job: job_mod.Job) -> auto.Stack:
    os.makedirs(job.work_dir, exist_ok=True)
    opts = auto.LocalWorkspaceOptions(
        work_dir=job.work_dir, env_vars=workspace_env(job), secrets_provider="passphrase",
        project_settings=auto.ProjectSettings(name=job.project, runtime="python",
                                              backend=auto.ProjectBackend(url=job.backend_url)))
    return auto.create_or_select_stack(job.stack_name, job.project, program_for(job), opts=opts)


def _s3_client(region: str | None) -> Any:
    return sessions.client(sessions.base_session(region), "s3", region)


def recover(job: job_mod.Job, stack: auto.Stack, channel: Channel, on_event: Callable[[Any], None]) -> None:
    """After a dead operator: wait for or clear the stale lock, then bring the state up to date."""
    channel.stage("recovering", "clearing the stale stack lock left by a stopped operator")
    backend = locks.backend_for(job.backend_url, _s3_client)
    cleared = locks.clear_stale(backend, job.project, job.stack_name, on_wait=lambda lock: channel.stage(
        "recovering", "waiting for the previous run of this stack to finish its last steps"))
    adopt_pending_creates(job, stack, channel)
    channel.stage("refreshing", f"refreshing the stack state ({len(cleared)} stale lock(s) cleared)")
    stack.refresh(on_event=on_event, color="never")


def adopt_pending_creates(job: job_mod.Job, stack: auto.Stack, channel: Channel) -> None:
    """Turn creates the dead run left pending into state entries, so nothing is built twice."""
    state = stack.export_stack()
    deployment = dict(state.deployment or {})
    if not adoption.pending_creates(deployment):
        return
    sess = customer_session.session(job.args.account.access)
    finder = adoption.CloudFinder(sessions.client(sess, "ec2"), sts.caller_account(sess))
    fixed, adopted, dropped = adoption.adopt(deployment, finder)
    stack.import_stack(auto.Deployment(version=state.version, deployment=fixed))
    channel.stage("recovering", f"{len(adopted)} resource(s) the stopped run was creating were found and adopted; "
                                f"{len(dropped)} will be created")


def wait_until_gone(job: job_mod.Job, channel: Channel) -> None:
    """Destroy succeeded in Pulumi's eyes; ask EC2/EKS until they agree nothing is left."""
    if not job.verify_gone:
        return
    channel.stage("verifying", "checking with AWS that the resources are gone")
    sess = customer_session.session(job.args.account.access)
    deadline = time.monotonic() + GONE_TIMEOUT
    while True:
        left = []
        if vpc := job.verify_gone.get("vpcId"):
            if inventory.vpc_exists(sess, vpc):
                left.append(f"VPC {vpc}")
        if name := job.verify_gone.get("clusterName"):
            if (status := inventory.eks_cluster_status(sess, name)) is not None:
                left.append(f"EKS cluster {name} ({status})")
        if not left:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"still present after destroy: {', '.join(left)}")
        time.sleep(5)


def execute(job: job_mod.Job, channel: Channel) -> dict[str, Any]:
    def on_event(event: Any) -> None:
        diagnostic = getattr(event, "diagnostic_event", None)
        if diagnostic is not None and str(getattr(diagnostic, "severity", "")) == "debug":
            return  # about ten per resource; nobody reads them in an Operation's progress
        channel.send({"event": progress.event_to_dict(event)})

    channel.stage("preparing", f"selecting stack {job.project}/{job.stack_name}")
    stack = select_stack(job)
    if job.recover:
        recover(job, stack, channel, on_event)
    engine_started = time.monotonic()
    if job.operation == "update" and job.scope == operation_model.ACCESS_ENTRIES:
        targets = access_targets(job, stack)
        channel.stage("updating", f"updating the access entries only: pulumi up --target of {len(targets)} "
                                  "resources (the members' entries and policy associations, and the provider)")
        result: Any = stack.up(on_event=on_event, color="never", target=targets)
    elif job.operation in ("provision", "update"):
        channel.stage("provisioning" if job.operation == "provision" else "updating", "running pulumi up")
        result = stack.up(on_event=on_event, color="never")
    elif job.operation == "destroy":
        channel.stage("destroying", "running pulumi destroy")
        result = stack.destroy(on_event=on_event, color="never")
        wait_until_gone(job, channel)
    elif job.operation == "refresh":
        channel.stage("refreshing", "running pulumi refresh")
        result = stack.refresh(on_event=on_event, color="never")
    else:
        raise ValueError(f"unknown operation {job.operation!r}")
    if job.operation == "destroy":
        outputs = {}
    else:  # `up` returns its outputs; asking the stack again costs CLI calls
        values = result.outputs if hasattr(result, "outputs") else stack.outputs()
        outputs = {k: _text(v.value) for k, v in values.items()}
    return {"outputs": outputs, "changes": dict(getattr(result.summary, "resource_changes", None) or {}),
            "engineSeconds": round(time.monotonic() - engine_started, 3)}


def access_targets(job: job_mod.Job, stack: auto.Stack) -> list[str]:
    """URNs an access-entries-only update may touch: the members' entries and associations the job
    asks for, those the stack holds (a removed member's are deleted), and the provider they use."""
    args = job.args
    assert isinstance(args, job_mod.ClusterArgs)

    def urn(type_: str, name: str) -> str:
        return f"urn:pulumi:{job.stack_name}::{job.project}::{type_}::{name}"
    wanted = {urn(t, n) for grant in args.access_entries for t, n in cluster_program.member_resource_names(grant)}
    held = {r["urn"] for r in (stack.export_stack().deployment or {}).get("resources") or []
            if r.get("type") in cluster_program.ACCESS_TYPES
            and r["urn"].rsplit("::", 1)[-1].startswith(cluster_program.MEMBER_PREFIX)}
    return sorted(wanted | held) + [urn("pulumi:providers:aws", aws_provider.PROVIDER_NAME)]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _session_priority() -> None:
    """Give this worker's session the niceness the runner started it with. With the kernel's
    autogroups (on by default) CPU time is shared between sessions first, and the runner starts each
    worker in a session of its own: the process niceness alone would leave 20 runs 20 full shares."""
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(os.nice(0)))
    except OSError:
        pass  # no autogroups here: the process niceness is what counts


def main() -> int:
    _session_priority()
    job = job_mod.Job.from_json(sys.stdin.read())
    channel = Channel(os.fdopen(os.dup(1), "w"))
    os.dup2(2, 1)  # whatever else prints goes to stderr, never into the protocol
    try:
        channel.send({"result": execute(job, channel)})
    except BaseException as exc:  # noqa: BLE001 - every failure becomes the seed's error object
        error = failures.from_exception(exc, job.attempt, base=job.retry_base, cap=job.retry_cap)
        channel.send({"error": error.model_dump(exclude_none=True) if hasattr(error, "model_dump") else error})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
