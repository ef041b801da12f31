"""The runner: executes Operations in worker processes, within concurrency limits, and reports back.

Created once by `fleetyard.operator_app` and fed by the Operation handlers (`submit`). Each
Operation waits (`queued`) for a global slot and a slot of its Connection, then runs in its own
`fleetyard.provisioning.worker` process. The runner turns the worker's engine events into
`status.progress` (patched at most once per `progress_interval`), beats the heartbeat that tells a
later operator whether the run is still alive, writes the result or the seed's error object, and
finally asks the target's reconciler to look again. The Operation, its target, the Connection and the
Network are read once per run, typed, and the job is built from them (`job.build`).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fleetyard import metrics, settings as settings_mod
from fleetyard.cloud import errors, session as sessions
from fleetyard.connections import catalog, catalog_ops, external_id
from fleetyard.kube import patching, resources, secret_data, secrets
from fleetyard.models import kinds, operation as operation_model, timestamps
from fleetyard.provisioning import failures, job as job_mod, operation_status, progress

log = logging.getLogger(__name__)
Finished = Callable[[str, str, str], Awaitable[None]]
# Workers run at a lower CPU priority: a fleet-wide change's Pulumi runs (the CLI, its plugins and
# the worker, CPU-bound while planning) must not starve the operator's own reactions, nor the
# webhooks and apiserver on the same node. Measured: 20 runs at the same priority on 2 cores made a
# burst's first status p99 6x slower and one admission webhook call time out (hack/bench/README.md).
WORKER_NICENESS = 10
_NICE = shutil.which("nice")
WORKER = ([_NICE, "-n", str(WORKER_NICENESS)] if _NICE else []) + [sys.executable, "-m", "fleetyard.provisioning.worker"]


def instance_id(cfg: settings_mod.Settings) -> str:
    """Unique per operator process: a restarted operator must not mistake old runs for its own."""
    return f"{cfg.instance}/{os.getpid()}/{uuid.uuid4().hex[:6]}"


class Runner:
    def __init__(self, cfg: settings_mod.Settings, on_finished: Finished,
                 catalog_cache: catalog.Catalog | None = None) -> None:
        self.cfg = cfg
        self.catalog = catalog_cache or catalog.Catalog()
        self.instance = instance_id(cfg)
        self.on_finished = on_finished
        self._global = asyncio.Semaphore(cfg.max_operations)
        # catalog runs one at a time: each builds a ~33 MiB peak of Python objects from EC2's ~1,400
        # types, and ten at once (a fleet's Connections verified together) stay in the process as RSS
        self._catalogs = asyncio.Semaphore(1)
        self._per_connection: collections.defaultdict[tuple[str, str], asyncio.Semaphore] = collections.defaultdict(
            lambda: asyncio.Semaphore(cfg.max_operations_per_connection))
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        # each running Operation's conditions as last written (lastTransitionTime moves only on change)
        self._conditions: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def busy(self, namespace: str, name: str) -> bool:
        task = self._tasks.get((namespace, name))
        return task is not None and not task.done()

    def submit(self, op: operation_model.Operation, recover: bool = False) -> bool:
        """Run the Operation unless this process already does; True when it was taken."""
        key = (op.namespace, op.name)
        if self.busy(*key):
            return False
        self._tasks[key] = asyncio.get_running_loop().create_task(self._run(key, recover), name=f"op/{key[1]}")
        return True

    def _failure(self, exc: BaseException, attempt: int) -> dict[str, Any]:
        return failures.from_exception(exc, attempt, base=self.cfg.retry_base, cap=self.cfg.retry_cap).model_dump(
            exclude_none=True)

    async def _run(self, key: tuple[str, str], recover: bool) -> None:
        namespace, name = key
        op: operation_model.Operation | None = await asyncio.to_thread(resources.get, kinds.OPERATION, namespace, name, True)
        if op is None or operation_model.finished(op.status.status):
            return
        ref = op.spec.resourceRef
        target = await asyncio.to_thread(resources.get, kinds.BY_KIND[ref.kind], namespace, ref.name, True)
        connection = ref.name if ref.kind == "Connection" else (target.spec.connectionRef.name if target else "")
        try:
            if op.spec.operation == operation_model.LIST_INSTANCE_TYPES:
                # a query (one paginated EC2 call in a thread, no worker process): it takes no run slot,
                # so a catalog refresh never delays a build on the same Connection
                await self._list_instance_types(op)
                return
            metrics.OPERATIONS_QUEUED.inc()
            await self._patch(op, {"status": "queued", "progress": {"stage": "queued",
                                                                     "message": "waiting for a free worker"}})
            async with self._global, self._per_connection[(namespace, connection)]:
                metrics.OPERATIONS_QUEUED.dec()
                metrics.OPERATIONS_RUNNING.inc()
                try:
                    if (reason := await asyncio.to_thread(self._superseded, op, recover)) is not None:
                        await self._finish(op, "cancelled", progress_={"stage": "superseded", "message": reason})
                    else:
                        await self._execute(op, recover)
                finally:
                    metrics.OPERATIONS_RUNNING.dec()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a runner bug must not take the operator down
            log.exception("operation runner failed", extra={"operation": f"{namespace}/{name}"})
            await self._finish(op, "failed", error=self._failure(RuntimeError("runner failure"), 1))
        finally:
            self._tasks.pop(key, None)
            self._conditions.pop(key, None)
        if ref.kind in ("Network", "ProvisionedCluster"):
            await self.on_finished(ref.kind, namespace, ref.name)

    def _superseded(self, op: operation_model.Operation, recover: bool) -> str | None:
        """Why a provision/update that has not started would apply a spec nobody wants any more: the
        target's region/config moved on (a newer generation) or it is being destroyed. Such a run is
        cancelled before it touches the cloud; the reconciler starts one for the current spec and names
        it in this one's status.supersededBy. A started run (recover) always finishes what it began."""
        snapshot = op.spec.targetSpec
        if recover or op.status.startedAt or snapshot is None or op.spec.operation not in ("provision", "update"):
            return None
        ref = op.spec.resourceRef
        target = resources.get(kinds.BY_KIND[ref.kind], op.namespace, ref.name, fresh=True)
        if target is None:
            return None  # the job build says so
        generation = target.metadata.generation
        desired = getattr(target.spec, "desiredState", "Provisioned")
        if target.deleting:
            return f"superseded: {ref.kind} {ref.name} is being deleted; this run had not started"
        if desired != "Provisioned":
            return (f"superseded: generation {generation} of {ref.kind} {ref.name} asks for desiredState "
                    f"{desired}; this run had not started")
        if job_mod.applied_spec(target) != snapshot.model_dump(mode="json"):
            return (f"superseded: generation {generation} of {ref.kind} {ref.name} changed its config before "
                    f"this run of generation {op.spec.targetGeneration} started")
        return None

    async def _list_instance_types(self, op: operation_model.Operation) -> None:
        """The catalog: no Pulumi, one paginated EC2 call through the Connection's role."""
        now = timestamps.now()
        await self._patch(op, {"status": "running", "startedAt": now, "heartbeatAt": now,
                               "operatorInstance": self.instance,
                               "progress": {"stage": "listing", "message": "asking EC2 for the region's instance types"}})
        try:
            async with self._catalogs:
                result = await asyncio.to_thread(self._catalog, op)
        except errors.CloudError as exc:
            await self._finish(op, "failed", error=self._failure(exc, op.spec.attempt))
            return
        await self._finish(op, "succeeded", result=result, progress_={
            "stage": "done", "message": f"{len(result['items'])} instance types"})

    def _catalog(self, op: operation_model.Operation) -> dict[str, Any]:
        conn = resources.get(kinds.CONNECTION, op.namespace, op.spec.resourceRef.name, fresh=True)
        if conn is None:
            raise errors.CloudError("ConnectionNotFound", "the Connection no longer exists")
        return catalog_ops.list_instance_types(conn, self.catalog, secrets.value).model_dump(exclude_none=True)

    async def _execute(self, op: operation_model.Operation, recover: bool) -> None:
        started = time.monotonic()
        try:
            job = await asyncio.to_thread(self._job, op, recover)
        except job_mod.JobProblem as exc:
            error = {"code": "InvalidTarget", "message": str(exc), "errorType": "validation",
                     "details": {"retryable": exc.retryable, "retryAfter": int(self.cfg.retry_base)}}
            await self._finish(op, "failed", error=error)
            return
        tracker = progress.ProgressTracker()
        tracker.set_stage("starting", "starting the worker")
        now = timestamps.now()
        await self._patch(op, {"status": "running", "startedAt": op.status.startedAt or now,
                               "heartbeatAt": now, "operatorInstance": self.instance,
                               "progress": tracker.snapshot()})
        work_dir = job.work_dir
        await asyncio.to_thread(os.makedirs, work_dir, exist_ok=True)
        with open(os.path.join(work_dir, "worker.log"), "ab") as log_file:
            proc = await asyncio.create_subprocess_exec(
                *WORKER, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log_file,
                start_new_session=True, limit=16 * 1024 * 1024)
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(job.to_json().encode())
            await proc.stdin.drain()
            proc.stdin.close()
            outcome = await self._follow(op, proc.stdout, tracker)
            await proc.wait()
        elapsed = time.monotonic() - started
        kind, operation = op.spec.resourceRef.kind, op.spec.operation
        metrics.OPERATION_SECONDS.labels(operation, kind).observe(elapsed)
        if "result" in outcome:
            if outcome["result"].get("engineSeconds") is not None:
                metrics.ENGINE_SECONDS.labels(operation, kind).observe(outcome["result"]["engineSeconds"])
            tracker.set_stage("done", f"{operation} succeeded in {elapsed:.0f}s")
            await self._finish(op, "succeeded", progress_=tracker.snapshot(),
                               result={"outputs": outcome["result"].get("outputs") or {}})
        else:
            error = outcome.get("error") or self._failure(RuntimeError(f"worker exited with code {proc.returncode}"),
                                                          job.attempt)
            tracker.set_stage("failed", error.get("message", "failed"))
            await self._finish(op, "failed", progress_=tracker.snapshot(), error=error)

    async def _follow(self, op: operation_model.Operation, stdout: asyncio.StreamReader,
                      tracker: progress.ProgressTracker) -> dict[str, Any]:
        throttle = progress.Throttle(self.cfg.progress_interval)
        last_beat = time.monotonic()
        outcome: dict[str, Any] = {}
        while True:
            try:
                line = await asyncio.wait_for(stdout.readline(), timeout=self.cfg.heartbeat_interval)
            except asyncio.TimeoutError:
                line = None
            if line == b"":
                return outcome
            if line:
                message = json.loads(line)
                if "event" in message:
                    tracker.feed(message["event"])
                elif "stage" in message:
                    tracker.set_stage(message["stage"], message.get("message", ""))
                else:
                    outcome = message
            now = time.monotonic()
            beat_due = now - last_beat >= self.cfg.heartbeat_interval
            if throttle.due(now) or beat_due:
                await self._patch(op, {"heartbeatAt": timestamps.now(), "progress": tracker.snapshot()})
                last_beat = now

    def _job(self, op: operation_model.Operation, recover: bool) -> job_mod.Job:
        """The job for the spec the Operation names, with the Connection and Network as they are now
        (the run may have waited)."""
        ref = op.spec.resourceRef
        target = resources.get(kinds.BY_KIND[ref.kind], op.namespace, ref.name, fresh=True)
        if target is None:
            raise job_mod.JobProblem(f"{ref.kind} {ref.name} no longer exists")
        conn = resources.get(kinds.CONNECTION, op.namespace, target.spec.connectionRef.name, fresh=True)
        if conn is None:
            raise job_mod.JobProblem(f"Connection {target.spec.connectionRef.name} (spec.connectionRef) was not found",
                                     retryable=True)
        network, teams = None, []
        if ref.kind == "ProvisionedCluster":
            network = resources.get(kinds.NETWORK, op.namespace, target.spec.networkRef.name, fresh=True)
            teams = resources.teams_named(op.namespace, target.spec.access.team_names())
        config = conn.spec.providerConfig
        try:
            value = external_id.read(op.namespace, config, secrets.value, sessions.base_session(config.region))
        except external_id.Unreadable as exc:
            raise job_mod.JobProblem(exc.message, exc.retryable) from None
        try:
            passphrase = job_mod.passphrase(self.cfg, secrets.value)
        except secret_data.SecretProblem as exc:
            raise job_mod.JobProblem(f"{exc}: the operator needs it for the Pulumi state (key 'passphrase')",
                                     retryable=True) from None
        return job_mod.build(op, target, conn, network, value, passphrase, self.cfg, recover=recover, teams=teams)

    async def _patch(self, op: operation_model.Operation, status: dict[str, Any]) -> None:
        key = (op.namespace, op.name)
        previous = self._conditions.get(key)
        if previous is None:
            previous = op.status.as_stored().get("conditions") or []
        status = operation_status.decorate(previous, status)
        if "conditions" in status:
            self._conditions[key] = status["conditions"]
        await asyncio.to_thread(patching.patch_status, kinds.OPERATION, op.namespace, op.name, status)

    async def _finish(self, op: operation_model.Operation, phase: str, *, progress_: dict[str, Any] | None = None,
                      result: dict[str, Any] | None = None, error: dict[str, Any] | None = None) -> None:
        now = timestamps.now()
        status: dict[str, Any] = {"status": phase, "completedAt": now, "heartbeatAt": now}
        if progress_ is not None:
            status["progress"] = progress_
        if result is not None:
            status["result"] = result
        if error is not None:
            status["error"] = error
        await self._patch(op, status)
        metrics.OPERATIONS.labels(op.spec.operation, op.spec.resourceRef.kind, phase).inc()
        log.info("operation finished", extra={"operation": op.name, "result": phase,
                                              "code": (error or {}).get("code")})
