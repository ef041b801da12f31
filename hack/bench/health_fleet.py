#!/usr/bin/env python
"""Benchmark: the steady-state cost of health-checking a fleet of self-registered Clusters.

Starts its own local environment (kube-apiserver + etcd, the workload cluster, moto, the operator;
`fleetyard.devenv.environment.Environment`) with FLEETYARD_HEALTH_INTERVAL / _TIMEOUT from the
flags, puts a few Nodes and kube-system Pods into the workload cluster, then registers N Clusters
(spread over a few namespaces; each a Secret with the workload cluster's admin kubeconfig and a
`Cluster` with `spec.kubeconfigSecretRef`), created by parallel threads. The operator runs one
health daemon per Cluster: a random first delay within the interval, then a check every
interval +-10 %. It reports, as `name: value unit` lines and finally one JSON line:

1. how long until every Cluster had its first check (status.lastHealthCheckAt set);
2. over a steady-state window (--window-intervals intervals, starting when all were checked):
   operator CPU seconds (process + descendants, user + system from /proc) per interval and as a
   share of one core, CPU per check, peak and average RSS, threads and open fds;
3. the checks done (the operator's /metrics: fleetyard_health_checks_total and
   fleetyard_health_check_duration_seconds deltas) against the N x window / interval expected,
   the gaps between consecutive checks of one Cluster (from watching lastHealthCheckAt);
4. freshness at the end: now - lastHealthCheckAt over all Clusters (should stay below about
   interval x 1.1 plus one check's duration);
5. apiserver_request_total deltas of the management apiserver and of the workload cluster (the
   load the checks put on the checked clusters), per second and per check;
6. how fast the operator still reacts to an unrelated object (a Network naming a missing
   Connection) and answers /healthz (event-loop lag), before, during registration and in the
   window; warnings/errors of <state_dir>/operator.log;
7. how busy the machine was (`cpu.<phase>.not_ours`: CPU used by processes the benchmark did
   not start).

Run `.venv/bin/python hack/bench/health_fleet.py --help`; see hack/bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import math
import os
import pathlib
import sys
import threading
import time
import urllib.request
from typing import Any

import kubernetes

from benchlib import (BenchError, Deadline, MemorySampler, Report, Samples, Watcher, apiserver_requests,
                      cpu_snapshot, log, operator_env_overrides, parse_time, read_text, report_cpu, report_machine,
                      report_operator_log, report_requests, run_main, scrape_url, start_environment,
                      stop_environment, wait_until)
from fleetyard.devenv import environment
from fleetyard.kube import apply as kube_apply
from fleetyard.models import kinds

NAMESPACE_PREFIX = "fleet"
PROBE_NAMESPACE = "fleet-probe"
SECRET_SUFFIX = "-kubeconfig"


# -- what the Cluster watch saw --------------------------------------------------------------------

class ClusterBook:
    """Per Cluster (namespace, name): when it was created, the distinct lastHealthCheckAt values seen
    (epoch, in order) and when the watch first saw one; the last lastHealthStatus."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.created: dict[tuple[str, str], float] = {}
        self.create_done: dict[tuple[str, str], float] = {}
        self.first_seen: dict[tuple[str, str], float] = {}
        self.checks: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
        self.health: dict[tuple[str, str], str] = {}
        self.events = 0

    def on_event(self, type_: str, obj: dict[str, Any], now: float) -> None:
        meta, status = obj["metadata"], obj.get("status") or {}
        key = (meta["namespace"], meta["name"])
        checked = parse_time(status.get("lastHealthCheckAt"))
        with self.lock:
            self.events += 1
            if type_ == "DELETED" or checked is None:
                return
            seen = self.checks[key]
            if not seen or seen[-1] != checked:
                seen.append(checked)
            self.first_seen.setdefault(key, now)
            self.health[key] = status.get("lastHealthStatus") or "?"

    def checked_count(self) -> int:
        with self.lock:
            return len(self.first_seen)


# -- probes while it runs --------------------------------------------------------------------------

class Prober(threading.Thread):
    """Two probes labelled with the current `phase`: every `probe_interval` s a Network naming a
    missing Connection (create -> statusMessage "waiting for Connection ..."), every second a GET
    of the operator's /healthz (served on Kopf's event loop: its latency is the loop's lag) plus the
    operator's thread and fd counts."""

    def __init__(self, kubeconfig: str, health_url: str, operator_pid: int, probe_interval: float,
                 probe_timeout: float) -> None:
        super().__init__(name="prober", daemon=True)
        self.api = kubernetes.config.new_client_from_config(config_file=kubeconfig)
        self.custom = kubernetes.client.CustomObjectsApi(self.api)
        self.health_url = health_url
        self.pid = operator_pid
        self.probe_interval = probe_interval
        self.probe_timeout = probe_timeout
        self.phase = "idle"
        self.stopping = threading.Event()
        self.reactions: list[dict[str, Any]] = []
        self.healthz: list[tuple[str, float | None]] = []
        self.threads: dict[str, list[int]] = collections.defaultdict(list)
        self.fds: dict[str, list[int]] = collections.defaultdict(list)
        self.count = 0
        self._lag = threading.Thread(target=self._lag_loop, name="healthz-probe", daemon=True)

    def run(self) -> None:
        self._lag.start()
        while not self.stopping.is_set():
            t0 = time.monotonic()
            self.reactions.append(self.network_probe())
            self.stopping.wait(max(0.0, self.probe_interval - (time.monotonic() - t0)))

    def _lag_loop(self) -> None:
        while not self.stopping.is_set():
            t0 = time.monotonic()
            phase = self.phase
            try:
                with urllib.request.urlopen(self.health_url, timeout=10) as resp:
                    resp.read()
                self.healthz.append((phase, time.monotonic() - t0))
            except OSError:
                self.healthz.append((phase, None))
            status = read_text(f"/proc/{self.pid}/status") or ""
            for line in status.splitlines():
                if line.startswith("Threads:"):
                    self.threads[phase].append(int(line.split()[1]))
            try:
                self.fds[phase].append(len(os.listdir(f"/proc/{self.pid}/fd")))
            except OSError:
                pass
            self.stopping.wait(max(0.0, 1.0 - (time.monotonic() - t0)))

    def network_probe(self) -> dict[str, Any]:
        self.count += 1
        phase = self.phase
        name = f"probe-net-{self.count}"
        body = {"apiVersion": kinds.API_VERSION, "kind": "Network", "metadata": {"name": name},
                "spec": {"connectionRef": {"name": "no-such-connection"}, "displayName": "probe",
                         "region": "us-east-1", "config": {"cidr": "10.250.0.0/16", "natGateways": "Single"}}}
        t0 = time.time()
        try:
            created = self.custom.create_namespaced_custom_object(kinds.GROUP, kinds.VERSION, PROBE_NAMESPACE,
                                                                  kinds.NETWORK.plural, body)
        except Exception as exc:  # noqa: BLE001 - a failed probe is a data point
            return {"phase": phase, "error": f"{type(exc).__name__}: {exc}"[:300]}
        t_created = time.time()
        reaction = None
        try:
            rv = created["metadata"]["resourceVersion"]
            deadline = time.monotonic() + self.probe_timeout
            w = kubernetes.watch.Watch()
            while reaction is None and time.monotonic() < deadline:
                for event in w.stream(self.custom.list_namespaced_custom_object, kinds.GROUP, kinds.VERSION,
                                      PROBE_NAMESPACE, kinds.NETWORK.plural, field_selector=f"metadata.name={name}",
                                      resource_version=rv,
                                      timeout_seconds=max(1, int(deadline - time.monotonic()))):
                    obj = event["object"]
                    if event["type"] in ("ADDED", "MODIFIED"):
                        rv = obj["metadata"]["resourceVersion"]
                        if ((obj.get("status") or {}).get("statusMessage") or "").startswith("waiting for Connection"):
                            reaction = time.time() - t0
                            w.stop()
                            break
        except Exception as exc:  # noqa: BLE001
            return {"phase": phase, "error": f"{type(exc).__name__}: {exc}"[:300], "create": t_created - t0}
        finally:
            try:
                self.custom.delete_namespaced_custom_object(kinds.GROUP, kinds.VERSION, PROBE_NAMESPACE,
                                                            kinds.NETWORK.plural, name)
            except kubernetes.client.ApiException:
                pass
        return {"phase": phase, "create": t_created - t0, "reaction": reaction}

    def stop(self) -> None:
        self.stopping.set()


# -- the operator's health metrics -----------------------------------------------------------------

def health_metrics(samples: Samples | None, kind: str = "Cluster") -> dict[str, Any] | None:
    """From the operator's /metrics: checks by result status, and the duration histogram
    (cumulative buckets by upper bound, sum, count) of `kind`."""
    if samples is None:
        return None
    out: dict[str, Any] = {"checks": collections.defaultdict(float), "buckets": {}, "sum": 0.0, "count": 0.0}
    for name, labels, value in samples:
        if labels.get("kind") != kind:
            continue
        if name == "fleetyard_health_checks_total":
            out["checks"][labels.get("status", "?")] += value
        elif name == "fleetyard_health_check_duration_seconds_bucket":
            out["buckets"][float(labels["le"])] = value
        elif name == "fleetyard_health_check_duration_seconds_sum":
            out["sum"] = value
        elif name == "fleetyard_health_check_duration_seconds_count":
            out["count"] = value
    return out


def histogram_quantile(q: float, buckets: dict[float, float]) -> float | None:
    """Prometheus-style: linear interpolation inside the bucket holding the q-quantile."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    rank = q * buckets[bounds[-1]]
    prev_bound, prev_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return prev_bound  # beyond the last finite bucket: report its bound
            if count == prev_count:
                return bound
            return prev_bound + (bound - prev_bound) * (rank - prev_count) / (count - prev_count)
        prev_bound, prev_count = bound, count
    return bounds[-1]


# -- the run ---------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args: argparse.Namespace, state_dir: pathlib.Path) -> None:
        self.args = args
        self.state_dir = state_dir
        self.report = Report()
        self.env: environment.Environment | None = None
        timeout = args.timeout or (600 + 3 * args.clusters + args.interval * (args.window_intervals + 3))
        self.deadline = Deadline(timeout)
        self.book = ClusterBook()
        self.watcher: Watcher | None = None
        self.sampler: MemorySampler | None = None
        self.prober: Prober | None = None
        self.log_lines: int | None = None
        self.keys = [(f"{NAMESPACE_PREFIX}-{i % args.namespaces}", f"c-{i:04d}") for i in range(args.clusters)]

    def operator_env(self) -> dict[str, str]:
        a = self.args
        env = {"FLEETYARD_HEALTH_INTERVAL": str(a.interval), "FLEETYARD_HEALTH_TIMEOUT": str(a.health_timeout),
               "FLEETYARD_LOG_FORMAT": "json"}
        env.update(operator_env_overrides(a.operator_env))
        return env

    def run(self) -> None:
        a, r = self.args, self.report
        r.line("settings.clusters", a.clusters)
        r.line("settings.namespaces", a.namespaces)
        r.line("settings.health_interval", a.interval, "s")
        r.line("settings.health_timeout", a.health_timeout, "s")
        r.line("settings.window_intervals", a.window_intervals)
        r.line("settings.window", a.interval * a.window_intervals, "s")
        r.line("settings.create_threads", a.create_threads)
        r.line("settings.workload_nodes", a.nodes)
        r.line("settings.workload_system_pods", a.system_pods)
        r.line("settings.timeout", self.deadline.seconds, "s")
        if a.operator_env:
            r.line("settings.operator_env", " ".join(a.operator_env))
        report_machine(r)
        r.line("state_dir", str(self.state_dir))

        self.env = env = start_environment(self.state_dir, self.operator_env(), r)
        if env.workload is None or env.operator is None or env.operator.pid is None:
            raise BenchError("the environment has no workload cluster or no operator")
        settings = env.operator_settings
        self.metrics_url = f"http://127.0.0.1:{settings['FLEETYARD_METRICS_PORT']}/metrics"
        pid = env.operator.pid
        self.sampler = MemorySampler(pid, a.sample_interval)
        self.sampler.start()
        kubeconfig = str(env.kubeconfig)
        kube_apply.ensure_namespace(env.api, PROBE_NAMESPACE)
        self.setup_workload()
        self.watcher = Watcher(kubeconfig, kinds.CLUSTER.plural, None, self.book.on_event)
        self.watcher.start()
        self.prober = Prober(kubeconfig, f"http://127.0.0.1:{settings['FLEETYARD_HEALTH_PORT']}/healthz", pid,
                             a.probe_interval, a.probe_timeout)

        # idle: the operator with nothing to check
        log(f"idle baseline: {a.idle:.0f} s")
        self.set_phase("idle")
        self.prober.start()
        cpu_idle0 = cpu_snapshot(env)
        time.sleep(a.idle)
        cpu_idle1 = cpu_snapshot(env)

        # registration: create everything, wait until every Cluster was checked once
        self.set_phase("registration")
        req_reg0 = apiserver_requests(env.api)
        self.register()
        self.wait_first_checks()
        cpu_reg1 = cpu_snapshot(env)
        req_reg1 = apiserver_requests(env.api)

        # steady state
        window = a.interval * a.window_intervals
        log(f"steady state: {window:.0f} s ({a.window_intervals} intervals)")
        self.set_phase("steady")
        log_lines0 = sum(1 for _ in open(self.state_dir / "operator.log", errors="replace")) \
            if (self.state_dir / "operator.log").exists() else 0
        cpu0, req0, wreq0 = cpu_snapshot(env), apiserver_requests(env.api), apiserver_requests(env.workload.admin_api)
        met0 = health_metrics(scrape_url(self.metrics_url, "fleetyard_health_check"))
        t0 = time.time()
        end = time.monotonic() + window
        last = 0.0
        while time.monotonic() < end:
            if not env.operator.alive():
                raise BenchError("the operator exited during the window")
            self.deadline.check("in the steady-state window")
            if time.monotonic() - last > 60:
                last = time.monotonic()
                log(f"steady: {window - (end - time.monotonic()):.0f}/{window:.0f} s")
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))
        cpu1, req1, wreq1 = cpu_snapshot(env), apiserver_requests(env.api), apiserver_requests(env.workload.admin_api)
        met1 = health_metrics(scrape_url(self.metrics_url, "fleetyard_health_check"))
        t1 = time.time()
        freshness, statuses = self.freshness()
        self.set_phase("after")
        self.prober.stop()
        self.sampler.stop()

        self.report_registration()
        steady_cpu = report_cpu(r, "steady", cpu0, cpu1)
        self.report_steady(t0, t1, steady_cpu, met0, met1, freshness, statuses)
        self.report_memory()
        report_cpu(r, "idle", cpu_idle0, cpu_idle1)
        report_cpu(r, "registration", cpu_idle1, cpu_reg1)
        checks = (met1["count"] - met0["count"]) if met0 and met1 else None
        total = report_requests(r, "apiserver.steady", req0, req1, t1 - t0)
        if total and checks:
            r.line("apiserver.steady.requests_per_check", total / checks)
        total = report_requests(r, "workload_apiserver.steady", wreq0, wreq1, t1 - t0)
        if total and checks:
            r.line("workload_apiserver.steady.requests_per_check", total / checks)
        report_requests(r, "apiserver.registration", req_reg0, req_reg1)
        self.report_probes()
        report_operator_log(r, self.state_dir / "operator.log", since_line=log_lines0, prefix="operator_log.steady")
        self.log_lines = report_operator_log(r, self.state_dir / "operator.log")

    def set_phase(self, phase: str) -> None:
        for thing in (self.sampler, self.prober):
            if thing is not None:
                thing.phase = phase

    # -- setup -------------------------------------------------------------------------------------
    def setup_workload(self) -> None:
        """Ready Nodes and Running kube-system Pods in the workload cluster (nothing runs them)."""
        assert self.env is not None and self.env.workload is not None
        a = self.args
        core = kubernetes.client.CoreV1Api(self.env.workload.admin_api)
        wait_until(lambda: _exists(lambda: core.read_namespace("kube-system")), self.deadline,
                   "the workload cluster's kube-system namespace", step=0.5)
        for i in range(a.nodes):
            name = f"bench-node-{i}"
            core.create_node({"metadata": {"name": name, "labels": {
                "node.kubernetes.io/instance-type": "m7g.large", "eks.amazonaws.com/nodegroup": "system"}}})
            core.patch_node_status(name, {"status": {"conditions": [
                {"type": "Ready", "status": "True", "reason": "KubeletReady"}]}})
        for i in range(a.system_pods):
            name = f"bench-system-{i}"
            core.create_namespaced_pod("kube-system", {"metadata": {"name": name}, "spec": {
                "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10"}]}})
            core.patch_namespaced_pod_status(name, "kube-system", {"status": {"phase": "Running", "containerStatuses": [
                {"name": "main", "ready": True, "restartCount": 0, "image": "pause", "imageID": "",
                 "state": {"running": {}}}]}})
        self.report.line("setup.workload_nodes", len(core.list_node().items))
        self.report.line("setup.workload_system_pods", len(core.list_namespaced_pod("kube-system").items))

    def register(self) -> None:
        assert self.env is not None and self.env.workload is not None
        a = self.args
        document = self.env.workload.admin_kubeconfig.read_text()
        configuration = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(config_file=str(self.env.kubeconfig), client_configuration=configuration)
        configuration.connection_pool_maxsize = a.create_threads
        api = kubernetes.client.ApiClient(configuration)
        core, custom = kubernetes.client.CoreV1Api(api), kubernetes.client.CustomObjectsApi(api)
        for ns in sorted({ns for ns, _ in self.keys}):
            kube_apply.ensure_namespace(self.env.api, ns)
        log(f"registering {a.clusters} Clusters in {a.namespaces} namespace(s) with {a.create_threads} threads")
        self.t_register = time.time()
        secret_calls: list[float] = []

        def create_one(key: tuple[str, str]) -> None:
            ns, name = key
            t = time.time()
            core.create_namespaced_secret(ns, {"metadata": {"name": name + SECRET_SUFFIX},
                                               "stringData": {"value": document}})
            secret_calls.append(time.time() - t)
            self.book.created[key] = time.time()
            custom.create_namespaced_custom_object(kinds.GROUP, kinds.VERSION, ns, kinds.CLUSTER.plural, {
                "apiVersion": kinds.API_VERSION, "kind": "Cluster", "metadata": {"name": name},
                "spec": {"displayName": f"Fleet {name}", "kubeconfigSecretRef": {"name": name + SECRET_SUFFIX}}})
            self.book.create_done[key] = time.time()

        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=a.create_threads) as pool:
                for future in [pool.submit(create_one, key) for key in self.keys]:
                    future.result()
        finally:
            api.close()
        self.t_registered = time.time()
        self.secret_calls = secret_calls
        log(f"registered {a.clusters} Clusters in {self.t_registered - self.t_register:.1f} s")

    def wait_first_checks(self) -> None:
        n = len(self.keys)
        last = 0.0
        while (done := self.book.checked_count()) < n:
            self.deadline.check(f"waiting for every Cluster's first health check ({done}/{n})")
            assert self.env is not None and self.env.operator is not None
            if not self.env.operator.alive():
                raise BenchError("the operator exited")
            if time.monotonic() - last > 15:
                last = time.monotonic()
                log(f"first checks: {done}/{n}")
            time.sleep(0.2)
        self.t_all_checked = time.time()
        log(f"every Cluster was checked: {self.t_all_checked - self.t_register:.1f} s after the first create")

    def freshness(self) -> tuple[list[float], collections.Counter[str]]:
        """now - lastHealthCheckAt of every Cluster, from one list at the end of the window."""
        assert self.env is not None
        custom = kubernetes.client.CustomObjectsApi(self.env.api)
        listing = custom.list_cluster_custom_object(kinds.GROUP, kinds.VERSION, kinds.CLUSTER.plural)
        now = time.time()
        ages, statuses = [], collections.Counter()
        mine = set(self.keys)
        for item in listing["items"]:
            if (item["metadata"]["namespace"], item["metadata"]["name"]) not in mine:
                continue
            status = item.get("status") or {}
            at = parse_time(status.get("lastHealthCheckAt"))
            ages.append(now - at if at is not None else float("inf"))
            statuses[status.get("lastHealthStatus") or "none"] += 1
        return ages, statuses

    # -- reporting ---------------------------------------------------------------------------------
    def report_registration(self) -> None:
        r, b = self.report, self.book
        n = len(self.keys)
        wall = self.t_registered - self.t_register
        r.line("register.wall_time", wall, "s")
        r.line("register.rate", n / wall if wall else 0.0, "clusters/s")
        r.stats("register.secret_create_call", self.secret_calls)
        r.stats("register.cluster_create_call", [b.create_done[k] - b.created[k] for k in self.keys])
        r.line("first_check.all_checked_after_first_create", self.t_all_checked - self.t_register, "s")
        r.line("first_check.all_checked_after_last_create", self.t_all_checked - self.t_registered, "s")
        r.stats("first_check.create_to_first_check", [b.first_seen[k] - b.created[k] for k in self.keys])

    def report_steady(self, t0: float, t1: float, cpu: dict[str, float], met0: dict[str, Any] | None,
                      met1: dict[str, Any] | None, freshness: list[float],
                      statuses: collections.Counter[str]) -> None:
        a, r = self.args, self.report
        wall = t1 - t0
        intervals = wall / a.interval
        op_tree = cpu.get("operator_tree")
        checks = None
        if met0 is not None and met1 is not None:
            checks = met1["count"] - met0["count"]
            by_status = {k: int(met1["checks"][k] - met0["checks"].get(k, 0.0)) for k in met1["checks"]
                         if met1["checks"][k] - met0["checks"].get(k, 0.0) > 0}
            expected = len(self.keys) * wall / a.interval
            r.line("checks.window", int(checks))
            r.line("checks.window_by_status", " ".join(f"{k}={v}" for k, v in sorted(by_status.items())) or "-")
            r.data["checks.window_by_status"] = by_status
            r.line("checks.expected", round(expected, 1), "(N x window / interval)")
            r.line("checks.done_vs_expected", round(100 * checks / expected, 1) if expected else 0.0, "%")
            r.line("checks.rate", checks / wall, "checks/s")
            if checks:
                r.line("checks.duration_mean", (met1["sum"] - met0["sum"]) / checks, "s")
                buckets = {le: met1["buckets"].get(le, 0.0) - met0["buckets"].get(le, 0.0) for le in met1["buckets"]}
                for q in (0.5, 0.9, 0.99):
                    value = histogram_quantile(q, buckets)
                    r.line(f"checks.duration_p{int(q * 100)}", value if value is not None else "n/a",
                           "s (from histogram buckets)")
                slow = buckets.get(1.0, 0.0)
                r.line("checks.duration_over_1s", int(checks - slow))
        else:
            r.line("checks.window", "n/a (operator /metrics not readable)")
        if op_tree is not None:
            r.line("steady.operator_cpu_per_interval", op_tree / intervals, "cpu-s")
            r.line("steady.operator_cpu_share", round(100 * op_tree / wall, 1), "% of one core")
            if checks:
                r.line("steady.operator_cpu_per_check", 1000 * op_tree / checks, "cpu-ms")
            if cpu.get("operator") is not None and op_tree > 0:
                r.line("steady.operator_own_cpu_share_of_tree", round(100 * cpu["operator"] / op_tree, 1), "%")
        ours = sum(v for k, v in cpu.items() if k not in ("wall", "not_ours", "operator", "machine_busy"))
        r.line("steady.all_started_processes_cpu_share", round(100 * ours / wall, 1), "% of one core")
        # gaps between consecutive checks of one Cluster, and checks per Cluster, within the window
        gaps, per_cluster = [], []
        with self.book.lock:
            for key in self.keys:
                seen = [t for t in self.book.checks.get(key, []) if t0 - a.interval * 1.2 <= t <= t1]
                inside = [t for t in seen if t >= t0]
                per_cluster.append(len(inside))
                gaps.extend(b - a_ for a_, b in zip(seen, seen[1:]) if b >= t0)
            events = self.book.events
        r.stats("checks.gap_between_checks", gaps)
        r.stats("checks.per_cluster_in_window", per_cluster, "", keys=("min", "median", "max"))
        r.line("watch.cluster_events_total", events)
        r.stats("freshness.age_at_end", freshness)
        limit = a.interval * 1.1 + a.health_timeout
        r.line("freshness.limit", limit, "s (interval x 1.1 + health timeout)")
        r.line("freshness.over_limit", len([x for x in freshness if x > limit]))
        r.line("freshness.never_checked", len([x for x in freshness if math.isinf(x)]))
        r.line("health.status_at_end", " ".join(f"{k}={v}" for k, v in sorted(statuses.items())))
        r.data["health.status_at_end"] = dict(statuses)

    def report_memory(self) -> None:
        assert self.sampler is not None
        self.sampler.join(timeout=5)
        for phase in ("idle", "registration", "steady", "all"):
            peak = self.sampler.peaks.get(phase)
            if not peak or not peak["samples"]:
                continue
            self.report.line(f"memory.{phase}.operator_peak_rss", round(peak["operator_rss"] / 1024, 1), "MiB")
            self.report.line(f"memory.{phase}.operator_avg_rss",
                             round(peak["operator_rss_sum"] / peak["samples"] / 1024, 1), "MiB")
            self.report.line(f"memory.{phase}.tree_peak_rss", round(peak["tree_rss"] / 1024, 1), "MiB")
            self.report.line(f"memory.{phase}.tree_avg_rss", round(peak["tree_rss_sum"] / peak["samples"] / 1024, 1),
                             "MiB")
            self.report.line(f"memory.{phase}.tree_peak_processes", peak["tree_procs"])
        steady = [s for s in self.sampler.series if s[1] == "steady"]
        if len(steady) >= 2:
            growth = (steady[-1][2] - steady[0][2]) / 1024
            self.report.line("memory.steady.operator_rss_growth", round(growth, 1), "MiB (last - first sample)")

    def report_probes(self) -> None:
        assert self.prober is not None
        self.prober.join(timeout=self.args.probe_timeout + 5)
        r = self.report
        for phase in ("idle", "registration", "steady"):
            mine = [s for s in self.prober.reactions if s.get("phase") == phase]
            if mine:
                r.stats(f"reaction.{phase}.network_waiting_for_connection",
                        [s["reaction"] for s in mine if s.get("reaction")])
                r.stats(f"reaction.{phase}.network_create_call", [s["create"] for s in mine if "create" in s])
                missed = len([s for s in mine if s.get("reaction") is None])
                if missed:
                    r.line(f"reaction.{phase}.timeouts_or_errors", missed)
            lags = [v for p, v in self.prober.healthz if p == phase]
            if lags:
                r.stats(f"healthz.{phase}.latency", [v for v in lags if v is not None],
                        keys=("median", "p90", "p99", "max"))
                failed = len([v for v in lags if v is None])
                if failed:
                    r.line(f"healthz.{phase}.failures", failed)
            if self.prober.threads.get(phase):
                r.line(f"process.{phase}.operator_threads_max", max(self.prober.threads[phase]))
            if self.prober.fds.get(phase):
                fds = self.prober.fds[phase]
                r.line(f"process.{phase}.operator_fds", f"first={fds[0]} max={max(fds)} last={fds[-1]}")
                r.data[f"process.{phase}.operator_fds"] = {"first": fds[0], "max": max(fds), "last": fds[-1]}
        errors = [s for s in self.prober.reactions if s.get("error")]
        if errors:
            r.line("reaction.probe_errors", len(errors))
            r.data["reaction.probe_error_examples"] = [e["error"] for e in errors[:3]]

    # -- teardown ----------------------------------------------------------------------------------
    def stop(self) -> None:
        for thing in (self.prober, self.sampler, self.watcher):
            if thing is not None:
                thing.stop()
        stop_environment(self.env)
        if self.env is not None and self.log_lines is not None:  # what the operator logged while stopping
            report_operator_log(self.report, self.state_dir / "operator.log", since_line=self.log_lines,
                                prefix="operator_log.shutdown")
        if self.args.details:
            with self.book.lock:
                checks = {f"{ns}/{name}": v for (ns, name), v in self.book.checks.items()}
            pathlib.Path(self.args.details).write_text(json.dumps({
                "report": self.report.data, "checks": checks,
                "probes": self.prober.reactions if self.prober else [],
                "healthz": self.prober.healthz if self.prober else [],
                "memory_series": self.sampler.series if self.sampler else []}, indent=1, default=str))


def _exists(read: Any) -> bool:
    try:
        read()
        return True
    except kubernetes.client.ApiException:
        return False


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("-n", "--clusters", type=int, default=500, help="self-registered Clusters")
    p.add_argument("--namespaces", type=int, default=5, help="namespaces the Clusters are spread over")
    p.add_argument("--interval", type=float, default=60.0, help="FLEETYARD_HEALTH_INTERVAL (s)")
    p.add_argument("--health-timeout", type=float, default=10.0, help="FLEETYARD_HEALTH_TIMEOUT (s)")
    p.add_argument("--window-intervals", type=float, default=5.0,
                   help="length of the steady-state window, in intervals, after every Cluster was checked once")
    p.add_argument("--idle", type=float, default=10.0, help="seconds of idle baseline before registering")
    p.add_argument("--create-threads", type=int, default=16, help="threads creating the Secrets and Clusters")
    p.add_argument("--nodes", type=int, default=3, help="ready Nodes put into the workload cluster")
    p.add_argument("--system-pods", type=int, default=4, help="running kube-system Pods put into the workload cluster")
    p.add_argument("--operator-env", action="append", default=[], metavar="KEY=VALUE",
                   help="any other operator environment variable (repeatable)")
    p.add_argument("--probe-interval", type=float, default=10.0,
                   help="seconds between reaction probes (a Network naming a missing Connection)")
    p.add_argument("--probe-timeout", type=float, default=120.0, help="give up on one probe after this (s)")
    p.add_argument("--sample-interval", type=float, default=1.0, help="RSS sampling period (s)")
    p.add_argument("--timeout", type=float, default=None,
                   help="overall limit (s); default 600 + 3 s per Cluster + (window intervals + 3) x interval")
    p.add_argument("--state-dir", type=pathlib.Path,
                   help="where the environment keeps its state and logs (default: a temp dir, removed after a "
                        "successful run unless --keep-state)")
    p.add_argument("--keep-state", action="store_true", help="keep the temp state dir")
    p.add_argument("--details", metavar="FILE",
                   help="also write every Cluster's observed check times, probes and memory samples as JSON")
    args = p.parse_args(argv)
    if args.clusters < 1 or args.namespaces < 1 or args.interval <= 0 or args.window_intervals <= 0:
        p.error("--clusters, --namespaces, --interval and --window-intervals must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    return run_main(parse_args(argv), Bench, prefix="fleetyard-health-")


if __name__ == "__main__":
    sys.exit(main())
