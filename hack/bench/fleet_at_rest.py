#!/usr/bin/env python
"""Benchmark: what a fleet of ProvisionedClusters costs while nothing happens, and how fast it reacts.

Starts its own local environment (`benchlib.start_environment`'s Environment, plus an apiserver
audit log for per-client attribution unless --no-audit; operator settings are the operator's own
except FLEETYARD_HEALTH_INTERVAL, 3600 s by default, so health checks stay out of the at-rest
figures), makes one active Connection (a customer role deployed into moto, a Secret with the
external id) and one active Network (a real Pulumi run) per namespace, then:

1. operator RSS with no ProvisionedClusters;
2. creates N ProvisionedClusters with spec.desiredState Pending over the namespaces (parallel
   clients) and waits until each has status.status;
3. at rest for --rest-window seconds: apiserver requests (apiserver_request_total delta by
   verb/resource; leases and Kopf peering apart; from the audit log also by client) per object
   per hour, operator CPU share of a core, RSS;
4. a burst of --burst new Pending ProvisionedClusters: create -> first status.status (timed by
   one watch of all ProvisionedClusters), next to a metadata-annotation merge PATCH and a
   status.kopf merge PATCH of the same objects done by the benchmark afterwards; the apiserver's
   admission webhook latency histogram (delta, p99 per webhook); failed creates;
5. restarts the operator over the existing objects: time until fleetyard_reconciles_total covers
   every Network and ProvisionedCluster, Operations created meanwhile (must be 0), writes done;
6. with --in-flight K (the operator then runs with FLEETYARD_MAX_OPERATIONS=K and
   FLEETYARD_MAX_OPERATIONS_PER_CONNECTION=ceil(K / namespaces)): K ProvisionedClusters with
   desiredState Provisioned, until their K provision Operations are running; while they run, a
   second burst of --burst Pending ProvisionedClusters timed like the first (the target: its first
   status p99 at most 2x the first burst's); the runs are not waited for;
7. stops everything (the operator first, then whatever is left of its worker processes).

Output: `name: value unit` lines, then one JSON line. Run
`.venv/bin/python hack/bench/fleet_at_rest.py --help`; see hack/bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import collections
import concurrent.futures
import json
import math
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
import traceback
import tracemalloc
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import kubernetes

from benchlib import (BenchError, Deadline, MemorySampler, Report, Samples, cpu_seconds, cpu_snapshot, log,
                      operator_env_overrides, parse_time, read_text, report_machine, report_operator_log, rss_kib,
                      run_main, scrape_apiserver, scrape_url, stop_environment, summary, tree_cpu_seconds,
                      Watcher)
from fleetyard.devenv import chart, customer_account, environment
from fleetyard.kube import apply as kube_apply
from fleetyard.models import kinds, operation as operation_model

NAMESPACE_PREFIX = "fy-rest"
MERGE = "application/merge-patch+json"
TOUCH_ANNOTATION = "bench.fleetyard.io/touched"
STATUS_TOUCH_KEY = "fleetyardBench"  # under status.kopf (x-kubernetes-preserve-unknown-fields); nobody reads it
AUDIT_POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
"""
MiB = 1024.0


# -- small helpers ---------------------------------------------------------------------------------

def hist_quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """Prometheus' histogram_quantile over cumulative (le, count) pairs: linear inside the bucket."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    prev_le, prev_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return prev_le  # above the highest finite bound: that bound is all we know
            if count == prev_count:
                return le
            return prev_le + (le - prev_le) * (rank - prev_count) / (count - prev_count)
        prev_le, prev_count = le, count
    return prev_le


def histograms(samples: Samples | None, metric: str, by: tuple[str, ...],
               where: Callable[[dict[str, str]], bool] = lambda labels: True) -> dict[tuple[str, ...], dict[str, Any]]:
    """`metric`'s buckets, sum and count summed by the labels `by`."""
    out: dict[tuple[str, ...], dict[str, Any]] = collections.defaultdict(
        lambda: {"buckets": collections.defaultdict(float), "sum": 0.0, "count": 0.0})
    for name, labels, value in samples or []:
        if not name.startswith(metric) or not where(labels):
            continue
        key = tuple(labels.get(k, "") for k in by)
        if name == metric + "_bucket":
            out[key]["buckets"][float(labels["le"])] += value
        elif name == metric + "_sum":
            out[key]["sum"] += value
        elif name == metric + "_count":
            out[key]["count"] += value
    return out


def hist_delta(before: dict[tuple[str, ...], dict[str, Any]], after: dict[tuple[str, ...], dict[str, Any]]
               ) -> dict[tuple[str, ...], dict[str, Any]]:
    out = {}
    for key, b in after.items():
        a = before.get(key) or {"buckets": {}, "sum": 0.0, "count": 0.0}
        count = b["count"] - a["count"]
        if count <= 0:
            continue
        out[key] = {"count": count, "sum": b["sum"] - a["sum"],
                    "buckets": [(le, v - a["buckets"].get(le, 0.0)) for le, v in b["buckets"].items()]}
    return out


def request_counts(samples: Samples | None) -> dict[tuple[str, str, str], float] | None:
    """apiserver_request_total by (verb, group/resource[/subresource], code class): benchlib's
    `apiserver_requests`, from samples already scraped."""
    if samples is None:
        return None
    out: dict[tuple[str, str, str], float] = collections.defaultdict(float)
    for name, labels, value in samples:
        if name != "apiserver_request_total":
            continue
        resource = "/".join(x for x in (labels.get("group") or "core", labels.get("resource", ""),
                                        labels.get("subresource", "")) if x.strip("/"))
        out[(labels.get("verb", ""), resource, labels.get("code", "")[:1] + "xx")] += value
    return out


def category(resource: str) -> str:
    if resource.startswith("coordination.k8s.io/leases"):
        return "leases"
    if resource.startswith("kopf.dev/"):
        return "peering"
    if resource.startswith("fleetyard.io/"):
        return "fleetyard"
    if resource in ("core/events", "events.k8s.io/events"):
        return "events"
    return "other"


def code_version() -> str:
    """The commit the operator runs (it imports the working tree when it starts), and whether
    operator/ has uncommitted changes; read-only git calls."""
    repo = pathlib.Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "-C", str(repo), "log", "-1", "--format=%h %cd", "--date=format:%Y-%m-%d %H:%M"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--", "operator"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head or 'unknown'}{' + uncommitted changes in operator/' if dirty else ''}"


# -- watching ProvisionedClusters ------------------------------------------------------------------

class Book:
    """What the one ProvisionedCluster watch saw, per (namespace, name), and per bench phase."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.phase = "setup"
        self.created: dict[tuple[str, str], float] = {}  # epoch before the create call
        self.create_done: dict[tuple[str, str], float] = {}
        self.create_failed: dict[tuple[str, str], str] = {}
        self.first_status: dict[tuple[str, str], float] = {}  # first event with any status field
        self.first_phase: dict[tuple[str, str], tuple[float, str]] = {}  # first event with status.status
        self.ours: set[str] = set()  # resourceVersions the benchmark's own patches produced
        self.events: collections.Counter[tuple[str, str]] = collections.Counter()  # (phase, type)
        self.modified: dict[str, list[str]] = collections.defaultdict(list)  # phase -> resourceVersions
        self.last_event = time.monotonic()

    def on_event(self, type_: str, obj: dict[str, Any], now: float) -> None:
        meta = obj["metadata"]
        key = (meta.get("namespace") or "", meta["name"])
        status = obj.get("status") or {}
        with self.lock:
            self.last_event = time.monotonic()
            if type_ != "LISTED":
                self.events[(self.phase, type_)] += 1
            if type_ == "MODIFIED":
                self.modified[self.phase].append(meta.get("resourceVersion") or "")
            if status and key not in self.first_status:
                self.first_status[key] = now
            if status.get("status") and key not in self.first_phase:
                self.first_phase[key] = (now, status["status"])
            self.lock.notify_all()

    def foreign_writes(self, phase: str, since: int = 0) -> int:
        """MODIFIED events in `phase` (from the `since`-th on) that were not the benchmark's own patches."""
        with self.lock:
            return sum(1 for rv in self.modified[phase][since:] if rv not in self.ours)

    def modified_count(self, phase: str) -> int:
        with self.lock:
            return len(self.modified[phase])

    def quiet_for(self) -> float:
        with self.lock:
            return time.monotonic() - self.last_event


# -- the audit log ---------------------------------------------------------------------------------

def audit_client(user: str, agent: str) -> str:
    ns_prefix = f"system:serviceaccount:{chart.NAMESPACE}:"
    names = {chart.component_account(c): c for c in ("operator", "webhooks", "api")}
    if user.startswith(ns_prefix) and user[len(ns_prefix):] in names:
        client = names[user[len(ns_prefix):]]
        if client != "operator":
            return client
        return "operator(kopf)" if agent.lower().startswith("kopf") else "operator(client)"
    if user == "system:apiserver":
        return "kube-apiserver"
    if user == "system:kube-controller-manager" or user.startswith("system:serviceaccount:kube-system:"):
        return "kube-controller-manager"
    if user == "fleetyard-admin" or "fleetyard-admin" in user:
        return "admin(bench)"
    return user or "?"


CREDENTIAL = "authentication.kubernetes.io/credential-id"  # a ServiceAccount token's JTI, in user.extra


def read_audit(path: pathlib.Path, replicas: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """One record per request (auditID), with its received time (epoch), client, verb, resource, code;
    and `replica`: whose token made it, by its JTI in `replicas` (None for any other client)."""
    replicas = replicas or {}
    seen: dict[str, dict[str, Any]] = {}
    try:
        with open(path, errors="replace") as f:
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                aid = e.get("auditID")
                if not aid or aid in seen and seen[aid].get("code"):
                    continue
                ref = e.get("objectRef") or {}
                resource = "/".join(x for x in (ref.get("apiGroup") or "core", ref.get("resource") or "",
                                                ref.get("subresource") or "") if x) if ref else \
                    f"nonresource:{(e.get('requestURI') or '').split('?')[0]}"
                user = e.get("user") or {}
                credential = ((user.get("extra") or {}).get(CREDENTIAL) or [""])[0]
                seen[aid] = {"at": parse_time(e.get("requestReceivedTimestamp")) or 0.0,
                             "done": parse_time(e.get("stageTimestamp")) or 0.0,
                             "client": audit_client(user.get("username") or "", e.get("userAgent") or ""),
                             "replica": replicas.get(credential.removeprefix("JTI=")),
                             "agent": e.get("userAgent") or "", "verb": e.get("verb") or "", "resource": resource,
                             "namespace": ref.get("namespace") or "", "name": ref.get("name") or "",
                             "code": (e.get("responseStatus") or {}).get("code")}
    except FileNotFoundError:
        return []
    return list(seen.values())


# -- the run ---------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args: argparse.Namespace, state_dir: pathlib.Path) -> None:
        self.args = args
        self.state_dir = state_dir
        self.report = Report()
        self.env: environment.Environment | None = None
        inflight_time = 600 + 2 * args.burst + 30 * args.in_flight if args.in_flight else 0
        self.deadline = Deadline(args.timeout or (1800 + 2 * (args.clusters + args.burst) + args.rest_window +
                                                  inflight_time))
        self.book = Book()
        self.watch: Watch | None = None
        self.sampler: MemorySampler | None = None
        self.audit_path = state_dir / "audit.log"
        self.namespaces = [f"{NAMESPACE_PREFIX}-{i}" for i in range(args.namespaces)]
        self.windows: dict[str, tuple[float, float]] = {}  # phase -> (epoch start, end), for the audit log
        self.bench_requests: collections.Counter[str] = collections.Counter()  # our own API calls, per phase
        self._client: kubernetes.client.ApiClient | None = None

    def operator_env(self) -> dict[str, str]:
        env = {"FLEETYARD_HEALTH_INTERVAL": str(self.args.health_interval), "FLEETYARD_LOG_FORMAT": "json"}
        if self.args.in_flight > 0:  # the inflight phase's K runs at once (the set-up's Networks get them too)
            env["FLEETYARD_MAX_OPERATIONS"] = str(self.args.in_flight)
            env["FLEETYARD_MAX_OPERATIONS_PER_CONNECTION"] = str(math.ceil(self.args.in_flight / self.args.namespaces))
        env.update(operator_env_overrides(self.args.operator_env))
        return env

    # -- plumbing ----------------------------------------------------------------------------------
    @property
    def custom(self) -> kubernetes.client.CustomObjectsApi:
        assert self.env is not None
        return kubernetes.client.CustomObjectsApi(self.env.api)

    def pooled(self) -> kubernetes.client.ApiClient:
        """An admin client whose connection pool fits --threads (no TLS handshake per call)."""
        if self._client is None:
            assert self.env is not None
            configuration = kubernetes.client.Configuration()
            kubernetes.config.load_kube_config(config_file=str(self.env.kubeconfig),
                                               client_configuration=configuration)
            configuration.connection_pool_maxsize = max(4, self.args.threads)
            self._client = kubernetes.client.ApiClient(configuration)
        return self._client

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.bench_requests[self.book.phase] += 1
        return fn(*args, **kwargs)

    def scrape(self) -> Samples | None:
        """The apiserver's /metrics (one request; kept in bench_requests)."""
        assert self.env is not None
        self.bench_requests[self.book.phase] += 1
        return scrape_apiserver(self.env.api, "apiserver_")

    def operator_metrics(self) -> Samples | None:
        assert self.env is not None
        port = self.env.operator_settings.get("FLEETYARD_METRICS_PORT")
        return scrape_url(f"http://127.0.0.1:{port}/metrics", "fleetyard_", timeout=5) if port else None

    def set_phase(self, phase: str) -> None:
        with self.book.lock:
            self.book.phase = phase
        if self.sampler is not None:
            self.sampler.phase = phase

    def hold(self, seconds: float) -> None:
        """`seconds` of doing nothing but checking that the operator lives."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.operator_alive()
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))

    def operator_alive(self) -> None:
        assert self.env is not None
        if self.env.operator is None or not self.env.operator.alive():
            raise BenchError(f"the operator is not running (log: {self.state_dir / 'operator.log'})")

    def cpu(self) -> dict[str, float | None]:
        assert self.env is not None
        snap = cpu_snapshot(self.env)
        webhooks = self.env.webhooks
        snap["webhooks"] = tree_cpu_seconds(webhooks.pid) if webhooks is not None else None
        return snap

    def report_cpu(self, phase: str, a: dict[str, float | None], b: dict[str, float | None]) -> dict[str, float]:
        """`cpu.<phase>.*`: cpu-s per process we started, as % of one core for the operator, how busy
        the machine was and what others (not started by us: e.g. a test suite) used."""
        r = self.report
        wall = (b["wall"] or 0.0) - (a["wall"] or 0.0)
        out: dict[str, float] = {"wall": wall}
        r.line(f"cpu.{phase}.wall", wall, "s")
        ours = 0.0
        for key in a:
            if key in ("wall", "machine_busy", "machine_total", "operator") or a[key] is None or b.get(key) is None:
                continue
            used = (b[key] or 0.0) - (a[key] or 0.0)
            out[key] = used
            ours += used
            r.line(f"cpu.{phase}.{key}", used, "cpu-s")
        if a.get("operator") is not None and b.get("operator") is not None:
            used = (b["operator"] or 0.0) - (a["operator"] or 0.0)
            out["operator"] = used
            r.line(f"cpu.{phase}.operator", used, "cpu-s")
            if wall:
                r.line(f"cpu.{phase}.operator_share", round(100 * used / wall, 2), "% of one core")
                r.line(f"cpu.{phase}.operator_tree_share", round(100 * out.get("operator_tree", used) / wall, 2),
                       "% of one core")
        busy = (b["machine_busy"] or 0.0) - (a["machine_busy"] or 0.0)
        total = (b["machine_total"] or 0.0) - (a["machine_total"] or 0.0)
        capacity = wall * (os.cpu_count() or 1)
        others = max(0.0, busy - ours)
        out["not_ours"] = others
        r.line(f"cpu.{phase}.machine_busy", round(100 * busy / total, 1) if total else 0.0, "%")
        r.line(f"cpu.{phase}.ours_share", round(100 * ours / capacity, 1) if capacity else 0.0, "% of the machine")
        r.line(f"cpu.{phase}.not_ours", others, "cpu-s")
        if capacity:
            r.line(f"cpu.{phase}.not_ours_share", round(100 * others / capacity, 1), "% of the machine")
            if others > 0.1 * capacity:
                r.warn(f"during '{phase}' other processes used {100 * others / capacity:.0f}% of the machine's CPU; "
                       "latencies are disturbed (CPU seconds and request counts much less)")
        r.line(f"machine.loadavg_after_{phase}", " ".join((read_text("/proc/loadavg") or "").split()[:3]))
        return out

    def rss_line(self, name: str) -> float:
        assert self.env is not None and self.env.operator is not None and self.env.operator.pid is not None
        value = rss_kib(self.env.operator.pid) / MiB
        self.report.line(name, round(value, 1), "MiB")
        return value

    def report_memory(self, sampler: MemorySampler, phases: Iterable[str], prefix: str = "memory") -> None:
        for phase in phases:
            peak = sampler.peaks.get(phase)
            if not peak or not peak["samples"]:
                continue
            self.report.line(f"{prefix}.{phase}.operator_rss_peak", round(peak["operator_rss"] / MiB, 1), "MiB")
            self.report.line(f"{prefix}.{phase}.operator_rss_mean",
                             round(peak["operator_rss_sum"] / peak["samples"] / MiB, 1), "MiB")
            self.report.line(f"{prefix}.{phase}.tree_rss_peak", round(peak["tree_rss"] / MiB, 1), "MiB")

    # -- phases ------------------------------------------------------------------------------------
    def run(self) -> None:
        a, r = self.args, self.report
        r.line("settings.clusters", a.clusters)
        r.line("settings.namespaces", a.namespaces)
        r.line("settings.rest_window", a.rest_window, "s")
        r.line("settings.burst", a.burst)
        r.line("settings.in_flight", a.in_flight,
               "(Pulumi runs in flight during the second burst; 0: no inflight phase)")
        r.line("settings.threads", a.threads)
        r.line("settings.health_interval", a.health_interval,
               "s (FLEETYARD_HEALTH_INTERVAL: health checks are kept out of the at-rest figures)")
        r.line("settings.operator_env", " ".join(f"{k}={v}" for k, v in self.operator_env().items()))
        r.line("settings.audit_log", a.audit)
        r.line("settings.timeout", self.deadline.seconds, "s")
        report_machine(r)
        r.line("state_dir", str(self.state_dir))
        r.line("code", code_version())

        self.start_environment()
        env = self.env
        assert env is not None and env.operator is not None and env.operator.pid is not None
        self.sampler = MemorySampler(env.operator.pid, a.sample_interval)
        self.sampler.start()
        self.set_phase("empty")
        time.sleep(5)
        self.rss_line("memory.empty.operator_rss")  # nothing at all but the CRDs

        self.watch = Watcher(str(env.kubeconfig), kinds.PROVISIONED_CLUSTER.plural, None, self.book.on_event,
                             timeout=1800)
        self.watch.start()
        self.setup_connections_and_networks()

        self.set_phase("idle")
        log(f"idle with {a.namespaces} Connections and Networks, no ProvisionedClusters: {a.idle:.0f} s")
        cpu0 = self.cpu()
        time.sleep(a.idle)
        cpu1 = self.cpu()
        self.rss_line("memory.no_clusters.operator_rss")
        self.report_cpu("idle", cpu0, cpu1)

        self.populate()
        self.settle("populate")
        self.rest()
        first = self.burst()
        self.burst_first_status, self.burst_webhooks, self.burst_keys = first["first_status"], first["webhooks"], \
            first["keys"]
        self.patches()
        self.restart()
        if a.in_flight > 0:
            self.inflight()
        report_operator_log(r, self.state_dir / "operator.log")
        self.report_audit()
        self.report_summary()

    def start_environment(self, with_operator: bool = True) -> None:
        """benchlib.start_environment, with the apiserver audit log (by client, for attribution)."""
        removed = environment.reset_state(self.state_dir)
        if removed:
            log(f"removed a previous environment's state from {self.state_dir}: {', '.join(removed)}")
        self.audit_path.unlink(missing_ok=True)
        t0 = time.monotonic()
        log("starting the local environment (apiserver, etcd, workload cluster, moto, webhooks"
            + (", operator)" if with_operator else ")"))
        self.env = environment.Environment(self.state_dir, self.operator_env())
        if self.args.audit:
            policy = self.state_dir / "audit-policy.yaml"
            policy.write_text(AUDIT_POLICY)
            self.env.control_plane.extra_args += [f"--audit-policy-file={policy}",
                                                  f"--audit-log-path={self.audit_path}", "--audit-log-mode=batch"]
        self.env.start(with_operator=with_operator, with_api=False)
        self.report.line("env.start_time", time.monotonic() - t0, "s")

    def setup_connections_and_networks(self) -> None:
        assert self.env is not None
        env = self.env
        core = kubernetes.client.CoreV1Api(env.api)
        t0 = time.monotonic()
        log(f"{len(self.namespaces)} namespaces: a customer role in moto, a Secret and a Connection each")
        for i, ns in enumerate(self.namespaces):
            kube_apply.ensure_namespace(env.api, ns)
            external_id = f"fy-bench-{uuid.uuid4().hex}"
            role = customer_account.deploy_connection_stack(env.aws_env(), env.moto.operator_user_arn, external_id,
                                                            f"FleetyardRest{i}-{uuid.uuid4().hex[:6]}")
            core.create_namespaced_secret(ns, {"metadata": {"name": "ext-id"}, "data": {
                "value": base64.b64encode(external_id.encode()).decode()}})
            self.create(ns, kinds.CONNECTION, {"metadata": {"name": "conn"}, "spec": {
                "displayName": f"Rest {i}", "providerConfig": {
                    "accountId": role.account_id, "region": "us-east-1", "roleArn": role.role_arn,
                    "stackArn": role.stack_arn, "externalIdSecretRef": {"name": "ext-id"}}}})
        self.wait_all_phase(kinds.CONNECTION, "conn", "active")
        self.report.line("setup.connections_active_time", time.monotonic() - t0, "s")
        time.sleep(2)
        self.rss_line("memory.after_connections.operator_rss")
        t1 = time.monotonic()
        log(f"creating {len(self.namespaces)} Networks (a Pulumi run each)")
        for i, ns in enumerate(self.namespaces):
            self.create(ns, kinds.NETWORK, {"metadata": {"name": "net"}, "spec": {
                "connectionRef": {"name": "conn"}, "displayName": f"Network {i}", "region": "us-east-1",
                "config": {"cidr": f"10.{(30 + i) % 250}.0.0/16", "natGateways": "Single"}}})
        self.wait_all_phase(kinds.NETWORK, "net", "active")
        self.report.line("setup.networks_active_time", time.monotonic() - t1, "s")
        time.sleep(2)
        self.rss_line("memory.after_networks.operator_rss")
        self.report_operations()

    def report_operations(self) -> None:
        """The Operations the setup left (one LIST): by type and phase, their size as JSON (the watch
        caches of the operator and the webhook server hold them), the catalog results' item counts."""
        listing = self.custom.list_cluster_custom_object(kinds.GROUP, kinds.VERSION, kinds.OPERATION.plural)
        by: collections.Counter[str] = collections.Counter()
        size: collections.Counter[str] = collections.Counter()
        items: list[int] = []
        for op in listing["items"]:
            key = f"{(op.get('spec') or {}).get('operation')}/{(op.get('status') or {}).get('status')}"
            by[key] += 1
            size[key] += len(json.dumps(op))
            result = (op.get("status") or {}).get("result") or {}
            if (op.get("spec") or {}).get("operation") == "listInstanceTypes":
                items.append(len(result.get("items") or []))
        self.report.line("setup.operations", " ".join(f"{k}={n}" for k, n in sorted(by.items())))
        self.report.line("setup.operations_json_kib", " ".join(f"{k}={size[k] / 1024:.0f}" for k in sorted(size)))
        self.report.line("setup.catalog_items_per_operation", " ".join(str(n) for n in items))

    def create(self, namespace: str, kind: kinds.Kind, body: dict[str, Any]) -> dict[str, Any]:
        body = {"apiVersion": kinds.API_VERSION, "kind": kind.kind, **body}
        return dict(self.custom.create_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kind.plural,
                                                                body))

    def wait_all_phase(self, kind: kinds.Kind, name: str, phase: str) -> None:
        """One list of the kind every 2 s (setup only) until `name` in every namespace has `phase`."""
        while True:
            listing = self.custom.list_cluster_custom_object(kinds.GROUP, kinds.VERSION, kind.plural)
            phases = {o["metadata"]["namespace"]: (o.get("status") or {}) for o in listing["items"]
                      if o["metadata"]["name"] == name and o["metadata"]["namespace"] in self.namespaces}
            failed = {ns: s.get("statusMessage") for ns, s in phases.items() if s.get("status") == "failed"}
            if failed:
                raise BenchError(f"{kind.kind} {name} failed: {failed}")
            done = sum(1 for s in phases.values() if s.get("status") == phase)
            if done == len(self.namespaces):
                return
            self.operator_alive()
            self.deadline.check(f"waiting for the {kind.kind}s to be {phase} ({done}/{len(self.namespaces)})")
            time.sleep(2)

    def cluster_body(self, namespace: str, name: str, desired_state: str = "Pending") -> dict[str, Any]:
        return {"apiVersion": kinds.API_VERSION, "kind": "ProvisionedCluster",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"connectionRef": {"name": "conn"}, "networkRef": {"name": "net"},
                         "displayName": f"Rest {name}", "region": "us-east-1", "desiredState": desired_state,
                         "config": {"kubernetesVersion": "1.34", "publicAccessCidrs": ["203.0.113.0/24"],
                                    "systemNodeGroup": {"name": "system", "instanceTypes": ["m7g.large"],
                                                        "minSize": 1, "maxSize": 3, "desiredSize": 2,
                                                        "diskSizeGb": 50}}}}

    def create_many(self, keys: list[tuple[str, str]], desired_state: str = "Pending") -> tuple[float, float]:
        """Creates the ProvisionedClusters with --threads clients; (first start, last end) epochs."""
        custom = kubernetes.client.CustomObjectsApi(self.pooled())
        book = self.book

        def one(key: tuple[str, str]) -> None:
            ns, name = key
            book.created[key] = time.time()
            try:
                self.call(custom.create_namespaced_custom_object, kinds.GROUP, kinds.VERSION, ns,
                          kinds.PROVISIONED_CLUSTER.plural, self.cluster_body(ns, name, desired_state))
                book.create_done[key] = time.time()
            except kubernetes.client.ApiException as exc:
                book.create_failed[key] = f"{exc.status} {exc.reason}: {(exc.body or '')[:200]}"
            except Exception as exc:  # noqa: BLE001 - a failed create is a data point
                book.create_failed[key] = f"{type(exc).__name__}: {exc}"

        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.args.threads) as pool:
            list(pool.map(one, keys))
        return t0, time.time()

    def wait_first_phase(self, keys: list[tuple[str, str]], what: str) -> float:
        wanted = [k for k in keys if k not in self.book.create_failed]
        last = 0.0
        with self.book.lock:
            while True:
                missing = [k for k in wanted if k not in self.book.first_phase]
                if not missing:
                    break
                self.deadline.check(f"waiting for the {what} clusters' first status ({len(wanted) - len(missing)}/"
                                    f"{len(wanted)})")
                if time.monotonic() - last > 15:
                    last = time.monotonic()
                    self.operator_alive()
                    log(f"{what}: {len(wanted) - len(missing)}/{len(wanted)} have a status")
                self.book.lock.wait(1.0)
        return time.time()

    def settle(self, phase: str) -> None:
        """Until the ProvisionedCluster watch was quiet for --quiet s (at most --settle-max s)."""
        t0 = time.monotonic()
        while self.book.quiet_for() < self.args.quiet and time.monotonic() - t0 < self.args.settle_max:
            time.sleep(0.5)
        self.report.line(f"{phase}.settle_time", time.monotonic() - t0, "s")
        if self.book.quiet_for() < self.args.quiet:
            self.report.warn(f"after {phase}: ProvisionedClusters still changing after {self.args.settle_max:.0f} s")

    def populate(self) -> None:
        a, r = self.args, self.report
        keys = [(self.namespaces[i % a.namespaces], f"pc-{i:04d}") for i in range(a.clusters)]
        self.set_phase("populate")
        log(f"creating {a.clusters} Pending ProvisionedClusters over {a.namespaces} namespaces, {a.threads} threads")
        req0 = request_counts(self.scrape())
        cpu0 = self.cpu()
        t0, t1 = self.create_many(keys)
        r.line("populate.create_wall_time", t1 - t0, "s")
        r.line("populate.create_rate", len(keys) / (t1 - t0), "clusters/s")
        r.line("populate.create_failed", len([k for k in keys if k in self.book.create_failed]))
        if len([k for k in keys if k in self.book.create_failed]) == len(keys):
            raise BenchError(f"every create failed, e.g. {next(iter(self.book.create_failed.values()))}")
        r.stats("populate.create_call", [self.book.create_done[k] - self.book.created[k] for k in keys
                                         if k in self.book.create_done])
        t2 = self.wait_first_phase(keys, "populate")
        cpu1 = self.cpu()
        r.line("populate.all_have_status_after_first_create", t2 - t0, "s")
        r.stats("populate.create_to_first_status", [self.book.first_phase[k][0] - self.book.created[k]
                                                    for k in keys if k in self.book.first_phase])
        phases = collections.Counter(self.book.first_phase[k][1] for k in keys if k in self.book.first_phase)
        r.line("populate.first_phases", " ".join(f"{p}={n}" for p, n in sorted(phases.items())))
        self.report_cpu("populate", cpu0, cpu1)
        req1 = request_counts(self.scrape())
        self.report_requests("populate", req0, req1, t2 - t0)
        self.populated = [k for k in keys if k not in self.book.create_failed]

    def rest(self) -> None:
        a, r = self.args, self.report
        assert self.env is not None and self.watch is not None
        n = len(self.populated)
        self.set_phase("rest")
        log(f"at rest with {n} ProvisionedClusters: {a.rest_window:.0f} s")
        watch_requests0 = self.watch.requests
        met0 = self.operator_metrics()
        t0 = time.time()
        cpu0 = self.cpu()
        req0 = request_counts(self.scrape())
        self.hold(a.rest_window)
        req1 = request_counts(self.scrape())
        cpu1 = self.cpu()
        t1 = time.time()
        met1 = self.operator_metrics()
        self.windows["rest"] = (t0, t1)
        wall = t1 - t0
        r.line("rest.objects", n, "ProvisionedClusters (plus as many Cluster records, "
               f"{a.namespaces} Networks and Connections)")
        cpu = self.report_cpu("rest", cpu0, cpu1)
        self.rest_cpu_share = 100 * cpu.get("operator", 0.0) / wall if wall else None
        if self.sampler is not None:
            self.report_memory(self.sampler, ["rest"])
        status = read_text(f"/proc/{self.env.operator.pid}/status") if self.env.operator else None
        threads = next((line.split()[1] for line in (status or "").splitlines() if line.startswith("Threads:")), "?")
        r.line("rest.operator_threads", threads)
        if self.env.webhooks is not None and self.env.webhooks.pid is not None:
            r.line("memory.rest.webhooks_rss", round(rss_kib(self.env.webhooks.pid) / MiB, 1), "MiB")
        self.rest_rss = self.rss_line("memory.rest.operator_rss_end")
        total, by_cat = self.report_requests("rest", req0, req1, wall)
        own = self.bench_requests["rest"] + (self.watch.requests - watch_requests0)
        r.line("rest.bench_own_requests", own, "(/metrics scrapes, watch renewals)")
        if total is not None:
            per_hour = lambda count: count / wall * 3600 / max(1, n)  # noqa: E731
            excl = total - by_cat.get("leases", 0) - by_cat.get("peering", 0)
            r.line("rest.requests_per_object_hour", round(per_hour(total), 3), "req/object/h (all clients)")
            r.line("rest.requests_per_object_hour_excl_leases_peering", round(per_hour(excl), 3),
                   "req/object/h (all clients, without leases and Kopf peering)")
            self.rest_per_object_hour = per_hour(excl)
        if met0 is not None and met1 is not None:
            rec = lambda s: sum(v for name, _, v in s if name == "fleetyard_reconciles_total")  # noqa: E731
            r.line("rest.reconciles", int(rec(met1) - rec(met0)), "(fleetyard_reconciles_total delta)")
        r.line("rest.cluster_watch_events", sum(v for (p, _), v in self.book.events.items() if p == "rest"),
               "(ProvisionedCluster changes seen at rest)")
        self.report_object_sizes()

    def report_object_sizes(self) -> None:
        """One ProvisionedCluster and its Cluster record as stored (2 GETs, after the window): JSON size
        with and without managedFields (the operator's cache drops them) and as Python dicts."""
        ns, name = self.populated[0]
        for kind in (kinds.PROVISIONED_CLUSTER, kinds.CLUSTER):
            try:
                body = self.custom.get_namespaced_custom_object(kinds.GROUP, kinds.VERSION, ns, kind.plural, name)
            except kubernetes.client.ApiException as exc:
                self.report.line(f"objects.{kind.singular}", f"n/a ({exc.status})")
                continue
            trimmed = {**body, "metadata": {k: v for k, v in body["metadata"].items() if k != "managedFields"}}
            text = json.dumps(trimmed)
            tracemalloc.start()
            t0 = tracemalloc.get_traced_memory()[0]
            copies = [json.loads(text) for _ in range(20)]
            per_copy = (tracemalloc.get_traced_memory()[0] - t0) / len(copies)
            tracemalloc.stop()
            del copies
            self.report.line(f"objects.{kind.singular}",
                             f"{len(json.dumps(body)) / 1024:.1f} KiB JSON, {len(text) / 1024:.1f} KiB without "
                             f"managedFields, {per_copy / 1024:.1f} KiB as a Python dict")

    def burst(self, phase: str = "burst", prefix: str = "burst") -> dict[str, Any]:
        """--burst new Pending ProvisionedClusters named `<prefix>-NNNN`: create -> first status.status,
        CPU, requests, admission webhooks, as `<phase>.*` (and `cpu.<phase>.*`). Returns the first
        status summary, the webhooks' p99s, the keys that got a status and the last first status (epoch)."""
        a, r = self.args, self.report
        keys = [(self.namespaces[i % a.namespaces], f"{prefix}-{i:04d}") for i in range(a.burst)]
        self.set_phase(phase)
        log(f"{phase}: {a.burst} new Pending ProvisionedClusters, {a.threads} threads")
        met0 = self.operator_metrics()
        s0 = self.scrape()
        cpu0 = self.cpu()
        spies = self.start_py_spy(phase) if phase == "burst" else []  # profile.* names: the first burst only
        t0, t1 = self.create_many(keys)
        t2 = self.wait_first_phase(keys, phase)
        cpu1 = self.cpu()
        s1 = self.scrape()
        self.stop_py_spy(spies)
        met1 = self.operator_metrics()
        self.windows[phase] = (t0, t2)
        if met0 is not None and met1 is not None:
            rec = lambda s: sum(v for name, labels, v in s  # noqa: E731
                                if name == "fleetyard_reconciles_total" and labels.get("kind") == "ProvisionedCluster")
            r.line(f"{phase}.reconciles", int(rec(met1) - rec(met0)),
                   f"(ProvisionedCluster reconciles until the last first status, for {a.burst} new ones)")
        b = self.book
        failed = [k for k in keys if k in b.create_failed]
        r.line(f"{phase}.create_failed", len(failed))
        if failed:
            r.data[f"{phase}.create_failures"] = collections.Counter(b.create_failed[k] for k in failed).most_common(5)
            print(f"{phase}.create_failures: " + "; ".join(f"{n}x {m}" for m, n in r.data[f"{phase}.create_failures"]))
        ok = [k for k in keys if k in b.create_done and k in b.first_phase]
        r.line(f"{phase}.create_wall_time", t1 - t0, "s")
        r.line(f"{phase}.all_have_status_after_first_create", t2 - t0, "s")
        keys_ = ("min", "median", "p90", "p99", "max")
        r.stats(f"{phase}.create_call", [b.create_done[k] - b.created[k] for k in ok], keys=keys_)
        r.stats(f"{phase}.create_to_first_status", [b.first_phase[k][0] - b.created[k] for k in ok], keys=keys_)
        r.stats(f"{phase}.created_to_first_status", [b.first_phase[k][0] - b.create_done[k] for k in ok], keys=keys_)
        r.stats(f"{phase}.create_to_any_status", [b.first_status[k] - b.created[k] for k in ok if k in b.first_status],
                keys=keys_)
        first_status = summary([b.first_phase[k][0] - b.created[k] for k in ok])
        self.report_cpu(phase, cpu0, cpu1)
        self.report_requests(phase, request_counts(s0), request_counts(s1), t2 - t0)
        webhooks = self.report_admission(phase, s0, s1)
        self.report_server_latency(phase, s0, s1)
        return {"first_status": first_status, "webhooks": webhooks, "keys": ok, "last_first_status": t2}

    def patches(self) -> None:
        """The bare PATCH next to the first status: the benchmark patches each burst object itself, with
        the same --threads, once a metadata annotation (main resource: the UPDATE admission webhooks run)
        and once status.kopf.<key> (/status subresource: no webhook; like the operator's status write)."""
        r = self.report
        self.set_phase("patch")
        self.settle("burst")
        custom = kubernetes.client.CustomObjectsApi(self.pooled())
        keys = self.burst_keys
        results: dict[str, dict[str, Any]] = {}
        for what, fn, body in (
                ("annotation", custom.patch_namespaced_custom_object,
                 lambda: {"metadata": {"annotations": {TOUCH_ANNOTATION: f"{time.time():.6f}"}}}),
                ("status", custom.patch_namespaced_custom_object_status,
                 lambda: {"status": {"kopf": {STATUS_TOUCH_KEY: f"{time.time():.6f}"}}})):
            times: list[float] = []
            errors: list[str] = []
            since = self.book.modified_count("patch")

            def one(key: tuple[str, str]) -> None:
                t = time.perf_counter()
                try:
                    out = self.call(fn, kinds.GROUP, kinds.VERSION, key[0], kinds.PROVISIONED_CLUSTER.plural,
                                    key[1], body(), _content_type=MERGE)
                    times.append(time.perf_counter() - t)
                    with self.book.lock:
                        self.book.ours.add(out["metadata"]["resourceVersion"])
                except Exception as exc:  # noqa: BLE001
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])

            s0 = self.scrape()
            t0 = time.time()
            with concurrent.futures.ThreadPoolExecutor(max_workers=self.args.threads) as pool:
                list(pool.map(one, keys))
            t1 = time.time()
            s1 = self.scrape()
            time.sleep(3)
            self.settle(f"patch_{what}")
            self.windows[f"patch_{what}"] = (t0, time.time())
            r.stats(f"patch.{what}", times, keys=("min", "median", "p90", "p99", "max"))
            r.line(f"patch.{what}.errors", len(errors))
            r.line(f"patch.{what}.wall_time", t1 - t0, "s")
            # writes to the patched objects that were not ours: what the operator did in reaction
            r.line(f"patch.{what}.reaction_writes", self.book.foreign_writes("patch", since),
                   "(ProvisionedCluster writes by others after our patches)")
            if what == "annotation":
                self.report_admission("patch_annotation", s0, s1)
            self.report_server_latency(f"patch_{what}", s0, s1)
            results[what] = summary(times) or {}
        self.patch_results = results

    def restart(self) -> None:
        a, r = self.args, self.report
        assert self.env is not None
        env = self.env
        n_pc = len(self.populated) + len(self.burst_keys)
        self.set_phase("restart")
        ops0 = self.count_operations()
        s0 = self.scrape()
        if self.sampler is not None:
            self.report_memory(self.sampler, ["idle", "populate", "rest", "burst", "patch"])
            self.sampler.stop()
            self.sampler = None
        self.rss_line("memory.before_restart.operator_rss")
        if env.webhooks is not None and env.webhooks.pid is not None:
            r.line("memory.before_restart.webhooks_rss", round(rss_kib(env.webhooks.pid) / MiB, 1), "MiB")
        self.malloc_trim()
        r.line("restart.code", code_version(), "(what the restarted operator imports)")
        log("restarting the operator")
        t0 = time.time()
        env.stop_operator()
        t1 = time.time()
        env.start_operator()
        t2 = time.time()
        assert env.operator is not None and env.operator.pid is not None
        self.sampler = MemorySampler(env.operator.pid, a.sample_interval)
        self.sampler.phase = "restart"
        self.sampler.start()
        want_pc, want_net = n_pc, len(self.namespaces)
        seen: dict[str, float] = {}
        t_reconciled = None
        while True:
            samples = self.operator_metrics() or []
            for name, labels, value in samples:
                if name == "fleetyard_reconciles_total":
                    seen[labels.get("kind", "")] = seen.get(labels.get("kind", ""), 0.0) + value
            if seen.get("ProvisionedCluster", 0) >= want_pc and seen.get("Network", 0) >= want_net:
                t_reconciled = time.time()
                break
            if time.time() - t2 > a.restart_timeout:
                r.warn(f"not every object was reconciled within {a.restart_timeout:.0f} s of the restart: {seen}")
                break
            self.operator_alive()
            seen = {}
            time.sleep(0.25)
        cpu_new = cpu_seconds(env.operator.pid)
        r.line("restart.stop_time", t1 - t0, "s")
        r.line("restart.start_to_healthz", t2 - t1, "s")
        if t_reconciled is not None:
            r.line("restart.start_to_all_reconciled", t_reconciled - t1, "s")
            r.line("restart.healthz_to_all_reconciled", t_reconciled - t2, "s")
            r.line("restart.operator_cpu_to_all_reconciled", cpu_new or 0.0, "cpu-s")
        r.line("restart.objects", want_pc + want_net, f"({want_pc} ProvisionedClusters, {want_net} Networks)")
        r.line("restart.reconciles_seen", " ".join(f"{k}={int(v)}" for k, v in sorted(seen.items())))
        # Kopf's own resume handlers run beside the queue and write nothing we watch: count a fixed window
        time.sleep(max(0.0, a.restart_window - (time.time() - t2)))
        self.settle("restart")
        t3 = time.time()
        s1 = self.scrape()
        ops1 = self.count_operations()
        self.windows["restart"] = (t0, t3)
        self.restart_to_reconciled = (t_reconciled - t1) if t_reconciled else None
        r.line("restart.operations_existing", ops0)
        r.line("restart.operations_created", ops1 - ops0, "(must be 0: nothing re-run)")
        self.restart_operations = ops1 - ops0
        r.line("restart.cluster_writes", self.book.foreign_writes("restart"),
               "(ProvisionedCluster MODIFIED events during the restart)")
        self.report_requests("restart", request_counts(s0), request_counts(s1), t3 - t0)
        self.restart_rss = self.rss_line("memory.after_restart.operator_rss")
        self.report_memory(self.sampler, ["restart"])

    def inflight_runs(self, names: set[str]) -> dict[str, list[dict[str, Any]]]:
        """The provision Operations of the inflight clusters (one LIST of all Operations), by cluster name."""
        listing = self.call(self.custom.list_cluster_custom_object, kinds.GROUP, kinds.VERSION,
                            kinds.OPERATION.plural)
        out: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        for op in listing["items"]:
            spec = op.get("spec") or {}
            ref = spec.get("resourceRef") or {}
            if spec.get("operation") == "provision" and ref.get("kind") == "ProvisionedCluster" and \
                    ref.get("name") in names and op["metadata"]["namespace"] in self.namespaces:
                out[ref["name"]].append(op)
        return out

    @staticmethod
    def run_states(runs: dict[str, list[dict[str, Any]]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(running, finished) among each cluster's latest provision Operation in `runs`."""
        latest = [max(group, key=lambda op: (op["metadata"].get("creationTimestamp") or "", op["metadata"]["name"]))
                  for group in runs.values() if group]
        phase = lambda op: (op.get("status") or {}).get("status")  # noqa: E731
        return ([op for op in latest if phase(op) == "running"],
                [op for op in latest if operation_model.finished(phase(op))])

    @staticmethod
    def run_stages(ops: list[dict[str, Any]]) -> str:
        stages = collections.Counter(((op.get("status") or {}).get("progress") or {}).get("stage") or "?" for op in ops)
        return " ".join(f"{k}={n}" for k, n in sorted(stages.items())) or "-"

    def inflight(self) -> None:
        """--in-flight K provisions running (K ProvisionedClusters with desiredState Provisioned, until K
        provision Operations are `running`), then a second burst (`burst2-NNNN`) timed like the first,
        as `inflight.*`; how many runs were still running at its last first status. The runs are left
        running: stop() ends them."""
        a, r = self.args, self.report
        k = a.in_flight
        self.set_phase("inflight")
        env = self.operator_env()
        keys = [(self.namespaces[i % a.namespaces], f"inflight-{i:03d}") for i in range(k)]
        names = {name for _, name in keys}
        # the runs the limits allow at once (lower than K only when --operator-env set them lower)
        max_ops = int(float(env.get("FLEETYARD_MAX_OPERATIONS", "4")))
        per_connection = int(float(env.get("FLEETYARD_MAX_OPERATIONS_PER_CONNECTION", "2")))
        per_namespace = collections.Counter(ns for ns, _ in keys)
        at_once = min(k, max_ops, sum(min(per_connection, n) for n in per_namespace.values()))
        r.line("inflight.limits", f"FLEETYARD_MAX_OPERATIONS={max_ops} FLEETYARD_MAX_OPERATIONS_PER_CONNECTION="
               f"{per_connection}", f"({at_once} of the {k} runs at once)")
        if at_once < k:
            r.warn(f"the operator's limits allow {at_once} of the {k} runs at once (--operator-env)")
        log(f"inflight: {k} ProvisionedClusters with desiredState Provisioned, until {at_once} provision "
            "Operations are running")
        t0, _ = self.create_many(keys, desired_state="Provisioned")
        failed = [key for key in keys if key in self.book.create_failed]
        r.line("inflight.runs_create_failed", len(failed))
        if len(failed) == len(keys):
            raise BenchError(f"every inflight create failed, e.g. {self.book.create_failed[failed[0]]}")
        wanted = min(at_once, len(keys) - len(failed))
        last_log = time.monotonic()
        while True:
            runs = self.inflight_runs(names)
            running, finished = self.run_states(runs)
            if len(running) >= wanted:
                break
            waiting = len(keys) - len(failed) - len(running) - len(finished)
            if finished and waiting <= 0:  # nothing more will start: some finished before the others ran
                r.warn(f"inflight: only {len(running)} of {wanted} runs at once, {len(finished)} finished first ("
                       + ", ".join(sorted({f"{(op.get('status') or {}).get('status')}: "
                                           f"{((op.get('status') or {}).get('error') or {}).get('message', '')[:120]}"
                                           for op in finished})) + ")")
                break
            self.operator_alive()
            self.deadline.check(f"waiting for {wanted} provision Operations to be running ({len(running)} running, "
                                f"{len(finished)} finished)")
            if time.monotonic() - last_log > 15:
                last_log = time.monotonic()
                log(f"inflight: {len(running)}/{wanted} provision Operations running, {len(finished)} finished")
            time.sleep(1.0)
        t1 = time.time()
        r.line("inflight.runs_running_time", t1 - t0,
               f"s (first create -> {len(running)} provision Operations running)")
        r.line("inflight.runs_running", len(running), f"(of {k}, when the second burst starts)")
        r.line("inflight.runs_stages_at_start", self.run_stages(running), "(status.progress.stage)")
        r.line("inflight.runs_finished_before_burst", len(finished))
        result = self.burst("inflight", "burst2")
        running_end, finished_end = self.run_states(self.inflight_runs(names))
        r.line("inflight.runs_running_at_last_first_status", len(running_end),
               f"(of {k}; must be {k} for a fair figure; one LIST right after the last first status)")
        r.line("inflight.runs_stages_at_end", self.run_stages(running_end), "(status.progress.stage)")
        if len(running_end) < k:
            r.warn(f"inflight: only {len(running_end)} of {k} Pulumi runs were still running when the second "
                   f"burst's last first status arrived ({len(finished_end)} finished): the figure is not for {k} in "
                   "flight (slower runs: e.g. --operator-env FLEETYARD_FAKE_AWS_LATENCY=1)")
        if self.sampler is not None:
            self.report_memory(self.sampler, ["inflight"])
        self.inflight_first_status = result["first_status"]
        self.inflight_running = len(running_end)

    def start_py_spy(self, phase: str) -> list[tuple[str, subprocess.Popen[bytes], pathlib.Path]]:
        """With --py-spy: `py-spy record` of the operator (every thread, idle ones too: where the
        reconcile threads wait) and of the webhook server (on-CPU only) until stop_py_spy."""
        if not self.args.py_spy:
            return []
        assert self.env is not None and self.env.operator is not None and self.env.webhooks is not None
        out = []
        for who, pid, extra in (("operator", self.env.operator.pid, ["--idle", "--threads"]),
                                ("webhooks", self.env.webhooks.pid, [])):
            path = self.state_dir / f"py-spy-{phase}-{who}.txt"
            proc = subprocess.Popen([self.args.py_spy, "record", "--pid", str(pid), "--rate", "50", "--format", "raw",
                                     "--nonblocking", "--output", str(path), *extra],
                                    stdout=subprocess.DEVNULL, stderr=open(self.state_dir / f"py-spy-{who}.log", "wb"))
            out.append((who, proc, path))
        time.sleep(1)
        return out

    def stop_py_spy(self, spies: list[tuple[str, subprocess.Popen[bytes], pathlib.Path]]) -> None:
        for who, proc, path in spies:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            self.report_profile(who, path)

    def report_profile(self, who: str, path: pathlib.Path) -> None:
        """The collapsed stacks: top leaf frames (where samples end) and top fleetyard/kopf frames
        counted once per stack (inclusive)."""
        leaf: collections.Counter[str] = collections.Counter()
        inclusive: collections.Counter[str] = collections.Counter()
        total = 0
        try:
            lines = path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            self.report.line(f"profile.{who}", "n/a (py-spy wrote nothing)")
            return
        for line in lines:
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = stack.split(";")
            leaf[frames[-1]] += n
            for frame in set(frames):
                if "fleetyard" in frame or "/kopf/" in frame or "kopf/_" in frame:
                    inclusive[frame] += n
        self.report.line(f"profile.{who}.samples", total, f"({path})")
        self.report.data[f"profile.{who}.leaf"] = dict(leaf.most_common(25))
        self.report.data[f"profile.{who}.inclusive"] = dict(inclusive.most_common(40))
        for frame, n in leaf.most_common(12):
            print(f"profile.{who}.leaf: {100 * n / max(1, total):5.1f}% {frame}", flush=True)
        for frame, n in inclusive.most_common(25):
            print(f"profile.{who}.inclusive: {100 * n / max(1, total):5.1f}% {frame}", flush=True)

    def malloc_trim(self) -> None:
        """With --gdb: call malloc_trim(0) inside the operator and report its RSS again: how much of it
        is memory already freed that the allocator kept (not objects still referenced)."""
        if not self.args.gdb:
            return
        assert self.env is not None and self.env.operator is not None
        t0 = time.monotonic()
        out = subprocess.run([self.args.gdb, "-p", str(self.env.operator.pid), "-batch", "-nx",
                              "-ex", "call (int) malloc_trim(0)"], capture_output=True, text=True, timeout=120)
        self.report.line("memory.malloc_trim_time", time.monotonic() - t0, "s")
        if out.returncode != 0:
            self.report.warn(f"gdb malloc_trim failed: {out.stderr[-300:]}")
        time.sleep(1)
        self.rss_line("memory.before_restart.operator_rss_after_malloc_trim")

    def count_operations(self) -> int:
        listing = self.call(self.custom.list_cluster_custom_object, kinds.GROUP, kinds.VERSION,
                            kinds.OPERATION.plural)
        return len(listing["items"])

    # -- reporting ---------------------------------------------------------------------------------
    def report_requests(self, phase: str, before: dict | None, after: dict | None,
                        wall: float) -> tuple[float | None, dict[str, float]]:
        """`<phase>.requests*`: apiserver_request_total delta (all clients), by category and verb/resource."""
        r = self.report
        if before is None or after is None:
            r.line(f"{phase}.requests", "n/a")
            return None, {}
        delta = {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0) > 0}
        total = sum(delta.values())
        r.line(f"{phase}.requests", int(total), "(apiserver_request_total delta, all clients)")
        r.line(f"{phase}.requests_per_second", total / wall if wall else 0.0, "req/s")
        by_cat: dict[str, float] = collections.defaultdict(float)
        by: dict[str, float] = collections.defaultdict(float)
        errors = 0.0
        for (verb, res, code), v in delta.items():
            by_cat[category(res)] += v
            by[f"{verb} {res}"] += v
            if code in ("4xx", "5xx"):
                errors += v
        r.line(f"{phase}.requests_4xx_5xx", int(errors))
        r.line(f"{phase}.requests_by_category", " ".join(f"{k}={int(v)}" for k, v in sorted(by_cat.items())))
        r.data[f"{phase}.requests_by_category"] = dict(by_cat)
        top = sorted(by.items(), key=lambda kv: -kv[1])[:25 if phase == "rest" else 12]
        r.data[f"{phase}.requests_top"] = {k: int(v) for k, v in top}
        print(f"{phase}.requests_top: " + ", ".join(f"{k}={int(v)}" for k, v in top), flush=True)
        return total, dict(by_cat)

    def report_admission(self, phase: str, s0: Samples | None, s1: Samples | None) -> dict[str, float]:
        """p99 (histogram_quantile of the delta buckets) of each fleetyard webhook during the phase."""
        r = self.report
        metric = "apiserver_admission_webhook_admission_duration_seconds"
        delta = hist_delta(histograms(s0, metric, ("name", "operation")), histograms(s1, metric, ("name", "operation")))
        out: dict[str, float] = {}
        if not delta:
            r.line(f"{phase}.webhooks", f"n/a ({metric} not exposed or no calls)")
            return out
        rows = []
        for (name, operation), h in sorted(delta.items()):
            p50, p99 = hist_quantile(h["buckets"], 0.5), hist_quantile(h["buckets"], 0.99)
            mean = h["sum"] / h["count"]
            key = f"{name} {operation}"
            out[key] = p99 if p99 is not None else float("nan")
            rows.append({"webhook": name, "operation": operation, "calls": int(h["count"]), "mean_ms": 1000 * mean,
                         "p50_ms": 1000 * (p50 or 0), "p99_ms": 1000 * (p99 or 0),
                         "over_100ms": int(h["count"] - dict(h["buckets"]).get(0.1, h["count"]))})
            print(f"{phase}.webhook: {name} {operation}: calls={int(h['count'])} mean={1000 * mean:.1f} ms "
                  f"p50={1000 * (p50 or 0):.1f} ms p99={1000 * (p99 or 0):.1f} ms "
                  f"(>100 ms: {rows[-1]['over_100ms']})", flush=True)
        r.data[f"{phase}.webhooks"] = rows
        r.line(f"{phase}.webhooks_p99_max", round(1000 * max(v for v in out.values() if not math.isnan(v)), 1)
               if out else "n/a", "ms (the slowest webhook's p99; buckets 5/25/100/500 ms ..., interpolated)")
        step = hist_delta(histograms(s0, "apiserver_admission_step_admission_duration_seconds", ("type", "operation")),
                          histograms(s1, "apiserver_admission_step_admission_duration_seconds", ("type", "operation")))
        for (type_, operation), h in sorted(step.items()):
            p99 = hist_quantile(h["buckets"], 0.99)
            r.line(f"{phase}.admission_step.{type_}_{operation}.p99", round(1000 * (p99 or 0), 1),
                   f"ms (all {type_} admission of a request; mean {1000 * h['sum'] / h['count']:.1f} ms, "
                   f"n={int(h['count'])})")
        return out

    def report_server_latency(self, phase: str, s0: Samples | None, s1: Samples | None) -> None:
        """apiserver_request_duration_seconds of ProvisionedCluster writes in the phase (the server's view)."""
        metric = "apiserver_request_duration_seconds"
        pick = lambda labels: labels.get("resource") == "provisionedclusters" and \
            labels.get("verb") in ("POST", "PATCH", "PUT")  # noqa: E731
        delta = hist_delta(histograms(s0, metric, ("verb", "subresource"), pick),
                           histograms(s1, metric, ("verb", "subresource"), pick))
        for (verb, sub), h in sorted(delta.items()):
            p50, p99 = hist_quantile(h["buckets"], 0.5), hist_quantile(h["buckets"], 0.99)
            self.report.line(f"{phase}.server.{verb}{'_' + sub if sub else ''}",
                             f"p50={1000 * (p50 or 0):.1f} p99={1000 * (p99 or 0):.1f} mean="
                             f"{1000 * h['sum'] / h['count']:.1f}", f"ms (n={int(h['count'])}, apiserver side)")

    def report_audit(self) -> None:
        """Per phase window, the audit log's requests by client (the operator's Kopf and client
        halves apart), and the operator's at-rest requests per object per hour."""
        if not self.args.audit:
            return
        time.sleep(1)
        records = read_audit(self.audit_path)
        r = self.report
        if not records:
            r.line("audit", "n/a (no audit log)")
            return
        for phase, (t0, t1) in self.windows.items():
            mine = [x for x in records if t0 <= x["at"] < t1]
            by_client = collections.Counter(x["client"] for x in mine)
            r.line(f"audit.{phase}.requests", len(mine), "(" + ", ".join(
                f"{c}={n}" for c, n in by_client.most_common()) + ")")
            r.data[f"audit.{phase}.by_client"] = dict(by_client)
            detail = collections.Counter(f"{x['client']} {x['verb']} {x['resource']}" for x in mine)
            top = detail.most_common(30 if phase == "rest" else 15)
            r.data[f"audit.{phase}.top"] = dict(top)
            print(f"audit.{phase}.top: " + ", ".join(f"{k}={n}" for k, n in top), flush=True)
        self.report_burst_stages(records)
        t0, t1 = self.windows.get("rest", (0.0, 0.0))
        if t1 > t0:
            n = max(1, len(self.populated))
            rest = [x for x in records if t0 <= x["at"] < t1 and x["client"].startswith("operator")]
            excl = [x for x in rest if category(x["resource"]) not in ("leases", "peering")]
            scale = 3600 / (t1 - t0) / n
            r.line("audit.rest.operator_requests", len(rest), "(the operator's ServiceAccount)")
            r.line("audit.rest.operator_requests_per_object_hour", round(len(rest) * scale, 3), "req/object/h")
            r.line("audit.rest.operator_requests_per_object_hour_excl_leases_peering", round(len(excl) * scale, 3),
                   "req/object/h")
            self.rest_operator_per_object_hour = len(excl) * scale

    def report_burst_stages(self, records: list[dict[str, Any]]) -> None:
        """Where a burst cluster's first status waits, from the audit log: create returned -> the
        operator's first request about it (the reconciler creating its Cluster record: queue wait),
        that create's duration, and from then to status.status seen by the watch."""
        b, r = self.book, self.report
        keys = set(getattr(self, "burst_keys", []))
        first_req: dict[tuple[str, str], dict[str, Any]] = {}
        kopf_first: dict[tuple[str, str], dict[str, Any]] = {}
        for x in sorted(records, key=lambda x: x["at"]):
            key = (x["namespace"], x["name"])
            if key not in keys:
                continue
            if x["client"] == "operator(client)" and key not in first_req:
                first_req[key] = x
            if x["client"] == "operator(kopf)" and key not in kopf_first:
                kopf_first[key] = x
        ks = ("min", "median", "p90", "p99", "max")
        got = [k for k in keys if k in first_req and k in b.create_done and k in b.first_phase]
        if not got:
            return
        r.stats("burst_stages.created_to_reconciler_first_request", [first_req[k]["at"] - b.create_done[k] for k in got],
                keys=ks)
        r.line("burst_stages.reconciler_first_request", " ".join(f"{n}x {v}" for v, n in collections.Counter(
            f"{first_req[k]['verb']} {first_req[k]['resource']}" for k in got).most_common(3)))
        r.stats("burst_stages.reconciler_first_request_duration", [first_req[k]["done"] - first_req[k]["at"]
                                                                   for k in got], keys=ks)
        r.stats("burst_stages.reconciler_first_request_to_status", [b.first_phase[k][0] - first_req[k]["at"]
                                                                    for k in got], keys=ks)
        kopf = [k for k in got if k in kopf_first]
        r.stats("burst_stages.created_to_kopf_first_request", [kopf_first[k]["at"] - b.create_done[k] for k in kopf],
                keys=ks)
        per_object = collections.Counter()
        t0, t1 = self.windows.get("burst", (0.0, 0.0))
        for x in records:
            if t0 <= x["at"] < t1 + 30 and (x["namespace"], x["name"]) in keys:
                per_object[f"{x['client']} {x['verb']} {x['resource']}"] += 1
        r.data["burst_stages.requests_per_object"] = {k: round(v / len(keys), 2) for k, v in per_object.most_common()}
        print("burst_stages.requests_per_object: " + ", ".join(
            f"{k}={v / len(keys):.2f}" for k, v in per_object.most_common(12)), flush=True)

    def report_summary(self) -> None:
        """`target.*`: the issue's four targets, met or not."""
        r = self.report
        per_hour = getattr(self, "rest_operator_per_object_hour", None)
        if per_hour is None:
            per_hour = getattr(self, "rest_per_object_hour", None)
        if per_hour is not None:
            r.line("target.rest_requests_per_object_hour", f"{per_hour:.3f} <= 1: {'ok' if per_hour <= 1 else 'MISSED'}")
        first = getattr(self, "burst_first_status", None)
        patch = (getattr(self, "patch_results", {}) or {}).get("annotation") or {}
        if first and patch.get("p99"):
            ratio = first["p99"] / patch["p99"]
            r.line("target.first_status_p99_over_patch_p99",
                   f"{ratio:.2f} (first status {1000 * first['p99']:.0f} ms / annotation PATCH "
                   f"{1000 * patch['p99']:.0f} ms) <= 5: {'ok' if ratio <= 5 else 'MISSED'}")
        status_patch = (getattr(self, "patch_results", {}) or {}).get("status") or {}
        if first and status_patch.get("p99"):
            ratio = first["p99"] / status_patch["p99"]
            r.line("target.first_status_p99_over_status_patch_p99",
                   f"{ratio:.2f} (against the status.kopf PATCH, {1000 * status_patch['p99']:.0f} ms; for reference)")
        hooks = getattr(self, "burst_webhooks", {}) or {}
        if hooks:
            worst = max(hooks.items(), key=lambda kv: kv[1])
            r.line("target.webhook_p99", f"{1000 * worst[1]:.1f} ms ({worst[0]}) <= 100 ms: "
                   f"{'ok' if worst[1] <= 0.1 else 'MISSED'}")
        rss = getattr(self, "rest_rss", None)
        if rss is not None:
            r.line("target.operator_rss_at_rest", f"{rss:.0f} MiB at {len(self.populated)} clusters <= 150 MiB "
                   f"(target at 1,000): {'ok' if rss <= 150 else 'MISSED'}")
        ops = getattr(self, "restart_operations", None)
        if ops is not None:
            r.line("target.restart_operations_created", f"{ops} (must be 0): {'ok' if ops == 0 else 'MISSED'}")
        inflight = getattr(self, "inflight_first_status", None)
        if inflight and first and first.get("p99"):
            ratio = inflight["p99"] / first["p99"]
            running, k = getattr(self, "inflight_running", 0), self.args.in_flight
            r.line("target.first_status_p99_inflight_over_burst_p99",
                   f"{ratio:.2f} (first status p99 {1000 * inflight['p99']:.0f} ms with {running} of {k} Pulumi runs "
                   f"in flight / {1000 * first['p99']:.0f} ms without) <= 2: {'ok' if ratio <= 2 else 'MISSED'}"
                   + ("" if running >= k else f" (not {k} runs in flight at the end: see the warning)"))

    def stop(self) -> None:
        for thing in (self.watch, self.sampler):
            if thing is not None:
                thing.stop()
        if self.env is not None:
            # the operator first (it starts no run and fails none over while its workers are ended), then its
            # workers: each runs in its own session (start_new_session, to outlive a dead operator) with the
            # Pulumi CLI and plugins under it, so stopping the operator leaves them running
            try:
                self.env.stop_operator()
            except Exception:  # noqa: BLE001
                traceback.print_exc()
            self.stop_leftovers()
        stop_environment(self.env)
        self.stop_leftovers()
        if self._client is not None:
            self._client.close()

    def leftovers(self) -> list[int]:
        """Live processes started with this environment's PULUMI_HOME (only the operator gets it: its
        workers, the Pulumi CLI, language hosts and plugins inherit it), the operator itself excepted."""
        marker = f"PULUMI_HOME={self.state_dir / 'pulumi-home'}".encode()
        operator = self.env.operator.pid if self.env is not None and self.env.operator is not None else None
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in (os.getpid(), operator):
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    environ = f.read().split(b"\0")
                state = (read_text(f"/proc/{entry}/stat") or "").rpartition(")")[2].split()[:1]
            except OSError:
                continue
            if marker in environ and state != ["Z"]:
                out.append(int(entry))
        return out

    def stop_leftovers(self) -> None:
        """SIGTERM to the processes `leftovers` finds (the operator already stopped), SIGKILL after 5 s;
        `stop.leftover_processes`: how many there were."""
        pids = self.leftovers()
        if not pids:
            return
        commands = collections.Counter(
            " ".join((read_text(f"/proc/{pid}/cmdline") or "?").strip("\0").split("\0")[:3])[:80] for pid in pids)
        log(f"ending {len(pids)} leftover processes of the operator's runs: "
            + ", ".join(f"{n}x {c}" for c, n in commands.most_common(6)))
        prev = self.report.data.get("stop.leftover_processes", 0)
        self.report.line("stop.leftover_processes", prev + len(pids), "(the operator's workers, Pulumi CLI, plugins; "
                         "ended by the benchmark)")
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            end = time.monotonic() + 5
            while pids and time.monotonic() < end:
                time.sleep(0.2)
                alive = set(self.leftovers())
                pids = [p for p in pids if p in alive]
            if not pids:
                return
        self.report.warn(f"leftover processes still alive after SIGKILL: {pids}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("-n", "--clusters", type=int, default=500, help="Pending ProvisionedClusters at rest")
    p.add_argument("--namespaces", type=int, default=10,
                   help="namespaces, each with one Connection and one Network; the clusters are spread over them")
    p.add_argument("--rest-window", type=float, default=120.0, help="seconds measured at rest")
    p.add_argument("--burst", type=int, default=200, help="new Pending ProvisionedClusters created at once after rest")
    p.add_argument("--in-flight", type=int, default=0, metavar="K",
                   help="after the restart: K provisions running (FLEETYARD_MAX_OPERATIONS=K, ..._PER_CONNECTION="
                        "ceil(K / namespaces) unless --operator-env sets them), then a second --burst timed while "
                        "they run; 0 skips it")
    p.add_argument("--threads", type=int, default=16, help="parallel clients for the creates and the PATCHes")
    p.add_argument("--health-interval", type=float, default=3600.0, help="FLEETYARD_HEALTH_INTERVAL (s)")
    p.add_argument("--operator-env", action="append", default=[], metavar="KEY=VALUE",
                   help="any other operator environment variable (repeatable)")
    p.add_argument("--idle", type=float, default=20.0, help="seconds idle with no clusters (CPU, RSS)")
    p.add_argument("--quiet", type=float, default=10.0,
                   help="settled = no ProvisionedCluster change seen for this long (s)")
    p.add_argument("--settle-max", type=float, default=180.0, help="give up waiting for quiet after this (s)")
    p.add_argument("--restart-timeout", type=float, default=600.0,
                   help="limit for every object to be reconciled after the restart (s)")
    p.add_argument("--restart-window", type=float, default=30.0,
                   help="seconds after the restarted operator answers /healthz counted as the restart (requests, writes)")
    p.add_argument("--audit", action=argparse.BooleanOptionalAction, default=True,
                   help="apiserver audit log (Metadata level) to attribute requests to clients")
    p.add_argument("--sample-interval", type=float, default=0.5, help="RSS sampling period (s)")
    p.add_argument("--gdb", metavar="BIN",
                   help="gdb binary: before the restart, call malloc_trim(0) in the operator and report its RSS again")
    p.add_argument("--py-spy", metavar="BIN",
                   help="py-spy binary: record the operator and the webhook server during the burst (disturbs it)")
    p.add_argument("--timeout", type=float, default=None, help="overall limit (s); default grows with N")
    p.add_argument("--state-dir", type=pathlib.Path,
                   help="where the environment keeps its state and logs (default: a temp dir, removed after a "
                        "successful run unless --keep-state)")
    p.add_argument("--keep-state", action="store_true", help="keep the temp state dir")
    args = p.parse_args(argv)
    if args.clusters < 1 or args.namespaces < 1 or args.burst < 1:
        p.error("-n, --namespaces and --burst must be >= 1")
    if args.in_flight < 0:
        p.error("--in-flight must be >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    return run_main(parse_args(argv), Bench, prefix="fleetyard-rest-")


if __name__ == "__main__":
    sys.exit(main())
