"""What the benchmarks in hack/bench share: starting the local environment with operator settings,
sampling the operator's process tree from /proc (RSS, PSS, CPU), summaries, the `name: value unit`
lines plus the final JSON line, Prometheus text scraping (the apiserver's apiserver_request_total,
the operator's /metrics), the operator-log grep and the main() wrapper that always stops what
was started.

Imported by `provision_burst.py` and `health_fleet.py` (run them as scripts: this directory is on
sys.path then). See hack/bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import math
import os
import pathlib
import platform
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import kubernetes

from fleetyard.devenv import environment
from fleetyard.devenv import processes as devenv_processes
from fleetyard.models import kinds

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """The benchmark cannot go on (something failed or timed out); the message says what."""


# -- small helpers ---------------------------------------------------------------------------------

def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of an already sorted, non-empty list."""
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]


def summary(values: Iterable[float | None]) -> dict[str, float] | None:
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    return {"n": len(vals), "min": vals[0], "median": statistics.median(vals), "p90": percentile(vals, 0.9),
            "p99": percentile(vals, 0.99), "max": vals[-1], "mean": statistics.fmean(vals)}


class Report:
    """Collects `name: value unit` lines (printed as they come) and the JSON document."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def line(self, name: str, value: Any, unit: str = "") -> None:
        self.data[name] = value
        if isinstance(value, float):
            text = f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
        else:
            text = str(value)
        print(f"{name}: {text}{(' ' + unit) if unit else ''}", flush=True)

    def stats(self, name: str, values: Iterable[float | None], unit: str = "s",
              keys: tuple[str, ...] = ("min", "median", "p90", "max")) -> None:
        s = summary(values)
        self.data[name] = s
        if s is None:
            print(f"{name}: n/a", flush=True)
            return
        parts = " ".join(f"{k}={s[k]:.2f}" for k in keys)
        print(f"{name}: {parts} {unit} (n={s['n']})", flush=True)

    def warn(self, message: str) -> None:
        print(f"# warning: {message}", file=sys.stderr, flush=True)
        self.data.setdefault("warnings", []).append(message)


def log(message: str) -> None:
    print(f"# [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_time(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.seconds = seconds

    def check(self, what: str) -> None:
        if time.monotonic() > self.end:
            raise BenchError(f"timed out (--timeout {self.seconds:.0f}s) while {what}")


def wait_until(probe: Callable[[], Any], deadline: Deadline, what: str, step: float = 0.2) -> Any:
    while True:
        value = probe()
        if value:
            return value
        deadline.check(f"waiting for {what}")
        time.sleep(step)


def operator_env_overrides(items: Iterable[str]) -> dict[str, str]:
    """`--operator-env KEY=VALUE` flags as a dict."""
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = value
    return out


# -- watching objects ------------------------------------------------------------------------------

class Watcher(threading.Thread):
    """Lists then watches one fleetyard kind in one namespace (or all namespaces when `namespace` is
    None); calls on_event(type, obj, epoch) for each change ("LISTED" for the initial list). `synced`
    is set after the first list; `requests` counts the LIST/WATCH calls it made (a long `timeout`, the
    server's per watch, makes it cost ~no request at rest)."""

    def __init__(self, kubeconfig: str, plural: str, namespace: str | None,
                 on_event: Callable[[str, dict[str, Any], float], None], timeout: int = 30) -> None:
        super().__init__(name=f"watch-{plural}", daemon=True)
        self.api = kubernetes.config.new_client_from_config(config_file=kubeconfig)
        self.custom = kubernetes.client.CustomObjectsApi(self.api)
        self.plural = plural
        self.namespace = namespace
        self.on_event = on_event
        self.timeout = timeout
        self.stopping = threading.Event()
        self.synced = threading.Event()
        self.requests = 0
        self.errors = 0
        self._watch: kubernetes.watch.Watch | None = None

    def _list_fn(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        if self.namespace is None:
            return self.custom.list_cluster_custom_object, (kinds.GROUP, kinds.VERSION, self.plural)
        return self.custom.list_namespaced_custom_object, (kinds.GROUP, kinds.VERSION, self.namespace, self.plural)

    def run(self) -> None:
        rv = None
        fn, fn_args = self._list_fn()
        while not self.stopping.is_set():
            try:
                if rv is None:
                    self.requests += 1
                    listing = fn(*fn_args)
                    now = time.time()
                    for item in listing["items"]:
                        self.on_event("LISTED", item, now)
                    rv = listing["metadata"]["resourceVersion"]
                    self.synced.set()
                self._watch = kubernetes.watch.Watch()
                self.requests += 1
                for event in self._watch.stream(fn, *fn_args, resource_version=rv, timeout_seconds=self.timeout,
                                                allow_watch_bookmarks=True):
                    now = time.time()
                    obj = event["object"]
                    if event["type"] == "ERROR":
                        if (obj or {}).get("code") == 410:
                            rv = None
                        break
                    rv = obj["metadata"]["resourceVersion"]
                    if event["type"] != "BOOKMARK":
                        self.on_event(event["type"], obj, now)
                    if self.stopping.is_set():
                        break
            except kubernetes.client.ApiException as exc:
                self.errors += 1
                if exc.status == 410:
                    rv = None
                self.stopping.wait(0.5)
            except Exception:  # noqa: BLE001 - keep watching; a benchmark must not die of a hiccup
                self.errors += 1
                self.stopping.wait(0.5)

    def stop(self) -> None:
        self.stopping.set()
        if self._watch is not None:
            self._watch.stop()


# -- /proc sampling --------------------------------------------------------------------------------

def read_text(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (index 0 = state, 1 = ppid, ...)."""
    text = read_text(f"/proc/{pid}/stat")
    if text is None:
        return None
    return text[text.rfind(")") + 2:].split()


def cpu_seconds(pid: int | None, children: bool = False) -> float | None:
    """user + system CPU seconds of `pid`; with `children`, plus those of its reaped descendants."""
    fields = proc_stat(pid) if pid else None
    if fields is None:
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime (reaped descendants)
    return ticks / TICKS


def tree_cpu_seconds(pid: int | None) -> float | None:
    """CPU seconds of `pid` and all its descendants, live (own + reaped children) and reaped."""
    total = cpu_seconds(pid, children=True)
    if total is None:
        return None
    return total + sum(cpu_seconds(p, children=True) or 0.0 for p in descendants(pid or 0))


def machine_cpu() -> tuple[float, float]:
    """(busy, total) seconds of all CPUs since boot."""
    first = (read_text("/proc/stat") or "cpu 0").splitlines()[0].split()[1:]
    values = [int(v) for v in first]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


def rss_kib(pid: int) -> int:
    text = read_text(f"/proc/{pid}/status") or ""
    m = re.search(r"^VmRSS:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) if m else 0


def pss_kib(pid: int) -> int:
    text = read_text(f"/proc/{pid}/smaps_rollup") or ""
    m = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) if m else 0


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = collections.defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = proc_stat(int(entry))
            if fields is not None:
                children[int(fields[1])].append(int(entry))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            out.append(child)
            todo.append(child)
    return out


def mem_total_mib() -> int:
    m = re.search(r"MemTotal:\s+(\d+)", read_text("/proc/meminfo") or "MemTotal: 0")
    return round(int(m.group(1)) / 1024) if m else 0


class MemorySampler(threading.Thread):
    """Every `interval` s: RSS of the operator, RSS and PSS sums of the operator and its descendants.

    `phase` labels the samples (set it from outside); `peaks[phase]` keeps the maxima and sums (for
    averages), `series` every sample, `processes` each descendant seen (its `role` from `role(cmd)`).
    """

    def __init__(self, pid: int, interval: float, role: Callable[[str], str] | None = None) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.pid = pid
        self.interval = interval
        self.role = role or (lambda cmd: "other" if cmd else "exited")
        self.phase = "setup"
        self.stopping = threading.Event()
        self.peaks: dict[str, dict[str, float]] = collections.defaultdict(
            lambda: {"operator_rss": 0, "tree_rss": 0, "tree_pss": 0, "tree_procs": 0, "samples": 0,
                     "operator_rss_sum": 0, "tree_rss_sum": 0})
        self.series: list[tuple[float, str, int, int, int, int]] = []
        self.processes: dict[int, dict[str, Any]] = {}  # descendant pid -> first/last seen, command line

    def run(self) -> None:
        while not self.stopping.is_set():
            t0 = time.time()
            try:
                own = rss_kib(self.pid)
                tree = [self.pid, *descendants(self.pid)]
                sizes = {pid: rss_kib(pid) for pid in tree}
                for pid in tree[1:]:
                    seen = self.processes.get(pid)
                    if seen is None:
                        cmd = (read_text(f"/proc/{pid}/cmdline") or "").replace("\0", " ").strip()
                        seen = self.processes[pid] = {"pid": pid, "first": t0, "last": t0, "cmd": cmd[:300],
                                                      "role": self.role(cmd), "peak_rss": 0}
                    seen["last"] = t0
                    seen["peak_rss"] = max(seen["peak_rss"], sizes[pid])
                total = sum(sizes.values())
                pss = sum(pss_kib(p) for p in tree)
            except Exception:  # noqa: BLE001
                own = total = pss = 0
                tree = []
            for phase in (self.phase, "all"):
                peak = self.peaks[phase]
                peak["operator_rss"] = max(peak["operator_rss"], own)
                peak["tree_rss"] = max(peak["tree_rss"], total)
                peak["tree_pss"] = max(peak["tree_pss"], pss)
                peak["tree_procs"] = max(peak["tree_procs"], len(tree))
                peak["operator_rss_sum"] += own
                peak["tree_rss_sum"] += total
                peak["samples"] += 1
            self.series.append((t0, self.phase, own, total, pss, len(tree)))
            self.stopping.wait(max(0.0, self.interval - (time.time() - t0)))

    def stop(self) -> None:
        self.stopping.set()


# -- the environment and CPU accounting ------------------------------------------------------------

def report_machine(report: Report) -> None:
    report.line("machine.nproc", os.cpu_count())
    report.line("machine.python", platform.python_version())
    report.line("machine.platform", platform.platform())
    report.line("machine.mem_total", mem_total_mib(), "MiB")
    load = (read_text("/proc/loadavg") or "").split()[:3]
    if load:
        report.line("machine.loadavg_at_start", " ".join(load))


def start_environment(state_dir: pathlib.Path, operator_env: dict[str, str], report: Report,
                      **kwargs: Any) -> environment.Environment:
    """Start the whole local environment (control plane, workload cluster, moto, CRDs, operator with
    `operator_env` on top of the devenv's settings); reports `env.start_time`. The caller stops it
    (`stop_environment`), also when this raises: the Environment stops what it started then."""
    t0 = time.monotonic()
    log("starting the local environment (apiserver, etcd, workload cluster, moto, operator)")
    env = environment.Environment(state_dir, operator_env, **kwargs)
    env.start(with_api=False)  # the operator's figures, without the REST API's watches beside them
    report.line("env.start_time", time.monotonic() - t0, "s")
    return env


def stop_environment(env: environment.Environment | None) -> None:
    if env is None:
        return
    log("stopping the environment")
    try:
        env.stop()
    except Exception:  # noqa: BLE001
        traceback.print_exc()


def cpu_snapshot(env: environment.Environment) -> dict[str, float | None]:
    """CPU seconds so far of the operator (alone and with descendants), moto, both control planes
    (the workload cluster's as `workload_<name>`), this process, and the whole machine."""
    assert env.operator is not None
    snap: dict[str, float | None] = {"wall": time.monotonic()}
    pid = env.operator.pid
    snap["operator"] = cpu_seconds(pid)
    snap["operator_tree"] = tree_cpu_seconds(pid)
    moto = env.moto.process
    snap["moto"] = cpu_seconds(moto.pid) if moto is not None else None
    for proc in env.control_plane.started_processes:
        snap[proc.name] = cpu_seconds(proc.pid)
    workload = getattr(env, "workload", None)
    if workload is not None:
        for proc in workload.control_plane.started_processes:
            snap[f"workload_{proc.name}"] = cpu_seconds(proc.pid)
    snap["benchmark"] = cpu_seconds(os.getpid())
    busy, total = machine_cpu()
    snap["machine_busy"], snap["machine_total"] = busy, total
    return snap


OURS = ("operator_tree", "moto", "etcd", "kube-apiserver", "workload_etcd", "workload_kube-apiserver", "benchmark")


def report_cpu(report: Report, phase: str, a: dict[str, float | None], b: dict[str, float | None]) -> dict[str, float]:
    """`cpu.<phase>.*` lines: CPU seconds per process between two snapshots, how busy the machine
    was, and `not_ours` (CPU used by anything the benchmark did not start; a warning when it is more
    than 10 % of the machine). Returns the deltas."""
    wall = (b["wall"] or 0) - (a["wall"] or 0)
    report.line(f"cpu.{phase}.wall", wall, "s")
    ours = 0.0
    for key in OURS:
        if a.get(key) is not None and b.get(key) is not None:
            ours += b[key] - a[key]  # type: ignore[operator]
    busy = (b["machine_busy"] or 0) - (a["machine_busy"] or 0)
    capacity = wall * (os.cpu_count() or 1)
    others = max(0.0, busy - ours)
    report.line(f"cpu.{phase}.not_ours", others, "cpu-s")
    out = {"wall": wall, "not_ours": others}
    if capacity:
        report.line(f"cpu.{phase}.not_ours_share", round(100 * others / capacity, 1), "% of the machine")
        if others > 0.1 * capacity:
            report.warn(f"during '{phase}' other processes used {100 * others / capacity:.0f}% of the machine's "
                        "CPU; the figures are disturbed")
    for key in a:
        if key in ("wall", "machine_total") or a[key] is None or b.get(key) is None:
            continue
        used = b[key] - a[key]  # type: ignore[operator]
        if key == "machine_busy":
            total = (b["machine_total"] or 0) - (a["machine_total"] or 0)
            report.line(f"cpu.{phase}.machine_busy", round(100 * used / total, 1) if total else 0.0, "%")
        else:
            report.line(f"cpu.{phase}.{key}", used, "cpu-s")
            out[key] = used
    return out


# -- Prometheus text -------------------------------------------------------------------------------

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)(?:\s+\d+)?$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

Samples = list[tuple[str, dict[str, str], float]]


def parse_prometheus(text: str, prefix: str = "") -> Samples:
    """(name, labels, value) of each sample line whose name starts with `prefix`."""
    out = []
    for line in text.splitlines():
        if not line or line[0] == "#" or not line.startswith(prefix):
            continue
        m = _SAMPLE.match(line)
        if not m:
            continue
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        out.append((m.group(1), dict(_LABEL.findall(m.group(2) or "")), value))
    return out


def scrape_url(url: str, prefix: str = "", timeout: float = 10) -> Samples | None:
    """A plain-HTTP /metrics endpoint (the operator's); None when it does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return parse_prometheus(resp.read().decode(), prefix)
    except OSError:
        return None


def scrape_apiserver(api: kubernetes.client.ApiClient, prefix: str = "") -> Samples | None:
    """An apiserver's /metrics through an admin client; None when it cannot be read."""
    try:
        resp = api.call_api("/metrics", "GET", auth_settings=["BearerToken"], _preload_content=False)
        text = resp[0].data.decode() if isinstance(resp, tuple) else resp.data.decode()
    except Exception:  # noqa: BLE001
        return None
    return parse_prometheus(text, prefix)


def apiserver_requests(api: kubernetes.client.ApiClient) -> dict[tuple[str, str, str], float] | None:
    """apiserver_request_total summed by (verb, group/resource[/subresource], code class)."""
    samples = scrape_apiserver(api, "apiserver_request_total")
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


def request_delta(before: dict | None, after: dict | None) -> dict[tuple[str, str, str], float]:
    if before is None or after is None:
        return {}
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0) > 0}


def report_requests(report: Report, prefix: str, before: dict | None, after: dict | None,
                    wall: float | None = None) -> float | None:
    """`<prefix>.requests` (and per second with `wall`), fleetyard.io's share, 4xx/5xx, the most
    frequent verb/resource pairs. Returns the total (None when the metrics could not be read)."""
    delta = request_delta(before, after)
    if not delta:
        report.line(f"{prefix}.requests", "n/a")
        return None
    total = sum(delta.values())
    fleet = sum(v for (verb, res, _), v in delta.items() if res.startswith("fleetyard.io/"))
    report.line(f"{prefix}.requests", int(total))
    if wall:
        report.line(f"{prefix}.requests_per_second", total / wall, "req/s")
    report.line(f"{prefix}.requests_fleetyard_io", int(fleet))
    errors = sum(v for (verb, res, code), v in delta.items() if code in ("4xx", "5xx"))
    report.line(f"{prefix}.requests_4xx_5xx", int(errors))
    failed: dict[str, float] = collections.defaultdict(float)
    for (verb, res, code), v in delta.items():
        if code in ("4xx", "5xx"):
            failed[f"{verb} {res} {code}"] += v
    report.data[f"{prefix}.failed_top"] = {k: int(v) for k, v in sorted(failed.items(), key=lambda kv: -kv[1])[:8]}
    if failed:
        print(f"{prefix}.failed_top: " + ", ".join(
            f"{k}={int(v)}" for k, v in sorted(failed.items(), key=lambda kv: -kv[1])[:8]), flush=True)
    by: dict[str, float] = collections.defaultdict(float)
    for (verb, res, code), v in delta.items():
        by[f"{verb} {res}"] += v
    top = sorted(by.items(), key=lambda kv: -kv[1])[:12]
    report.data[f"{prefix}.top"] = {k: int(v) for k, v in top}
    print(f"{prefix}.top: " + ", ".join(f"{k}={int(v)}" for k, v in top), flush=True)
    return total


# -- the operator's log ----------------------------------------------------------------------------

def report_operator_log(report: Report, path: pathlib.Path, since_line: int = 0, prefix: str = "operator_log",
                        top: int = 10) -> int:
    """Counts of warning/error/critical lines in the operator's log (JSON or plain) and the most
    frequent messages (numbers and hex ids folded to `#`). Returns the number of lines read, so a
    later call can count only what came after (`since_line`)."""
    levels: collections.Counter[str] = collections.Counter()
    messages: collections.Counter[str] = collections.Counter()
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return 0
    for line in lines[since_line:]:
        try:
            entry = json.loads(line)
            level = str(entry.get("severity") or entry.get("levelname") or entry.get("level") or "?").lower()
            message = str(entry.get("message") or "")
        except ValueError:
            level = "error" if "Traceback" in line or "ERROR" in line else ("warning" if "WARNING" in line
                                                                           else "raw")
            message = line
        levels[level] += 1
        if level in ("warning", "warn", "error", "critical"):
            messages[f"{level}: {re.sub(r'[0-9a-f]{6,}|[0-9]+', '#', message)[:160]}"] += 1
    report.line(f"{prefix}.lines", len(lines) - since_line)
    for level in ("warning", "error", "critical"):
        report.line(f"{prefix}.{level}", levels.get(level, 0) + (levels.get("warn", 0) if level == "warning" else 0))
    report.data[f"{prefix}.top_messages"] = dict(messages.most_common(top))
    for message, count in messages.most_common(top):
        print(f"{prefix}.message: {count}x {message}", flush=True)
    return len(lines)


# -- main ------------------------------------------------------------------------------------------

class Bench(Protocol):
    report: Report

    def run(self) -> None: ...

    def stop(self) -> None: ...


def run_main(args: argparse.Namespace, make: Callable[[argparse.Namespace, pathlib.Path], Bench],
             prefix: str = "fleetyard-bench-") -> int:
    """Make the state dir (`args.state_dir`, or a temp dir removed after a successful run unless
    `args.keep_state`), run the benchmark, always stop it and every process the devenv started,
    print the JSON line (with `"ok"`); exit code 1 when something failed."""
    temp = args.state_dir is None
    state_dir = pathlib.Path(tempfile.mkdtemp(prefix=prefix)) if temp else args.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    bench = make(args, state_dir)
    ok = False
    try:
        bench.run()
        ok = True
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        bench.report.data["error"] = str(exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr, flush=True)
    except Exception as exc:  # noqa: BLE001
        traceback.print_exc()
        bench.report.data["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        bench.stop()
        devenv_processes._stop_leftovers()  # noqa: SLF001 - nothing of ours may outlive the run
    bench.report.data["ok"] = ok
    print(json.dumps(bench.report.data, default=str), flush=True)
    if temp and ok and not getattr(args, "keep_state", False):
        shutil.rmtree(state_dir, ignore_errors=True)
    elif not ok:
        print(f"state (logs) kept in {state_dir}", file=sys.stderr)
    return 0 if ok else 1
