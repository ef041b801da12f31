#!/usr/bin/env python
"""Benchmark: sharded operator replicas splitting a fleet of organizations, at rest and when one dies.

Starts its own local environment (`fleet_at_rest`'s: the devenv with an apiserver audit log) without
the devenv's operator, then --replicas (3) operator processes `shard-0`.. with FLEETYARD_SHARDS=true,
FLEETYARD_SHARD_LEASE_DURATION=--lease-duration and FLEETYARD_SHARD_NAMESPACE=fleetyard-system, as
`tests/e2e/test_operator_shards.py` starts them. Each replica runs as the operator's ServiceAccount
with its own TokenRequest token (as separate pods would), so the audit log tells the replicas apart
(`user.extra["authentication.kubernetes.io/credential-id"]` is the token's JTI). Then:

1. waits until the replicas agree on their first view (their Leases all announce it);
2. the shares `fleetyard.controllers.shards.owner` gives each replica over the --namespaces (30)
   organizations (and over 10,000 synthetic names: the hash itself);
3. one active Connection (a customer role in moto, a Secret with the external id) and one active
   Network (a Pulumi run) per namespace (`fleet_at_rest.Bench.setup_connections_and_networks`);
   which replica ran each Operation (`status.operatorInstance`);
4. --objects (300) ProvisionedClusters with desiredState Pending round-robin over the namespaces
   (`fleet_at_rest.Bench.populate`), until each has status.status and nothing changed for --quiet s;
   every replica's `fleetyard_reconciles_total` delta against the objects it owns; the writes to each
   object by replica (audit log);
5. --rest-window (120) s at rest: CPU and RSS per replica, reconciles per replica, apiserver requests
   (all clients; the operator replicas' own from the audit log, leases apart) per object per hour;
6. SIGKILL of --victim (shard-0): the Lease expiry, when each survivor saw the member change and
   agreed on the new view (their logs), and when every survivor's reconcile counter reached its
   final value (each survivor looks at every object again after the view changes: its own ones once
   or twice and the dead replica's it gains once), next to the lease duration; then one new
   ProvisionedCluster per namespace of the dead replica: create -> status, and who wrote it;
7. stops everything (also on failure; the state dir is kept then).

Output: `name: value unit` lines, then one JSON line. Run `.venv/bin/python hack/bench/shards.py --help`;
see hack/bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import os
import pathlib
import signal
import sys
import time
from typing import Any

import kubernetes
import yaml

import fleet_at_rest
from benchlib import (BenchError, MemorySampler, Watcher, cpu_seconds, log, machine_cpu, operator_env_overrides,
                      parse_time, read_text, report_machine, report_operator_log, rss_kib, run_main, scrape_url,
                      tree_cpu_seconds)
from fleet_at_rest import MiB, category, code_version, read_audit, request_counts
from fleetyard.controllers import shards
from fleetyard.devenv import chart, operator_process, processes, provisioning
from fleetyard.kube import leases
from fleetyard.models import kinds

NAMESPACE_PREFIX = "fy-shard"
SHARD_NAMESPACE = provisioning.PASSPHRASE_NAMESPACE  # fleetyard-system, as in the e2e test
GROUP = "fleetyard"  # the operator's FLEETYARD_PEERING default: the Leases' group label
WRITES = ("create", "update", "patch", "delete", "deletecollection")


def token_jti(kubeconfig: pathlib.Path) -> str:
    """The JTI claim of the (JWT) token in a kubeconfig: what the audit log shows as its credential id."""
    token = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["token"]
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"])


def deviation(counts: dict[str, int], total: int) -> dict[str, float]:
    """Each member's deviation from an even split, in %."""
    even = total / max(1, len(counts))
    return {m: 100.0 * (n - even) / even if even else 0.0 for m, n in counts.items()}


class LogTail:
    """The shard lines (`shard members changed`, `shard view agreed`) of one replica's JSON log, read on."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        self.offset = 0
        self.events: list[tuple[float, str, list[str]]] = []  # (epoch, message, members)

    def poll(self) -> list[tuple[float, str, list[str]]]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return self.events
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].decode(errors="replace").splitlines():
            if "shard " not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            message = str(entry.get("message") or "")
            if message in ("shard members changed", "shard view agreed"):
                self.events.append((parse_time(entry.get("timestamp")) or 0.0, message,
                                    sorted(entry.get("members") or [])))
        return self.events

    def first(self, message: str, members: list[str], after: float) -> float | None:
        return next((t for t, m, who in self.poll() if m == message and t >= after and who == sorted(members)), None)


class Bench(fleet_at_rest.Bench):
    """fleet_at_rest's set-up, population and plumbing, with N sharded replicas instead of one operator."""

    def __init__(self, args: argparse.Namespace, state_dir: pathlib.Path) -> None:
        super().__init__(args, state_dir)
        self.namespaces = [f"{NAMESPACE_PREFIX}-{i}" for i in range(args.namespaces)]
        self.names = [f"shard-{i}" for i in range(args.replicas)]
        self.replicas: dict[str, processes.ManagedProcess] = {}
        self.replica_env: dict[str, dict[str, str]] = {}
        self.jti: dict[str, str] = {}  # token JTI -> replica
        self.samplers: dict[str, MemorySampler] = {}
        self.killed: set[str] = set()
        self.kill_at: float | None = None
        self.victim = args.victim or self.names[0]
        self.survivors = [n for n in self.names if n != self.victim]
        self.targets: dict[str, str] = {}

    def operator_env(self) -> dict[str, str]:
        env = {"FLEETYARD_HEALTH_INTERVAL": str(self.args.health_interval), "FLEETYARD_LOG_FORMAT": "json",
               "FLEETYARD_SHARDS": "true", "FLEETYARD_SHARD_LEASE_DURATION": str(self.args.lease_duration),
               "FLEETYARD_SHARD_NAMESPACE": SHARD_NAMESPACE}
        env.update(operator_env_overrides(self.args.operator_env))
        return env

    # -- the replicas ------------------------------------------------------------------------------
    def live(self) -> list[str]:
        return [n for n in self.names if n in self.replicas and n not in self.killed]

    def start_environment(self, with_operator: bool = False) -> None:
        """fleet_at_rest's environment (audit log) without the devenv's operator, then the replicas."""
        super().start_environment(with_operator)
        t1 = time.monotonic()
        for name in self.names:
            self.start_replica(name)
        self.report.line("replicas.start_time", time.monotonic() - t1, "s (all answering /healthz, one after another)")

    def start_replica(self, name: str) -> None:
        env = self.env
        assert env is not None
        kubeconfig = chart.service_account_kubeconfig(
            env.api, env.control_plane.server, env.control_plane.ca_file, chart.NAMESPACE,
            chart.component_account("operator"), self.state_dir / "identities" / f"operator-{name}.kubeconfig")
        self.jti[token_jti(kubeconfig)] = name
        log(f"starting replica {name} (log {self.state_dir / (name + '.log')})")
        proc, penv = operator_process.start(
            self.state_dir, kubeconfig, env.aws_env(),
            {**provisioning.operator_env(self.state_dir), **env.workload_env(), **self.operator_env()}, name=name)
        self.replicas[name], self.replica_env[name] = proc, penv

    def operator_alive(self) -> None:
        for name in self.live():
            if not self.replicas[name].alive():
                raise BenchError(f"replica {name} is not running (log: {self.state_dir / (name + '.log')})")

    def pid(self, name: str) -> int:
        pid = self.replicas[name].pid
        assert pid is not None
        return pid

    def cpu(self) -> dict[str, float | None]:
        """CPU seconds so far: each live replica with its descendants, the processes the devenv started,
        this process and the machine (the keys fleet_at_rest.Bench.report_cpu sums)."""
        env = self.env
        assert env is not None
        snap: dict[str, float | None] = {"wall": time.monotonic()}
        for name in self.live():
            snap[f"operator_tree.{name}"] = tree_cpu_seconds(self.pid(name))
        snap["webhooks"] = tree_cpu_seconds(env.webhooks.pid) if env.webhooks is not None else None
        snap["moto"] = cpu_seconds(env.moto.process.pid) if env.moto.process is not None else None
        for proc in env.control_plane.started_processes:
            snap[proc.name] = cpu_seconds(proc.pid)
        if env.workload is not None:
            for proc in env.workload.control_plane.started_processes:
                snap[f"workload_{proc.name}"] = cpu_seconds(proc.pid)
        snap["benchmark"] = cpu_seconds(os.getpid())
        snap["machine_busy"], snap["machine_total"] = machine_cpu()
        return snap

    def rss_line(self, name: str) -> float:
        """RSS of each live replica (`<name>.<replica>`) and their sum; returns the largest."""
        values = {n: rss_kib(self.pid(n)) / MiB for n in self.live()}
        for n, v in values.items():
            self.report.line(f"{name}.{n}", round(v, 1), "MiB")
        self.report.line(f"{name}.sum", round(sum(values.values()), 1), "MiB")
        return max(values.values(), default=0.0)

    def set_phase(self, phase: str) -> None:
        super().set_phase(phase)
        for sampler in self.samplers.values():
            sampler.phase = phase

    def reconciles(self, name: str) -> dict[str, float] | None:
        """fleetyard_reconciles_total of one replica by kind (all results), `<kind>/<result>` too."""
        port = self.replica_env[name].get("FLEETYARD_METRICS_PORT")
        samples = scrape_url(f"http://127.0.0.1:{port}/metrics", "fleetyard_reconciles_total", timeout=5)
        if samples is None:
            return None
        out: dict[str, float] = collections.defaultdict(float)
        for metric, labels, value in samples:
            if metric == "fleetyard_reconciles_total":
                out[labels.get("kind", "")] += value
                out[f"{labels.get('kind', '')}/{labels.get('result', '')}"] += value
                out["all"] += value
        return dict(out)

    def all_reconciles(self) -> dict[str, dict[str, float]]:
        return {n: self.reconciles(n) or {} for n in self.live()}

    def lease_members(self) -> dict[str, dict[str, Any]]:
        """The group's Leases: holder -> view announced, renewal (epoch), duration."""
        assert self.env is not None
        api = kubernetes.client.CoordinationV1Api(self.env.api)
        listed = api.list_namespaced_lease(SHARD_NAMESPACE, label_selector=f"{leases.GROUP_LABEL}={GROUP}")
        out = {}
        for lease in listed.items:
            spec = lease.spec
            if spec is None or not spec.holder_identity:
                continue
            out[spec.holder_identity] = {
                "view": (lease.metadata.annotations or {}).get(leases.VIEW_ANNOTATION, ""),
                "renewed": spec.renew_time.timestamp() if spec.renew_time else None,
                "duration": float(spec.lease_duration_seconds or 0)}
        return out

    def wait_agreed(self, members: list[str], timeout: float) -> float | None:
        """Until the live Leases are exactly `members`, each announcing their view; the epoch then."""
        want = shards.view_of(members)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            now = time.time()
            live = {h: m for h, m in self.lease_members().items()
                    if m["renewed"] is not None and m["renewed"] + m["duration"] > now}
            if sorted(live) == sorted(members) and all(m["view"] == want for m in live.values()):
                return time.time()
            self.operator_alive()
            time.sleep(0.25)
        return None

    # -- shares ------------------------------------------------------------------------------------
    def owners(self, members: list[str]) -> dict[str, str]:
        return {ns: shards.owner(ns, members) or "" for ns in self.namespaces}

    def report_shares(self, prefix: str, members: list[str], objects: dict[str, int]) -> dict[str, int]:
        """Namespaces and objects each member owns, deviation from an even split; returns objects per member."""
        r = self.report
        owners = self.owners(members)
        ns_count = collections.Counter(owners.values())
        obj_count = collections.Counter()
        for ns, n in objects.items():
            obj_count[owners[ns]] += n
        ns_counts = {m: ns_count.get(m, 0) for m in members}
        obj_counts = {m: obj_count.get(m, 0) for m in members}
        ns_dev = deviation(ns_counts, len(owners))
        obj_dev = deviation(obj_counts, sum(objects.values()))
        for m in members:
            r.line(f"{prefix}.{m}", f"namespaces={ns_counts[m]} objects={obj_counts[m]} "
                   f"deviation={obj_dev[m]:+.1f}%", f"(even: {sum(objects.values()) / len(members):.1f} objects)")
        worst = max(abs(v) for v in obj_dev.values())
        r.line(f"{prefix}.max_deviation", round(worst, 1), "% from an even split of the objects")
        r.data[f"{prefix}.namespaces"] = ns_counts
        r.data[f"{prefix}.objects"] = obj_counts
        r.data[f"{prefix}.namespace_deviation"] = ns_dev
        return obj_counts

    def report_synthetic_shares(self) -> None:
        """The hash alone: 10,000 made-up namespace names over the replicas, and over the survivors."""
        for members, label in ((self.names, "all"), (self.survivors, "survivors")):
            counts = collections.Counter(shards.owner(f"org-{i}", members) for i in range(10_000))
            dev = deviation({m: counts.get(m, 0) for m in members}, 10_000)
            self.report.line(f"shares.synthetic_10000.{label}", " ".join(
                f"{m}={counts.get(m, 0)}({dev[m]:+.1f}%)" for m in members), "(namespaces per member)")

    def objects_per_namespace(self, with_networks: bool = True) -> dict[str, int]:
        out = collections.Counter(ns for ns, _ in getattr(self, "populated", []))
        return {ns: out.get(ns, 0) + (1 if with_networks else 0) for ns in self.namespaces}

    # -- phases ------------------------------------------------------------------------------------
    def run(self) -> None:
        a, r = self.args, self.report
        r.line("settings.replicas", a.replicas)
        r.line("settings.objects", a.clusters, "Pending ProvisionedClusters")
        r.line("settings.namespaces", a.namespaces, "(one Connection and one Network each)")
        r.line("settings.lease_duration", a.lease_duration, "s (FLEETYARD_SHARD_LEASE_DURATION)")
        r.line("settings.rest_window", a.rest_window, "s")
        r.line("settings.threads", a.threads)
        r.line("settings.victim", self.victim)
        r.line("settings.operator_env", " ".join(f"{k}={v}" for k, v in self.operator_env().items()))
        r.line("settings.timeout", self.deadline.seconds, "s")
        report_machine(r)
        r.line("state_dir", str(self.state_dir))
        r.line("code", code_version())
        t_start = time.time()

        self.start_environment()
        agreed = self.wait_agreed(self.names, 120)
        if agreed is None:
            raise BenchError(f"the replicas did not agree on a first view: {self.lease_members()}")
        r.line("replicas.first_view_agreed_after_start", agreed - t_start, "s (after the environment started: "
               f"{agreed - t_start - r.data['env.start_time']:.1f} s)")
        for name in self.names:
            self.samplers[name] = MemorySampler(self.pid(name), a.sample_interval)
            self.samplers[name].start()
        self.set_phase("empty")
        time.sleep(3)
        self.rss_line("memory.empty.operator_rss")

        objects = collections.Counter(self.namespaces[i % a.namespaces] for i in range(a.clusters))
        self.report_shares("shares", self.names, {ns: objects.get(ns, 0) for ns in self.namespaces})
        self.report_synthetic_shares()

        self.watch = Watcher(str(self.env.kubeconfig), kinds.PROVISIONED_CLUSTER.plural, None, self.book.on_event,
                             timeout=1800)
        self.watch.start()
        self.set_phase("setup")
        m0 = self.all_reconciles()
        t0 = time.time()
        self.setup_connections_and_networks()
        self.windows["setup"] = (t0, time.time())
        self.report_setup_owners(m0, self.all_reconciles())

        m1 = self.all_reconciles()
        t1 = time.time()
        self.populate()
        self.settle("populate")
        self.windows["populate"] = (t1, time.time())
        self.report_population(m1, self.all_reconciles())

        self.rest()
        self.takeover()
        self.late()
        self.stop_samplers()
        self.report_audit()
        for name in self.names:
            report_operator_log(r, self.state_dir / f"{name}.log", prefix=f"operator_log.{name}")
        self.report_summary()

    def report_setup_owners(self, m0: dict[str, dict[str, float]], m1: dict[str, dict[str, float]]) -> None:
        """Which replica ran each set-up Operation (a Connection's catalog, a Network's provision)."""
        r = self.report
        owners = self.owners(self.names)
        listing = self.custom.list_cluster_custom_object(kinds.GROUP, kinds.VERSION, kinds.OPERATION.plural)
        right, wrong = 0, []
        for op in listing["items"]:
            ns = op["metadata"]["namespace"]
            ran = ((op.get("status") or {}).get("operatorInstance") or "").split("/")[0]
            if ns not in owners:
                continue
            if ran == owners[ns]:
                right += 1
            else:
                wrong.append(f"{ns}/{op['metadata']['name']} ran by {ran or '?'} (owner {owners[ns]})")
        r.line("setup.operations_run_by_owner", f"{right}/{right + len(wrong)}")
        if wrong:
            r.data["setup.operations_not_run_by_owner"] = wrong
            r.warn(f"{len(wrong)} set-up Operations ran elsewhere than their namespace's owner: {wrong[:5]}")
        nets = collections.Counter(owners.values())
        for name in self.names:
            d = (m1.get(name, {}).get("Network", 0.0)) - (m0.get(name, {}).get("Network", 0.0))
            r.line(f"setup.network_reconciles.{name}", int(d), f"(owns {nets.get(name, 0)} Networks)")

    def report_population(self, m1: dict[str, dict[str, float]], m2: dict[str, dict[str, float]]) -> None:
        """Reconciles per replica while the population settled, against the objects it owns; statuses."""
        r = self.report
        owned = self.report_shares("populate.owned", self.names, self.objects_per_namespace(with_networks=False))
        ratios = {}
        for name in self.names:
            delta = {k: m2.get(name, {}).get(k, 0.0) - m1.get(name, {}).get(k, 0.0) for k in m2.get(name, {})}
            pc = delta.get(kinds.PROVISIONED_CLUSTER.kind, 0.0)
            ratios[name] = pc / owned[name] if owned[name] else float("nan")
            results = " ".join(f"{k.split('/', 1)[1]}={int(v)}" for k, v in sorted(delta.items())
                               if k.startswith(kinds.PROVISIONED_CLUSTER.kind + "/") and v)
            r.line(f"populate.reconciles.{name}", int(pc),
                   f"ProvisionedCluster reconciles for {owned[name]} owned ({ratios[name]:.2f} per object; {results}); "
                   f"Network {int(delta.get(kinds.NETWORK.kind, 0))}")
        total = sum(m2.get(n, {}).get(kinds.PROVISIONED_CLUSTER.kind, 0.0) - m1.get(n, {}).get(
            kinds.PROVISIONED_CLUSTER.kind, 0.0) for n in self.names)
        r.line("populate.reconciles.total", int(total), f"({total / max(1, len(self.populated)):.2f} per object)")
        finite = [v for v in ratios.values() if v == v]
        if finite:
            r.line("populate.reconciles_per_owned_object_spread", round(max(finite) - min(finite), 2),
                   "(max - min over the replicas: 0 = counts exactly proportional to the shares)")
        listing = self.custom.list_cluster_custom_object(kinds.GROUP, kinds.VERSION, kinds.PROVISIONED_CLUSTER.plural)
        mine = [o for o in listing["items"] if o["metadata"]["namespace"] in self.namespaces]
        states = collections.Counter(((o.get("status") or {}).get("status") or "none") for o in mine)
        r.line("populate.statuses", " ".join(f"{k}={v}" for k, v in sorted(states.items())),
               f"({len(mine)} ProvisionedClusters)")
        pending = states.get("pending", 0)
        r.line("populate.all_pending", f"{pending}/{len(self.populated)}: {'ok' if pending == len(self.populated) else 'MISSED'}")

    def rest(self) -> None:
        a, r = self.args, self.report
        assert self.watch is not None
        n = len(self.populated)
        self.set_phase("rest")
        log(f"at rest with {n} ProvisionedClusters over {len(self.live())} replicas: {a.rest_window:.0f} s")
        watch_requests0 = self.watch.requests
        met0 = self.all_reconciles()
        own0 = {name: (cpu_seconds(self.pid(name)), tree_cpu_seconds(self.pid(name))) for name in self.live()}
        t0 = time.time()
        cpu0 = self.cpu()
        req0 = request_counts(self.scrape())
        self.hold(a.rest_window)
        req1 = request_counts(self.scrape())
        cpu1 = self.cpu()
        t1 = time.time()
        own1 = {name: (cpu_seconds(self.pid(name)), tree_cpu_seconds(self.pid(name))) for name in self.live()}
        met1 = self.all_reconciles()
        self.windows["rest"] = (t0, t1)
        wall = t1 - t0
        r.line("rest.objects", n, f"ProvisionedClusters (plus as many Cluster records, {a.namespaces} Networks and "
               "Connections)")
        self.rest_replicas: dict[str, dict[str, float]] = {}
        for name in self.live():
            cpu = (own1[name][0] or 0.0) - (own0[name][0] or 0.0)
            tree = (own1[name][1] or 0.0) - (own0[name][1] or 0.0)
            peak = self.samplers[name].peaks.get("rest") or {}
            mean_rss = peak.get("operator_rss_sum", 0) / peak["samples"] / MiB if peak.get("samples") else 0.0
            rss_end = rss_kib(self.pid(name)) / MiB
            rec = met1.get(name, {}).get("all", 0.0) - met0.get(name, {}).get("all", 0.0)
            status = read_text(f"/proc/{self.pid(name)}/status") or ""
            threads = next((line.split()[1] for line in status.splitlines() if line.startswith("Threads:")), "?")
            self.rest_replicas[name] = {"cpu_share": 100 * cpu / wall, "rss": rss_end, "reconciles": rec}
            r.line(f"rest.{name}", f"cpu={100 * cpu / wall:.2f}% (tree {100 * tree / wall:.2f}%) rss={rss_end:.1f} MiB "
                   f"(mean {mean_rss:.1f}, peak {peak.get('operator_rss', 0) / MiB:.1f}) reconciles={int(rec)} "
                   f"threads={threads}", "(CPU as % of one core)")
        r.line("rest.cpu_share_sum", round(sum(v["cpu_share"] for v in self.rest_replicas.values()), 2),
               "% of one core (all replicas)")
        r.line("rest.rss_sum", round(sum(v["rss"] for v in self.rest_replicas.values()), 1), "MiB (all replicas)")
        r.line("rest.reconciles", int(sum(v["reconciles"] for v in self.rest_replicas.values())),
               "(all replicas; should be 0)")
        self.report_cpu("rest", cpu0, cpu1)
        total, by_cat = self.report_requests("rest", req0, req1, wall)
        own = self.bench_requests["rest"] + (self.watch.requests - watch_requests0)
        r.line("rest.bench_own_requests", own, "(/metrics scrapes, watch renewals)")
        if total is not None:
            per_hour = lambda count: count / wall * 3600 / max(1, n)  # noqa: E731
            excl = total - by_cat.get("leases", 0) - by_cat.get("peering", 0)
            r.line("rest.requests_per_object_hour", round(per_hour(total), 3), "req/object/h (all clients)")
            r.line("rest.requests_per_object_hour_excl_leases_peering", round(per_hour(excl), 3),
                   "req/object/h (all clients, without leases and Kopf peering)")
        r.line("rest.cluster_watch_events", sum(v for (p, _), v in self.book.events.items() if p == "rest"),
               "(ProvisionedCluster changes seen at rest)")

    def takeover(self) -> None:
        """SIGKILL the victim; until every survivor's reconciles went quiet after the new view was agreed."""
        a, r = self.args, self.report
        self.set_phase("takeover")
        survivors = self.survivors
        objects = self.objects_per_namespace(with_networks=True)  # reconciles count Networks too
        before, after = self.owners(self.names), self.owners(survivors)
        old = {s: sum(n for ns, n in objects.items() if before[ns] == s) for s in survivors}
        gained = {s: sum(n for ns, n in objects.items() if before[ns] == self.victim and after[ns] == s)
                  for s in survivors}
        dead = sum(gained.values())
        tails = {s: LogTail(self.state_dir / f"{s}.log") for s in survivors}
        for tail in tails.values():
            tail.poll()
        base = {s: (self.reconciles(s) or {}).get("all", 0.0) for s in survivors}
        lease_before = self.lease_members().get(self.victim) or {}
        log(f"takeover: SIGKILL {self.victim} ({dead} objects: ProvisionedClusters and Networks)")
        os.kill(self.pid(self.victim), signal.SIGKILL)
        t_kill = time.time()
        self.kill_at = t_kill
        self.killed.add(self.victim)
        self.samplers[self.victim].stop()
        self.replicas[self.victim].stop()  # reaps it
        lease = self.lease_members().get(self.victim) or lease_before
        series: list[tuple[float, dict[str, float]]] = []
        last_change = {s: t_kill for s in survivors}
        current = dict(base)
        agreed: dict[str, float | None] = {s: None for s in survivors}
        changed: dict[str, float | None] = {s: None for s in survivors}
        lower_bound = None
        end = t_kill + a.takeover_timeout
        done = False
        while time.time() < end:
            now = time.time()
            for s in survivors:
                value = (self.reconciles(s) or {}).get("all")
                if value is not None and value != current[s]:
                    current[s], last_change[s] = value, now
            series.append((now, dict(current)))
            delta = {s: current[s] - base[s] for s in survivors}
            if lower_bound is None and sum(delta.values()) >= dead:
                lower_bound = now
            for s in survivors:
                changed[s] = changed[s] or tails[s].first("shard members changed", survivors, t_kill)
                agreed[s] = agreed[s] or tails[s].first("shard view agreed", survivors, t_kill)
            if all(agreed.values()) and all(delta[s] >= old[s] + gained[s] for s in survivors) and \
                    all(now - last_change[s] >= a.takeover_quiet and now - (agreed[s] or now) >= a.takeover_quiet
                        for s in survivors):
                done = True
                break
            self.operator_alive()
            time.sleep(0.2)
        t_end = time.time()
        self.windows["takeover"] = (t_kill, t_end)
        if not done:
            r.warn(f"takeover not complete within {a.takeover_timeout:.0f} s: agreed {agreed}, "
                   f"reconciles {({s: current[s] - base[s] for s in survivors})}")
        final = {s: current[s] for s in survivors}
        reached = {s: next((t for t, c in series if c[s] >= final[s]), t_end) for s in survivors}
        r.line("takeover.dead_replica_objects", dead, f"({sum(1 for ns in before if before[ns] == self.victim)} "
               "namespaces; ProvisionedClusters + Networks)")
        if lease.get("renewed"):
            r.line("takeover.lease_expired_after_kill", round(lease["renewed"] + lease["duration"] - t_kill, 2),
                   f"s (its last renewal + {lease['duration']:.0f} s)")
        for s in survivors:
            d = final[s] - base[s]
            r.line(f"takeover.{s}", f"members_changed={(changed[s] or t_end) - t_kill:.2f}s "
                   f"view_agreed={(agreed[s] or t_end) - t_kill:.2f}s last_reconcile={reached[s] - t_kill:.2f}s "
                   f"reconciles={int(d)} (owned {old[s]}, gained {gained[s]}; "
                   f"{'ok' if d >= old[s] + gained[s] else 'TOO FEW'}: >= {old[s] + gained[s]})",
                   "(after the kill)")
        r.data["takeover.series"] = [(round(t - t_kill, 2), {s: int(c[s] - base[s]) for s in survivors})
                                     for t, c in series[::5]]
        took = max(reached.values()) - t_kill
        r.line("takeover.all_reconciled_after_kill", round(took, 2),
               "s (kill -> the last survivor's last reconcile of the handover: both agreed on the new view and "
               "reconciled every object they own now)")
        if lower_bound is not None:
            r.line("takeover.combined_delta_reached_dead_objects_after_kill", round(lower_bound - t_kill, 2),
                   f"s (survivors' reconciles delta >= {dead}: a lower bound, their own objects count too)")
        agreed_at = max((v for v in agreed.values() if v), default=None)
        if agreed_at:
            r.line("takeover.view_agreed_after_kill", round(agreed_at - t_kill, 2), "s (the later survivor's log line)")
            r.line("takeover.agreed_to_last_reconcile", round(max(reached.values()) - agreed_at, 2), "s")
        limit = a.lease_duration + a.lease_duration / 3
        self.targets["takeover"] = (f"{took:.1f} s <= lease {a.lease_duration:.0f} s + one round "
                                    f"{a.lease_duration / 3:.0f} s = {limit:.0f} s: {'ok' if took <= limit else 'MISSED'}")
        r.line("takeover.lease_duration", a.lease_duration, "s")
        self.report_shares("takeover.owned", survivors, self.objects_per_namespace(with_networks=False))
        t_agree = self.wait_agreed(survivors, 30)
        r.line("takeover.leases_agree", "yes" if t_agree else "NO",
               f"(the live Leases are {', '.join(survivors)}, all announcing their view)")

    def late(self) -> None:
        """One new ProvisionedCluster in each of the dead replica's namespaces: create -> status, and (in
        the audit report) which replica wrote it."""
        r = self.report
        victims = [ns for ns, o in self.owners(self.names).items() if o == self.victim]
        if not victims or not self.args.late:
            return
        self.set_phase("late")
        keys = [(ns, f"late-{i:03d}") for i, ns in enumerate(victims)]
        log(f"{len(keys)} new ProvisionedClusters in the dead replica's namespaces")
        t0, t1 = self.create_many(keys)
        t2 = self.wait_first_phase(keys, "late")
        self.windows["late"] = (t0, t2 + 5)
        ok = [k for k in keys if k in self.book.first_phase and k in self.book.created]
        r.stats("late.create_to_first_status", [self.book.first_phase[k][0] - self.book.created[k] for k in ok])
        r.line("late.statuses", " ".join(f"{p}={n}" for p, n in sorted(collections.Counter(
            self.book.first_phase[k][1] for k in ok).items())), f"({len(ok)}/{len(keys)})")
        self.late_keys = keys
        time.sleep(5)

    def stop_samplers(self) -> None:
        for name, sampler in self.samplers.items():
            sampler.stop()
            for phase in ("setup", "populate", "rest", "takeover"):
                peak = sampler.peaks.get(phase)
                if peak and peak["samples"]:
                    self.report.line(f"memory.{phase}.{name}", f"peak={peak['operator_rss'] / MiB:.1f} "
                                     f"mean={peak['operator_rss_sum'] / peak['samples'] / MiB:.1f}", "MiB RSS")

    # -- the audit log -----------------------------------------------------------------------------
    def owner_at(self, namespace: str, at: float) -> str:
        members = self.names if self.kill_at is None or at < self.kill_at else self.survivors
        return shards.owner(namespace, members) or ""

    def report_audit(self) -> None:
        """Per phase the operator replicas' requests (by replica and category); writes into the bench's
        namespaces by a replica that did not own the namespace then (reconciler and Kopf apart); per
        ProvisionedCluster the replicas whose reconciler wrote it; at rest the requests per object per hour."""
        r = self.report
        time.sleep(2)
        records = read_audit(self.audit_path, self.jti)
        if not records:
            r.line("audit", "n/a (no audit log)")
            return
        ours = set(self.namespaces)
        ops = [x for x in records if x["replica"]]
        unknown = sum(1 for x in records if x["client"].startswith("operator") and not x["replica"])
        r.line("audit.operator_requests_without_replica", unknown, "(operator ServiceAccount, unknown token: must be 0)")
        for phase, (t0, t1) in self.windows.items():
            mine = [x for x in ops if t0 <= x["at"] < t1]
            by = collections.Counter(f"{x['replica']}:{category(x['resource'])}" for x in mine)
            r.line(f"audit.{phase}.operator_requests", len(mine), "(" + ", ".join(
                f"{k}={n}" for k, n in sorted(by.items())) + f"; {t1 - t0:.0f} s)")
            r.data[f"audit.{phase}.by_replica"] = dict(by)
        # writes by a replica into a namespace it did not own at the time
        foreign: collections.Counter[str] = collections.Counter()
        foreign_ns: dict[str, set[str]] = collections.defaultdict(set)
        writes = [x for x in ops if x["verb"] in WRITES and x["namespace"] in ours]
        for x in writes:
            if x["replica"] != self.owner_at(x["namespace"], x["at"]):
                who = "kopf" if x["client"] == "operator(kopf)" else "reconciler"
                foreign[f"{who} {x['verb']} {x['resource']}"] += 1
                foreign_ns[who].add(x["namespace"])
        r.line("audit.writes_in_owned_namespaces", len(writes) - sum(foreign.values()), f"of {len(writes)} "
               "(writes by the operator replicas into the bench's namespaces, by the namespace's owner at the time)")
        r.line("audit.writes_by_non_owner.reconciler", sum(v for k, v in foreign.items() if k.startswith("reconciler")),
               f"({len(foreign_ns['reconciler'])} namespaces; the fleetyard client: must be 0)")
        r.line("audit.writes_by_non_owner.kopf", sum(v for k, v in foreign.items() if k.startswith("kopf")),
               f"({len(foreign_ns['kopf'])} namespaces; Kopf's own bookkeeping of its handlers)")
        if foreign:
            r.data["audit.writes_by_non_owner.top"] = dict(foreign.most_common(12))
            print("audit.writes_by_non_owner.top: " + ", ".join(f"{k}={n}" for k, n in foreign.most_common(12)),
                  flush=True)
        # per ProvisionedCluster: the replicas whose reconciler (fleetyard client) wrote it or its status
        for phase, keys in (("populate", getattr(self, "populated", [])), ("late", getattr(self, "late_keys", []))):
            t0, t1 = self.windows.get(phase, (0.0, 0.0))
            writers: dict[tuple[str, str], set[str]] = collections.defaultdict(set)
            kopf: dict[tuple[str, str], set[str]] = collections.defaultdict(set)
            for x in writes:
                if t0 <= x["at"] < t1 and x["resource"].startswith("fleetyard.io/provisionedclusters"):
                    (kopf if x["client"] == "operator(kopf)" else writers)[(x["namespace"], x["name"])].add(x["replica"])
            if not keys:
                continue
            one = sum(1 for k in keys if len(writers.get(k, ())) == 1)
            by_owner = sum(1 for k in keys if writers.get(k) == {self.owner_at(k[0], t0)})
            r.line(f"audit.{phase}.objects_written_by_one_replica", f"{one}/{len(keys)}",
                   f"(the reconciler's writes of the ProvisionedCluster and its status; by the owner: {by_owner})")
            r.line(f"audit.{phase}.objects_kopf_writers", " ".join(f"{n}_replicas={c}" for n, c in sorted(
                collections.Counter(len(kopf.get(k, ())) for k in keys).items())),
                   "(how many replicas' Kopf wrote each object: finalizer, handler progress)")
        t0, t1 = self.windows.get("rest", (0.0, 0.0))
        if t1 > t0:
            n = max(1, len(self.populated))
            rest = [x for x in ops if t0 <= x["at"] < t1]
            excl = [x for x in rest if category(x["resource"]) not in ("leases", "peering")]
            scale = 3600 / (t1 - t0) / n
            r.line("audit.rest.operator_requests_per_object_hour", round(len(rest) * scale, 3),
                   "req/object/h (all replicas, leases included)")
            r.line("audit.rest.operator_requests_per_object_hour_excl_leases", round(len(excl) * scale, 3),
                   "req/object/h (all replicas, without their Lease renewals and LISTs)")
            top = collections.Counter(f"{x['replica']} {x['verb']} {x['resource']}" for x in excl).most_common(12)
            print("audit.rest.operator_top_excl_leases: " + (", ".join(f"{k}={v}" for k, v in top) or "none"),
                  flush=True)
            lease_rate = collections.Counter(x["replica"] for x in rest if category(x["resource"]) == "leases")
            r.line("audit.rest.lease_requests_per_hour", " ".join(
                f"{k}={v * 3600 / (t1 - t0):.0f}" for k, v in sorted(lease_rate.items())), "(per replica)")
            self.rest_operator_per_object_hour = len(excl) * scale

    def report_summary(self) -> None:
        r = self.report
        dev = r.data.get("shares.max_deviation")
        if dev is not None:
            r.line("target.share_deviation", f"{dev:.1f} % <= 20 %: {'ok' if dev <= 20 else 'MISSED'}")
        if "takeover" in self.targets:
            r.line("target.takeover", self.targets["takeover"])
        rec = r.data.get("rest.reconciles")
        if rec is not None:
            r.line("target.rest_reconciles", f"{rec} (must be 0): {'ok' if rec == 0 else 'MISSED'}")
        foreign = r.data.get("audit.writes_by_non_owner.reconciler")
        if foreign is not None:
            r.line("target.reconciler_writes_by_non_owner", f"{foreign} (must be 0): {'ok' if foreign == 0 else 'MISSED'}")
        per_hour = getattr(self, "rest_operator_per_object_hour", None)
        if per_hour is not None:
            r.line("target.rest_requests_per_object_hour_excl_leases", f"{per_hour:.3f} <= 1: "
                   f"{'ok' if per_hour <= 1 else 'MISSED'}")

    def stop(self) -> None:
        for sampler in self.samplers.values():
            sampler.stop()
        for name in reversed(self.names):
            proc = self.replicas.get(name)
            if proc is not None:
                log(f"stopping replica {name}")
                proc.stop()
        super().stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("-n", "--objects", dest="clusters", metavar="N", type=int, default=300,
                   help="Pending ProvisionedClusters, round-robin over the namespaces")
    p.add_argument("--namespaces", type=int, default=30,
                   help="namespaces (organizations), each with one Connection and one Network")
    p.add_argument("--replicas", type=int, default=3, help="sharded operator replicas (shard-0, shard-1, ...)")
    p.add_argument("--lease-duration", type=float, default=15.0, help="FLEETYARD_SHARD_LEASE_DURATION (s)")
    p.add_argument("--victim", help="the replica killed for the takeover (default: shard-0)")
    p.add_argument("--rest-window", type=float, default=120.0, help="seconds measured at rest")
    p.add_argument("--takeover-timeout", type=float, default=180.0, help="limit for the takeover (s)")
    p.add_argument("--takeover-quiet", type=float, default=5.0,
                   help="the takeover is over once every survivor agreed and its reconciles stood still this long (s)")
    p.add_argument("--late", action=argparse.BooleanOptionalAction, default=True,
                   help="after the takeover, one new ProvisionedCluster per namespace of the dead replica")
    p.add_argument("--threads", type=int, default=16, help="parallel clients for the creates")
    p.add_argument("--health-interval", type=float, default=3600.0, help="FLEETYARD_HEALTH_INTERVAL (s)")
    p.add_argument("--operator-env", action="append", default=[], metavar="KEY=VALUE",
                   help="any other operator environment variable (repeatable; all replicas)")
    p.add_argument("--quiet", type=float, default=10.0,
                   help="settled = no ProvisionedCluster change seen for this long (s)")
    p.add_argument("--settle-max", type=float, default=180.0, help="give up waiting for quiet after this (s)")
    p.add_argument("--sample-interval", type=float, default=1.0, help="RSS sampling period per replica (s)")
    p.add_argument("--timeout", type=float, default=None, help="overall limit (s); default grows with N")
    p.add_argument("--state-dir", type=pathlib.Path,
                   help="where the environment keeps its state and logs (default: a temp dir, removed after a "
                        "successful run unless --keep-state)")
    p.add_argument("--keep-state", action="store_true", help="keep the temp state dir")
    # what the inherited fleet_at_rest.Bench code reads
    p.set_defaults(burst=0, audit=True, py_spy=None, gdb=None, in_flight=0)
    args = p.parse_args(argv)
    if args.clusters < 1 or args.namespaces < 1 or args.replicas < 2:
        p.error("--objects and --namespaces must be >= 1, --replicas >= 2")
    if args.victim and args.victim not in [f"shard-{i}" for i in range(args.replicas)]:
        p.error(f"--victim must be one of shard-0..shard-{args.replicas - 1}")
    return args


def main(argv: list[str] | None = None) -> int:
    return run_main(parse_args(argv), Bench, prefix="fleetyard-shards-")


if __name__ == "__main__":
    sys.exit(main())
