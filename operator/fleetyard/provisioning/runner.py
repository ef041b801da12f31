"""The runner: executes Operations in worker processes, within concurrency limits, and reports back.

Created once by `fleetyard.operator_app` and fed by the Operation handlers (`submit`). Each
Operation waits (`queued`) for a global slot and a slot of its Connection, then runs in its own
`fleetyard.provisioning.worker` process. The runner turns the worker's engine events into
`status.progress` (patched at most once per `progress_interval`), beats the heartbeat that tells a
later operator whether the run is still alive, writes the result or the seed's error object, and
finally asks the target's reconciler to look again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fleetyard import catalog, conditions, health_probe, metrics, settings as settings_mod
from fleetyard.cloud import ec2, errors
from fleetyard.controllers import catalog_ops, connection_phases
from fleetyard.kube import patching, resources
from fleetyard.models import kinds
from fleetyard.provisioning import failures, jobs, progress

log = logging.getLogger(__name__)
Finished = Callable[[str, str, str], Awaitable[None]]
WORKER = [sys.executable, "-m", "fleetyard.provisioning.worker"]


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
        self._per_connection: collections.defaultdict[tuple[str, str], asyncio.Semaphore] = collections.defaultdict(
            lambda: asyncio.Semaphore(cfg.max_operations_per_connection))
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}

    def busy(self, namespace: str, name: str) -> bool:
        task = self._tasks.get((namespace, name))
        return task is not None and not task.done()

    def submit(self, op: dict[str, Any], recover: bool = False) -> bool:
        """Run the Operation unless this process already does; True when it was taken."""
        key = (op["metadata"]["namespace"], op["metadata"]["name"])
        if self.busy(*key):
            return False
        self._tasks[key] = asyncio.get_running_loop().create_task(self._run(key, recover), name=f"op/{key[1]}")
        return True

    async def _run(self, key: tuple[str, str], recover: bool) -> None:
        namespace, name = key
        op = await asyncio.to_thread(resources.get_object, kinds.OPERATION, namespace, name)
        if op is None or (op.get("status") or {}).get("status") in ("succeeded", "failed", "cancelled"):
            return
        ref = op["spec"]["resourceRef"]
        target = await asyncio.to_thread(resources.get_object, kinds.BY_KIND[ref["kind"]], namespace, ref["name"])
        connection = ref["name"] if ref["kind"] == "Connection" else \
            ((target or {}).get("spec") or {}).get("connectionRef", {}).get("name", "")
        try:
            metrics.OPERATIONS_QUEUED.inc()
            await self._patch(op, {"status": "queued", "progress": {"stage": "queued",
                                                                     "message": "waiting for a free worker"}})
            async with self._global, self._per_connection[(namespace, connection)]:
                metrics.OPERATIONS_QUEUED.dec()
                metrics.OPERATIONS_RUNNING.inc()
                try:
                    if op["spec"]["operation"] == catalog_ops.LIST_INSTANCE_TYPES:
                        await self._list_instance_types(op)
                    else:
                        await self._execute(op, recover)
                finally:
                    metrics.OPERATIONS_RUNNING.dec()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a runner bug must not take the operator down
            log.exception("operation runner failed", extra={"operation": f"{namespace}/{name}"})
            await self._finish(op, "failed", error=failures.from_exception(RuntimeError("runner failure"), 1)
                               .model_dump(exclude_none=True))
        finally:
            self._tasks.pop(key, None)
        if ref["kind"] in ("Network", "ProvisionedCluster"):
            await self.on_finished(ref["kind"], namespace, ref["name"])

    async def _list_instance_types(self, op: dict[str, Any]) -> None:
        """The catalog: no Pulumi, one paginated EC2 call through the Connection's role."""
        await self._patch(op, {"status": "running", "startedAt": conditions.now(), "heartbeatAt": conditions.now(),
                               "operatorInstance": self.instance,
                               "progress": {"stage": "listing", "message": "asking EC2 for the region's instance types"}})
        try:
            result = await asyncio.to_thread(self._catalog, op)
        except errors.CloudError as exc:
            await self._finish(op, "failed", error=failures.from_exception(exc, int(op["spec"].get("attempt") or 1))
                               .model_dump(exclude_none=True))
            return
        await self._finish(op, "succeeded", result=result, progress_={
            "stage": "done", "message": f"{len(result['items'])} instance types"})

    def _catalog(self, op: dict[str, Any]) -> dict[str, Any]:
        namespace = op["metadata"]["namespace"]
        connection = resources.get_object(kinds.CONNECTION, namespace, op["spec"]["resourceRef"]["name"])
        if connection is None:
            raise errors.CloudError("ConnectionNotFound", "the Connection no longer exists")
        sess, _ = health_probe.customer_session(namespace, connection, "catalog")
        region = connection["spec"]["providerConfig"]["region"]
        result = catalog.result(ec2.instance_types(sess, region))
        connection_id = (connection["metadata"].get("labels") or {}).get(kinds.ID_LABEL) or connection["metadata"]["uid"]
        self.catalog.put(connection_id, region, result.items)
        return result.model_dump(exclude_none=True)

    async def _execute(self, op: dict[str, Any], recover: bool) -> None:
        namespace = op["metadata"]["namespace"]
        started = time.monotonic()
        try:
            job = await asyncio.to_thread(self._job, op, recover)
        except jobs.JobProblem as exc:
            error = {"code": "InvalidTarget", "message": str(exc), "errorType": "validation",
                     "details": {"retryable": exc.retryable, "retryAfter": int(self.cfg.retry_base)}}
            await self._finish(op, "failed", error=error)
            return
        tracker = progress.ProgressTracker()
        tracker.set_stage("starting", "starting the worker")
        now = conditions.now()
        await self._patch(op, {"status": "running", "startedAt": (op.get("status") or {}).get("startedAt") or now,
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
        kind = op["spec"]["resourceRef"]["kind"]
        metrics.OPERATION_SECONDS.labels(op["spec"]["operation"], kind).observe(elapsed)
        if "result" in outcome:
            if outcome["result"].get("engineSeconds") is not None:
                metrics.ENGINE_SECONDS.labels(op["spec"]["operation"], kind).observe(outcome["result"]["engineSeconds"])
            tracker.set_stage("done", f"{op['spec']['operation']} succeeded in {elapsed:.0f}s")
            await self._finish(op, "succeeded", progress_=tracker.snapshot(),
                               result={"outputs": outcome["result"].get("outputs") or {}})
        else:
            error = outcome.get("error") or failures.from_exception(
                RuntimeError(f"worker exited with code {proc.returncode}"), job.attempt).model_dump(exclude_none=True)
            tracker.set_stage("failed", error.get("message", "failed"))
            await self._finish(op, "failed", progress_=tracker.snapshot(), error=error)

    async def _follow(self, op: dict[str, Any], stdout: asyncio.StreamReader,
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
                await self._patch(op, {"heartbeatAt": conditions.now(), "progress": tracker.snapshot()})
                last_beat = now

    def _job(self, op: dict[str, Any], recover: bool) -> Any:
        namespace = op["metadata"]["namespace"]
        ref = op["spec"]["resourceRef"]
        target = resources.get_object(kinds.BY_KIND[ref["kind"]], namespace, ref["name"])
        if target is None:
            raise jobs.JobProblem(f"{ref['kind']} {ref['name']} no longer exists")
        spec = target.get("spec") or {}
        connection = resources.get_object(kinds.CONNECTION, namespace, spec["connectionRef"]["name"])
        if connection is None:
            raise jobs.JobProblem(f"Connection {spec['connectionRef']['name']} (spec.connectionRef) was not found",
                                  retryable=True)
        network = None
        if ref["kind"] == "ProvisionedCluster":
            network = resources.get_object(kinds.NETWORK, namespace, spec["networkRef"]["name"])
        try:
            _, external_id = connection_phases.external_id_of(namespace, connection)
        except connection_phases.Failed as exc:
            raise jobs.JobProblem(exc.outcome.message, exc.outcome.retryable) from None
        try:
            passphrase = jobs.passphrase(self.cfg, resources.secret_value)
        except resources.SecretProblem as exc:
            raise jobs.JobProblem(f"{exc}: the operator needs it for the Pulumi state (key 'passphrase')",
                                  retryable=True) from None
        return jobs.build(op, target, connection, network, external_id, passphrase, self.cfg, recover=recover)

    async def _patch(self, op: dict[str, Any], status: dict[str, Any]) -> None:
        await asyncio.to_thread(patching.patch_status, kinds.OPERATION, op["metadata"]["namespace"],
                                op["metadata"]["name"], status)

    async def _finish(self, op: dict[str, Any], phase: str, *, progress_: dict[str, Any] | None = None,
                      result: dict[str, Any] | None = None, error: dict[str, Any] | None = None) -> None:
        status: dict[str, Any] = {"status": phase, "completedAt": conditions.now(), "heartbeatAt": conditions.now()}
        if progress_ is not None:
            status["progress"] = progress_
        if result is not None:
            status["result"] = result
        if error is not None:
            status["error"] = error
        await self._patch(op, status)
        metrics.OPERATIONS.labels(op["spec"]["operation"], op["spec"]["resourceRef"]["kind"], phase).inc()
        log.info("operation finished", extra={"operation": op["metadata"]["name"], "result": phase,
                                              "code": (error or {}).get("code")})


def heartbeat_age(op: dict[str, Any], now: datetime.datetime | None = None) -> float | None:
    beat = (op.get("status") or {}).get("heartbeatAt")
    if not beat:
        return None
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return (now - datetime.datetime.fromisoformat(beat.replace("Z", "+00:00"))).total_seconds()
