#!/usr/bin/env python
"""Benchmark: a burst of ProvisionedClusters through the whole local stack, and what it costs.

Starts its own local environment (kube-apiserver + etcd, moto, the operator with the test `aws`
Pulumi plugin; `fleetyard.devenv.environment.Environment`), creates K Connections (a customer role
deployed into moto from fleetyard's template, a Secret with the external id) and one Network per
Connection, waits until they are active, then creates N ProvisionedClusters at once, spread over
the Connections, and waits until all are `active`; with --cleanup (default) it deletes them and
waits until they are gone. It reports, as `name: value unit` lines and finally one JSON line:

1. burst wall time (first create -> last active) and per-cluster time to active; the same for the
   deletion;
2. per-Operation engine overhead: run time (status `running` -> finished, timed by watching) minus
   the wall time during which at least one AWS call of that Operation's stack was in flight
   (union of intervals, from the plugin's FLEETYARD_FAKE_AWS_TRACE), plus queue time;
3. peak RSS of the operator process alone and of the operator with all its descendants (workers,
   pulumi CLI, language hosts, plugins), sampled from /proc every 0.25 s; CPU seconds used;
4. reaction latency of unrelated objects, idle (before the burst), during the burst and during
   the deletion: a Network naming a missing Connection (until statusMessage says "waiting for
   Connection ...") and a Connection with a wrong external id (until status is `failed`);
5. API call volume seen by the apiserver (apiserver_request_total deltas) and the warnings/errors
   in <state_dir>/operator.log.

Run `.venv/bin/python hack/bench/provision_burst.py --help`; see hack/bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import collections
import concurrent.futures
import json
import pathlib
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import kubernetes

from benchlib import (BenchError, Deadline, MemorySampler, Report, Watcher, apiserver_requests, cpu_snapshot,
                      log, operator_env_overrides, parse_time, report_cpu, report_machine,
                      report_operator_log, report_requests, run_main, start_environment, stop_environment,
                      wait_until)
from fleetyard.devenv import customer_account, environment
from fleetyard.kube import apply as kube_apply
from fleetyard.models import kinds

NAMESPACE = "bench"
PROBE_NAMESPACE = "bench-probe"
TRACE_FILE = "aws-trace.jsonl"


# -- watching objects ------------------------------------------------------------------------------

class ClusterBook:
    """What the ProvisionedCluster watch saw: per name, when it became active, failed, was deleted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.created: dict[str, float] = {}  # set by the creator: epoch before the create call
        self.create_done: dict[str, float] = {}
        self.active: dict[str, float] = {}
        self.failed: dict[str, dict[str, Any]] = {}
        self.deleted: dict[str, float] = {}
        self.delete_requested: dict[str, float] = {}
        self.phases: dict[str, list[tuple[float, str]]] = collections.defaultdict(list)
        self.changed = threading.Condition(self.lock)

    def on_event(self, type_: str, obj: dict[str, Any], now: float) -> None:
        name = obj["metadata"]["name"]
        status = obj.get("status") or {}
        phase = status.get("status") or ""
        with self.lock:
            if type_ == "DELETED":
                self.deleted.setdefault(name, now)
            else:
                hist = self.phases[name]
                if not hist or hist[-1][1] != phase:
                    hist.append((now, phase))
                fresh = status.get("observedGeneration") == obj["metadata"].get("generation")
                if phase == "active" and fresh:
                    self.active.setdefault(name, now)
                if phase == "failed":
                    self.failed.setdefault(name, {"at": now, "message": status.get("statusMessage"),
                                                  "operation": (status.get("operationRef") or {}).get("name")})
            self.changed.notify_all()


class OperationBook:
    """What the Operation watch saw: per Operation, when it was created, started running, finished."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ops: dict[str, dict[str, Any]] = {}

    def on_event(self, type_: str, obj: dict[str, Any], now: float) -> None:
        meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
        with self.lock:
            rec = self.ops.setdefault(meta["name"], {
                "name": meta["name"], "seen": now, "operation": spec.get("operation"),
                "kind": (spec.get("resourceRef") or {}).get("kind"),
                "target": (spec.get("resourceRef") or {}).get("name"),
                "resourceId": spec.get("resourceId"), "created": parse_time(meta.get("creationTimestamp")),
                "stack": f"{meta['namespace']}-{(spec.get('resourceId') or '').lower()}"})
            if type_ == "DELETED":
                rec.setdefault("deletedAt", now)
                return
            phase = status.get("status")
            if phase and phase not in rec.setdefault("phases", {}):
                rec["phases"][phase] = now
            for key in ("startedAt", "completedAt", "error", "status"):
                if status.get(key) is not None:
                    rec[key] = status[key]

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.ops.values()]


# -- descendants of the operator -------------------------------------------------------------------------------

def process_role(cmd: str) -> str:
    """What a descendant of the operator is, from its command line."""
    if "fleetyard.provisioning.worker" in cmd:
        return "worker"
    if "fake_aws_provider" in cmd or "pulumi-resource-aws" in cmd:
        return "aws_plugin"
    if "pulumi-language" in cmd:
        return "language_host"
    if cmd.split(" ", 1)[0].endswith("pulumi"):
        return "pulumi_" + (" ".join(w for w in cmd.split()[1:3] if not w.startswith("-")) or "cli").replace(" ", "_")
    return "other" if cmd else "exited"


# -- reaction probes -------------------------------------------------------------------------------

class Prober(threading.Thread):
    """Every `interval` s while running: time how long the operator takes to react to unrelated objects."""

    def __init__(self, kubeconfig: str, role: customer_account.ConnectionRole, interval: float,
                 timeout: float) -> None:
        super().__init__(name="prober", daemon=True)
        self.api = kubernetes.config.new_client_from_config(config_file=kubeconfig)
        self.custom = kubernetes.client.CustomObjectsApi(self.api)
        self.role = role
        self.interval = interval
        self.timeout = timeout
        self.phase = "idle"
        self.paused = threading.Event()
        self.stopping = threading.Event()
        self.samples: list[dict[str, Any]] = []
        self.count = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            if self.paused.is_set():
                self.stopping.wait(0.2)
                continue
            t0 = time.monotonic()
            self.cycle()
            self.stopping.wait(max(0.0, self.interval - (time.monotonic() - t0)))

    def cycle(self) -> None:
        phase = self.phase
        for probe in (self.network_probe, self.connection_probe):
            if self.stopping.is_set():
                return
            try:
                sample = probe()
            except Exception as exc:  # noqa: BLE001 - a failed probe is a data point, not a crash
                sample = {"probe": probe.__name__, "error": f"{type(exc).__name__}: {exc}"}
            sample["phase"] = phase
            self.samples.append(sample)

    def _await(self, plural: str, name: str, rv: str, done: Callable[[dict[str, Any]], bool],
               t0: float) -> float | None:
        w = kubernetes.watch.Watch()
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            for event in w.stream(self.custom.list_namespaced_custom_object, kinds.GROUP, kinds.VERSION,
                                  PROBE_NAMESPACE, plural, field_selector=f"metadata.name={name}",
                                  resource_version=rv, timeout_seconds=max(1, int(deadline - time.monotonic()))):
                now = time.time()
                obj = event["object"]
                if event["type"] in ("ADDED", "MODIFIED"):
                    rv = obj["metadata"]["resourceVersion"]
                    if done(obj):
                        w.stop()
                        return now - t0
        return None

    def _probe(self, kind: kinds.Kind, body: dict[str, Any], done: Callable[[dict[str, Any]], bool]
               ) -> dict[str, Any]:
        self.count += 1
        name = body["metadata"]["name"]
        t0 = time.time()
        created = self.custom.create_namespaced_custom_object(kinds.GROUP, kinds.VERSION, PROBE_NAMESPACE,
                                                              kind.plural, body)
        t_created = time.time()
        try:
            reaction = self._await(kind.plural, name, created["metadata"]["resourceVersion"], done, t0)
        finally:
            try:
                self.custom.delete_namespaced_custom_object(kinds.GROUP, kinds.VERSION, PROBE_NAMESPACE,
                                                            kind.plural, name)
            except kubernetes.client.ApiException:
                pass
        return {"kind": kind.kind, "name": name, "start": t0, "create": t_created - t0, "reaction": reaction}

    def network_probe(self) -> dict[str, Any]:
        body = {"apiVersion": kinds.API_VERSION, "kind": "Network",
                "metadata": {"name": f"probe-net-{self.count}"},
                "spec": {"connectionRef": {"name": "no-such-connection"}, "displayName": "probe",
                         "region": "us-east-1", "config": {"cidr": "10.250.0.0/16", "natGateways": "Single"}}}
        return self._probe(kinds.NETWORK, body, lambda o: ((o.get("status") or {}).get("statusMessage") or "")
                           .startswith("waiting for Connection"))

    def connection_probe(self) -> dict[str, Any]:
        body = {"apiVersion": kinds.API_VERSION, "kind": "Connection",
                "metadata": {"name": f"probe-conn-{self.count}"},
                "spec": {"displayName": "probe", "providerConfig": {
                    "accountId": self.role.account_id, "region": "us-east-1", "roleArn": self.role.role_arn,
                    "stackArn": self.role.stack_arn, "externalIdSecretRef": {"name": "wrong-ext-id"}}}}
        return self._probe(kinds.CONNECTION, body, lambda o: (o.get("status") or {}).get("status") == "failed")

    def stop(self) -> None:
        self.stopping.set()


# -- the run ---------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args: argparse.Namespace, state_dir: pathlib.Path) -> None:
        self.args = args
        self.state_dir = state_dir
        self.report = Report()
        self.trace_path = state_dir / TRACE_FILE
        self.operator_env = self.make_operator_env()
        self.env: environment.Environment | None = None
        self.deadline = Deadline(args.timeout)
        self.clusters = ClusterBook()
        self.ops = OperationBook()
        self.watchers: list[Watcher] = []
        self.sampler: MemorySampler | None = None
        self.prober: Prober | None = None
        self.roles: list[customer_account.ConnectionRole] = []

    def make_operator_env(self) -> dict[str, str]:
        a = self.args
        env = {
            "FLEETYARD_RESYNC_INTERVAL": str(a.resync),
            "FLEETYARD_MAX_OPERATIONS": str(a.max_operations),
            "FLEETYARD_MAX_OPERATIONS_PER_CONNECTION": str(a.max_operations_per_connection),
            "FLEETYARD_HEARTBEAT_INTERVAL": str(a.heartbeat),
            "FLEETYARD_PROGRESS_INTERVAL": str(a.progress_interval),
            "FLEETYARD_CONNECTION_RETRY_INTERVAL": str(a.connection_retry),
            "FLEETYARD_LOG_FORMAT": "json",
            "FLEETYARD_FAKE_AWS_TRACE": str(self.trace_path),
        }
        if a.aws_latency:
            env["FLEETYARD_FAKE_AWS_LATENCY"] = str(a.aws_latency)
        env.update(operator_env_overrides(a.operator_env))
        return env

    @property
    def custom(self) -> kubernetes.client.CustomObjectsApi:
        assert self.env is not None
        return kubernetes.client.CustomObjectsApi(self.env.api)

    # -- phases ------------------------------------------------------------------------------------
    def run(self) -> None:
        a, r = self.args, self.report
        r.line("settings.clusters", a.clusters)
        r.line("settings.connections", a.connections)
        r.line("settings.max_operations", a.max_operations)
        r.line("settings.max_operations_per_connection", a.max_operations_per_connection)
        r.line("settings.resync_interval", a.resync, "s")
        r.line("settings.heartbeat_interval", a.heartbeat, "s")
        r.line("settings.progress_interval", a.progress_interval, "s")
        r.line("settings.aws_latency", a.aws_latency, "s")
        r.line("settings.cleanup", a.cleanup)
        report_machine(r)
        r.line("state_dir", str(self.state_dir))

        self.env = start_environment(self.state_dir, self.operator_env, r)
        assert self.env.operator is not None and self.env.operator.pid is not None
        self.sampler = MemorySampler(self.env.operator.pid, a.sample_interval, process_role)
        self.sampler.start()
        kubeconfig = str(self.env.kubeconfig)
        for ns in (NAMESPACE, PROBE_NAMESPACE):
            kube_apply.ensure_namespace(self.env.api, ns)
        self.watchers = [Watcher(kubeconfig, kinds.PROVISIONED_CLUSTER.plural, NAMESPACE, self.clusters.on_event),
                         Watcher(kubeconfig, kinds.OPERATION.plural, NAMESPACE, self.ops.on_event)]
        for w in self.watchers:
            w.start()

        self.setup_connections_and_networks()

        self.prober = Prober(kubeconfig, self.roles[0], a.probe_interval, a.probe_timeout)
        kubernetes.client.CoreV1Api(self.env.api).create_namespaced_secret(PROBE_NAMESPACE, {
            "metadata": {"name": "wrong-ext-id"}, "data": {"value": base64.b64encode(b"not-the-external-id").decode()}})
        log(f"idle baseline: {a.baseline_probes} probe cycles")
        self.sampler.phase = "idle"
        cpu_idle0 = self.cpu_snapshot()
        for _ in range(a.baseline_probes):
            t = time.monotonic()
            self.prober.cycle()
            time.sleep(max(0.0, a.probe_interval - (time.monotonic() - t)))
        cpu_idle1 = self.cpu_snapshot()
        requests_before = apiserver_requests(self.env.api)

        self.burst()
        cpu_burst = self.cpu_snapshot()
        requests_burst = apiserver_requests(self.env.api)
        requests_cleanup = None
        cpu_cleanup = None
        if a.cleanup:
            self.cleanup()
            cpu_cleanup = self.cpu_snapshot()
            requests_cleanup = apiserver_requests(self.env.api)
        self.prober.stop()
        self.sampler.phase = "after"
        self.prober.join(timeout=a.probe_timeout + 5)

        self.report_times()
        self.report_operations()
        self.report_memory()
        self.report_cpu("idle", cpu_idle0, cpu_idle1)
        self.report_cpu("burst", cpu_idle1, cpu_burst)
        if cpu_cleanup is not None:
            self.report_cpu("cleanup", cpu_burst, cpu_cleanup)
        self.report_probes()
        self.report_requests("burst", requests_before, requests_burst)
        if requests_cleanup is not None:
            self.report_requests("cleanup", requests_burst, requests_cleanup)
        self.report_log()

    def setup_connections_and_networks(self) -> None:
        assert self.env is not None
        a = self.args
        core = kubernetes.client.CoreV1Api(self.env.api)
        t0 = time.monotonic()
        log(f"deploying {a.connections} customer role(s) into moto and creating the Connections")
        for i in range(a.connections):
            external_id = f"fy-bench-{uuid.uuid4().hex}"
            role = customer_account.deploy_connection_stack(self.env.aws_env(), self.env.moto.operator_user_arn,
                                                            external_id, f"FleetyardBench{i}-{uuid.uuid4().hex[:6]}")
            self.roles.append(role)
            core.create_namespaced_secret(NAMESPACE, {"metadata": {"name": f"ext-id-{i}"}, "data": {
                "value": base64.b64encode(external_id.encode()).decode()}})
            self.create(kinds.CONNECTION, {"metadata": {"name": f"conn-{i}"}, "spec": {
                "displayName": f"Bench {i}", "providerConfig": {
                    "accountId": role.account_id, "region": "us-east-1", "roleArn": role.role_arn,
                    "stackArn": role.stack_arn, "externalIdSecretRef": {"name": f"ext-id-{i}"}}}})
        for i in range(a.connections):
            wait_until(lambda: self.phase_of(kinds.CONNECTION, f"conn-{i}", fail=True) == "active", self.deadline,
                       f"Connection conn-{i} to be active")
        self.report.line("setup.connections_active_time", time.monotonic() - t0, "s")
        t1 = time.monotonic()
        log(f"creating {a.connections} Network(s)")
        for i in range(a.connections):
            self.create(kinds.NETWORK, {"metadata": {"name": f"net-{i}"}, "spec": {
                "connectionRef": {"name": f"conn-{i}"}, "displayName": f"Network {i}", "region": "us-east-1",
                "config": {"cidr": f"10.{(30 + i) % 250}.0.0/16", "natGateways": "Single"}}})
        for i in range(a.connections):
            wait_until(lambda: self.phase_of(kinds.NETWORK, f"net-{i}", fail=True) == "active", self.deadline,
                       f"Network net-{i} to be active", step=0.5)
        self.report.line("setup.networks_active_time", time.monotonic() - t1, "s")

    def burst(self) -> None:
        assert self.env is not None and self.sampler is not None and self.prober is not None
        a = self.args
        names = [f"c-{i:03d}" for i in range(a.clusters)]
        log(f"burst: creating {a.clusters} ProvisionedClusters over {a.connections} Connection(s)")
        self.sampler.phase = "burst"
        self.prober.phase = "burst"
        self.prober.start()

        def create_one(i: int) -> None:
            name = names[i]
            conn = i % a.connections
            self.clusters.created[name] = time.time()
            self.create(kinds.PROVISIONED_CLUSTER, {"metadata": {"name": name}, "spec": {
                "connectionRef": {"name": f"conn-{conn}"}, "networkRef": {"name": f"net-{conn}"},
                "displayName": f"Bench {name}", "region": "us-east-1", "config": {
                    "kubernetesVersion": "1.34", "publicAccessCidrs": ["203.0.113.0/24"],
                    "systemNodeGroup": {"name": "system", "instanceTypes": ["m7g.large"], "minSize": 1,
                                        "maxSize": 3, "desiredSize": 2, "diskSizeGb": 50}}}})
            self.clusters.create_done[name] = time.time()

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(create_one, range(a.clusters)))
        last_report = 0.0
        with self.clusters.lock:
            while len(self.clusters.active) < len(names):
                if self.clusters.failed:
                    name, info = next(iter(self.clusters.failed.items()))
                    raise BenchError(self.failure_text("ProvisionedCluster", name, info))
                self.deadline.check(f"waiting for clusters to be active ({len(self.clusters.active)}/{len(names)})")
                if time.monotonic() - last_report > 30:
                    last_report = time.monotonic()
                    log(f"burst: {len(self.clusters.active)}/{len(names)} active")
                self.clusters.changed.wait(1.0)
        log("burst: all active")

    def cleanup(self) -> None:
        assert self.sampler is not None and self.prober is not None
        names = sorted(self.clusters.created)
        log(f"cleanup: deleting {len(names)} ProvisionedClusters")
        self.sampler.phase = "cleanup"
        self.prober.phase = "cleanup"
        for name in names:
            self.clusters.delete_requested[name] = time.time()
            self.custom.delete_namespaced_custom_object(kinds.GROUP, kinds.VERSION, NAMESPACE,
                                                        kinds.PROVISIONED_CLUSTER.plural, name)
        last_report = 0.0
        with self.clusters.lock:
            while len([n for n in names if n in self.clusters.deleted]) < len(names):
                failed = {n: i for n, i in self.clusters.failed.items() if i["at"] > self.clusters.delete_requested[n]}
                if failed:
                    name, info = next(iter(failed.items()))
                    raise BenchError(self.failure_text("ProvisionedCluster", name, info))
                self.deadline.check("waiting for the clusters to be deleted")
                if time.monotonic() - last_report > 30:
                    last_report = time.monotonic()
                    log(f"cleanup: {len(self.clusters.deleted)}/{len(names)} gone")
                self.clusters.changed.wait(1.0)
        log("cleanup: all gone")

    # -- API helpers -------------------------------------------------------------------------------
    def create(self, kind: kinds.Kind, body: dict[str, Any]) -> dict[str, Any]:
        body = {"apiVersion": kinds.API_VERSION, "kind": kind.kind, **body}
        return dict(self.custom.create_namespaced_custom_object(kinds.GROUP, kinds.VERSION, NAMESPACE, kind.plural,
                                                                body))

    def phase_of(self, kind: kinds.Kind, name: str, fail: bool = False) -> str | None:
        obj = self.custom.get_namespaced_custom_object(kinds.GROUP, kinds.VERSION, NAMESPACE, kind.plural, name)
        status = obj.get("status") or {}
        if fail and status.get("status") == "failed":
            raise BenchError(self.failure_text(kind.kind, name, {"message": status.get("statusMessage"),
                                                                 "operation": (status.get("operationRef") or {})
                                                                 .get("name")}))
        return status.get("status")

    def failure_text(self, kind: str, name: str, info: dict[str, Any]) -> str:
        text = f"{kind} {NAMESPACE}/{name} failed: {info.get('message')}"
        if info.get("operation"):
            try:
                op = self.custom.get_namespaced_custom_object(kinds.GROUP, kinds.VERSION, NAMESPACE,
                                                              kinds.OPERATION.plural, info["operation"])
                text += f"\nOperation {info['operation']} error: " + json.dumps((op.get("status") or {})
                                                                               .get("error"), indent=1)
            except kubernetes.client.ApiException as exc:
                text += f"\n(Operation {info['operation']} could not be read: {exc.status})"
        text += f"\nworker logs: {self.state_dir / 'workspaces'}; operator log: {self.state_dir / 'operator.log'}"
        return text

    def cpu_snapshot(self) -> dict[str, float | None]:
        assert self.env is not None
        return cpu_snapshot(self.env)

    # -- reporting ---------------------------------------------------------------------------------
    def report_times(self) -> None:
        r, c = self.report, self.clusters
        names = sorted(c.created)
        first = min(c.created.values())
        r.line("burst.wall_time", max(c.active[n] for n in names) - first, "s")
        r.stats("burst.time_to_active", [c.active[n] - c.created[n] for n in names])
        r.stats("burst.create_call", [c.create_done[n] - c.created[n] for n in names])
        ops = self.ops.snapshot()
        first_op = {}
        for op in ops:
            if op["kind"] == "ProvisionedCluster" and op["operation"] == "provision":
                first_op.setdefault(op["target"], op)
                if op["seen"] < first_op[op["target"]]["seen"]:
                    first_op[op["target"]] = op
        r.stats("burst.create_to_operation", [first_op[n]["seen"] - c.created[n] for n in names if n in first_op])
        finish_lag = []
        for n in names:
            op = first_op.get(n)
            done = (op or {}).get("phases", {}).get("succeeded")
            if done:
                finish_lag.append(c.active[n] - done)
        r.stats("burst.operation_done_to_active", finish_lag)
        if c.delete_requested:
            gone = [n for n in names if n in c.deleted]
            r.line("cleanup.wall_time", max(c.deleted[n] for n in gone) - min(c.delete_requested.values()), "s")
            r.stats("cleanup.time_to_gone", [c.deleted[n] - c.delete_requested[n] for n in gone])
            lag = []
            for op in ops:
                if op["kind"] == "ProvisionedCluster" and op["operation"] == "destroy" and op["target"] in c.deleted:
                    done = op.get("phases", {}).get("succeeded")
                    if done:
                        lag.append(c.deleted[op["target"]] - done)
            r.stats("cleanup.destroy_done_to_gone", lag)

    def load_trace(self) -> dict[str, list[tuple[float, float, str]]]:
        by_stack: dict[str, list[tuple[float, float, str]]] = collections.defaultdict(list)
        try:
            lines = self.trace_path.read_text().splitlines()
        except FileNotFoundError:
            return by_stack
        for line in lines:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            by_stack[e.get("stack") or ""].append((float(e["start"]), float(e["end"]),
                                                   f"{e.get('service')}:{e.get('operation')}"))
        return by_stack

    def report_operations(self) -> None:
        r = self.report
        trace = self.load_trace()
        r.line("trace.aws_calls", sum(len(v) for v in trace.values()))
        r.line("trace.unattributed_calls", len(trace.get("", [])))
        groups: dict[str, list[dict[str, float]]] = collections.defaultdict(list)
        details = []
        for op in self.ops.snapshot():
            phases = op.get("phases") or {}
            start = phases.get("running")
            end = phases.get("succeeded") or phases.get("failed")
            if start is None or end is None:
                continue
            calls = sorted((max(s, start), min(e, end)) for s, e, _ in trace.get(op["stack"], ())
                           if e >= start and s <= end)
            busy, cur_s, cur_e = 0.0, None, None
            for s, e in calls:
                if cur_e is None or s > cur_e:
                    if cur_e is not None:
                        busy += cur_e - cur_s
                    cur_s, cur_e = s, e
                else:
                    cur_e = max(cur_e, e)
            if cur_e is not None:
                busy += cur_e - cur_s
            run = end - start
            queued_from = op.get("created") or op["seen"]
            rec = {"run": run, "aws": busy, "overhead": run - busy, "share": (run - busy) / run if run else 0.0,
                   "calls": len(calls), "queue": start - max(op["seen"], queued_from),
                   "lead": (calls[0][0] - start) if calls else run, "tail": (end - calls[-1][1]) if calls else 0.0,
                   **self.stages(op["stack"], start, end, calls)}
            key = f"{'cluster' if op['kind'] == 'ProvisionedCluster' else 'network'}_{op['operation']}"
            groups[key].append(rec)
            details.append({"name": op["name"], "group": key, "target": op["target"], "stack": op["stack"],
                            "start": start, "end": end, **rec})
        self.details = details
        for key in sorted(groups):
            recs = groups[key]
            prefix = f"ops.{key}"
            r.line(f"{prefix}.count", len(recs))
            r.stats(f"{prefix}.queue_time", [x["queue"] for x in recs])
            r.stats(f"{prefix}.run_time", [x["run"] for x in recs])
            r.stats(f"{prefix}.aws_time", [x["aws"] for x in recs])
            r.stats(f"{prefix}.overhead", [x["overhead"] for x in recs], keys=("min", "median", "max"))
            r.stats(f"{prefix}.overhead_share", [100 * x["share"] for x in recs], "%", keys=("min", "median", "max"))
            r.stats(f"{prefix}.lead_before_first_aws_call", [x["lead"] for x in recs], keys=("min", "median", "max"))
            r.stats(f"{prefix}.tail_after_last_aws_call", [x["tail"] for x in recs], keys=("min", "median", "max"))
            r.stats(f"{prefix}.aws_calls", [x["calls"] for x in recs], "", keys=("min", "median", "max"))
            for stage in ("to_engine_start", "engine_start_to_first_aws_call", "last_aws_call_to_engine_exit",
                          "engine_exit_to_done"):
                values = [x[f"stage.{stage}"] for x in recs if f"stage.{stage}" in x]
                if values:
                    r.stats(f"{prefix}.stage.{stage}", values, keys=("min", "median", "max"))
            cli = [x["cli_calls"] for x in recs if "cli_calls" in x]
            if cli:
                r.stats(f"{prefix}.pulumi_cli_calls_seen", cli, "(sampled)", keys=("min", "median", "max"))

    def stages(self, stack: str, start: float, end: float, calls: list[tuple[float, float]]) -> dict[str, float]:
        """Where the run time goes, from the sampled process list: until the Pulumi engine (`pulumi up` or
        `destroy`) starts, from then to the first AWS call, from the last call to its exit, and after it
        until the Operation is done. Resolution: the sampling interval."""
        if self.sampler is None or not calls:
            return {}
        mine = [p for p in list(self.sampler.processes.values())
                if p["role"].startswith("pulumi_") and (f"--stack {stack}" in p["cmd"] or f" {stack} " in p["cmd"]
                                                        or p["cmd"].endswith(f" {stack}"))
                and start - 0.5 <= p["first"] <= end + 0.5]
        engine = [p for p in mine if p["role"] in ("pulumi_up", "pulumi_destroy", "pulumi_refresh", "pulumi_preview")]
        if not engine:
            return {"cli_calls": len(mine)}
        e = engine[0]
        return {"cli_calls": len(mine), "stage.to_engine_start": e["first"] - start,
                "stage.engine_start_to_first_aws_call": calls[0][0] - e["first"],
                "stage.last_aws_call_to_engine_exit": max(0.0, e["last"] - calls[-1][1]),
                "stage.engine_exit_to_done": end - e["last"]}

    def report_memory(self) -> None:
        assert self.sampler is not None
        self.sampler.stop()
        self.sampler.join(timeout=5)
        for phase in ("idle", "burst", "cleanup", "all"):
            peak = self.sampler.peaks.get(phase)
            if not peak or not peak["samples"]:
                continue
            self.report.line(f"memory.{phase}.operator_peak_rss", round(peak["operator_rss"] / 1024, 1), "MiB")
            self.report.line(f"memory.{phase}.tree_peak_rss", round(peak["tree_rss"] / 1024, 1), "MiB")
            self.report.line(f"memory.{phase}.tree_peak_pss", round(peak["tree_pss"] / 1024, 1), "MiB")
            self.report.line(f"memory.{phase}.tree_peak_processes", peak["tree_procs"])
        roles: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        for proc in self.sampler.processes.values():
            if proc["peak_rss"]:
                roles[proc["role"]].append(proc)
        for role in ("worker", "pulumi_up", "pulumi_destroy", "aws_plugin", "language_host"):
            if roles.get(role):
                self.report.stats(f"memory.process.{role}.peak_rss", [p["peak_rss"] / 1024 for p in roles[role]],
                                  "MiB", keys=("median", "max"))
        ops = len([o for o in self.ops.snapshot() if (o.get("phases") or {}).get("running")])
        if ops:
            self.report.line("process.pulumi_cli_invocations_per_operation", round(len(
                [p for p in self.sampler.processes.values() if p["role"].startswith("pulumi_")]) / ops, 1),
                "(sampled: short ones may be missed)")
            self.report.line("process.started_per_operation", round(len(self.sampler.processes) / ops, 1),
                             "(sampled)")

    def report_cpu(self, phase: str, a: dict[str, float | None], b: dict[str, float | None]) -> None:
        report_cpu(self.report, phase, a, b)

    def report_probes(self) -> None:
        assert self.prober is not None
        samples = self.prober.samples
        for phase in ("idle", "burst", "cleanup"):
            for kind, label in (("Network", "network_waiting_for_connection"), ("Connection", "connection_failed")):
                mine = [s for s in samples if s.get("phase") == phase and s.get("kind") == kind]
                if not mine:
                    continue
                self.report.stats(f"reaction.{phase}.{label}", [s["reaction"] for s in mine if s.get("reaction")])
                self.report.stats(f"reaction.{phase}.{label}.create_call", [s["create"] for s in mine])
                missed = len([s for s in mine if s.get("reaction") is None])
                if missed:
                    self.report.line(f"reaction.{phase}.{label}.timeouts", missed)
        errors = [s for s in samples if s.get("error")]
        if errors:
            self.report.line("reaction.probe_errors", len(errors))
            self.report.data["reaction.probe_error_examples"] = [e["error"] for e in errors[:3]]

    def report_requests(self, phase: str, before: dict | None, after: dict | None) -> None:
        report_requests(self.report, f"apiserver.{phase}", before, after)

    def report_log(self) -> None:
        report_operator_log(self.report, self.state_dir / "operator.log")

    # -- teardown ----------------------------------------------------------------------------------
    def stop(self) -> None:
        for thing in (self.prober, self.sampler, *self.watchers):
            if thing is not None:
                thing.stop()
        stop_environment(self.env)
        if self.args.details:
            out = pathlib.Path(self.args.details)
            out.write_text(json.dumps({"report": self.report.data, "operations": getattr(self, "details", []),
                                       "probes": self.prober.samples if self.prober else [],
                                       "memory_series": self.sampler.series if self.sampler else [],
                                       "processes": list(self.sampler.processes.values()) if self.sampler else []},
                                      indent=1))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("-n", "--clusters", type=int, default=20, help="ProvisionedClusters created at once")
    p.add_argument("-k", "--connections", type=int, default=4,
                   help="Connections (each with its role, Secret and one Network) the clusters are spread over")
    p.add_argument("--max-operations", type=int, default=4, help="FLEETYARD_MAX_OPERATIONS")
    p.add_argument("--max-operations-per-connection", type=int, default=2,
                   help="FLEETYARD_MAX_OPERATIONS_PER_CONNECTION")
    p.add_argument("--resync", type=float, default=3600.0, help="FLEETYARD_RESYNC_INTERVAL (s)")
    p.add_argument("--heartbeat", type=float, default=10.0, help="FLEETYARD_HEARTBEAT_INTERVAL (s)")
    p.add_argument("--progress-interval", type=float, default=1.0, help="FLEETYARD_PROGRESS_INTERVAL (s)")
    p.add_argument("--connection-retry", type=float, default=30.0, help="FLEETYARD_CONNECTION_RETRY_INTERVAL (s)")
    p.add_argument("--operator-env", action="append", default=[], metavar="KEY=VALUE",
                   help="any other operator environment variable (repeatable)")
    p.add_argument("--aws-latency", type=float, default=0.0,
                   help="seconds each mutating AWS call of the plugin sleeps (FLEETYARD_FAKE_AWS_LATENCY)")
    p.add_argument("--cleanup", action=argparse.BooleanOptionalAction, default=True,
                   help="delete the clusters after the burst and time it")
    p.add_argument("--timeout", type=float, default=1800.0, help="overall limit (s)")
    p.add_argument("--probe-interval", type=float, default=2.0, help="seconds between reaction probe cycles")
    p.add_argument("--probe-timeout", type=float, default=120.0, help="give up on one probe after this (s)")
    p.add_argument("--baseline-probes", type=int, default=5, help="probe cycles before the burst (idle)")
    p.add_argument("--sample-interval", type=float, default=0.25, help="RSS sampling period (s)")
    p.add_argument("--state-dir", type=pathlib.Path,
                   help="where the environment keeps its state and logs (default: a temp dir, removed after a "
                        "successful run unless --keep-state)")
    p.add_argument("--keep-state", action="store_true", help="keep the temp state dir")
    p.add_argument("--details", metavar="FILE", help="also write per-Operation, probe and memory samples as JSON")
    args = p.parse_args(argv)
    if args.clusters < 1 or args.connections < 1:
        p.error("--clusters and --connections must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    return run_main(parse_args(argv), Bench)


if __name__ == "__main__":
    sys.exit(main())
