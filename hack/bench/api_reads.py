#!/usr/bin/env python
"""Benchmark: the REST API's reads over a large organization, next to the apiserver's own lists.

Starts its own local environment without the operator (kube-apiserver + etcd, moto, the CRDs and
RBAC; `fleetyard.devenv.environment.Environment(workload=False)`), then loads one organization
(namespace `bench`) the way the operator would have left it: K Connections, M Networks, T Teams, N
ProvisionedClusters (active, with provider metadata, IaC outputs, health and conditions; spread over
the Connections/Networks; `access.teams` naming one or two Teams) and the N `Cluster` records the
operator keeps beside them. Without the operator's admission webhook the objects get their
`fleetyard.io/id` label here. Loading runs on a thread pool; its time is reported. Then the API
process starts (`Environment.start_api`) and lists everything: the time until its /healthz says
synced, and its RSS, are reported too.

Two ServiceAccounts call the API: `viewer` (RoleBinding to fleetyard-viewer in the namespace: the
/infra lists, and the apiserver lists) and `member` (no RBAC; listed in the first --member-teams
Teams: /me sees the clusters of those Teams). Once the API has caught up, the API process,
kube-apiserver and etcd are pinned to CPU 0 (every thread) and the load generator
(`hack/bench/loadgen`, Go, built into ~/.cache/fleetyard/bench/) runs on CPU 1. For each endpoint
it measures a warm-up and then --duration seconds at one connection (latency) and at
--concurrency connections (throughput), each connection keep-alive HTTP/1.1:

  API        GET /infra/clusters?limit=100           first page
  API        GET /infra/clusters?limit=100&marker=   after --deep items (marker from walking the pages)
  API        GET /me/clusters                        first page (limit 100) of the member's clusters
  apiserver  GET .../namespaces/bench/provisionedclusters?limit=100            first page
  apiserver  GET .../namespaces/bench/provisionedclusters?limit=100&continue=  after --deep items
  apiserver  GET .../namespaces/bench/clusters?limit=100                       first page (next to /me)

It reports req/s, p50/p90/p99/max latency, bytes per response, the server's CPU per request (the
API process; kube-apiserver + etcd), the API's RSS (after loading and after the measurements) and
whether the targets hold (API p99 at or below the apiserver's; >= --target-rps req/s on one core;
<= --target-kib-per-object KiB of API RSS per object served),
as `name: value unit` lines, a table, and finally one JSON line.

Run `.venv/bin/python hack/bench/api_reads.py --help`; see hack/bench/README.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import pathlib
import resource
import shutil
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from typing import Any

import kubernetes

from benchlib import (BenchError, Deadline, Report, cpu_seconds, log, machine_cpu, read_text, report_machine,
                      run_main, stop_environment, wait_until)
from fleetyard.devenv import environment
from fleetyard.kube import apply as kube_apply
from fleetyard.kube import service_accounts
from fleetyard.models import ids, kinds

NAMESPACE = "bench"
VIEWER = "viewer"
MEMBER = "member"
LOADGEN_SOURCE = pathlib.Path(__file__).resolve().parent / "loadgen"
CACHE = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") / "fleetyard" / "bench"
REGION = "us-east-1"
CREATED_AT = "2025-01-01T00:00:00Z"
CHECKED_AT = "2025-06-01T12:00:00Z"
PEOPLE = ("alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com", "erin@example.com",
          "frank@example.com", "grace@example.com", "heidi@example.com")


# -- the objects ---------------------------------------------------------------------------------------

def _condition(type_: str, status: str, reason: str, message: str = "", generation: int = 1) -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": CREATED_AT, "observedGeneration": generation}


def _meta(name: str, id_: str, i: int) -> dict[str, Any]:
    return {"name": name, "namespace": NAMESPACE, "labels": {kinds.ID_LABEL: id_},
            "annotations": {kinds.CREATED_BY_ANNOTATION: PEOPLE[i % len(PEOPLE)],
                            kinds.UPDATED_BY_ANNOTATION: PEOPLE[(i + 3) % len(PEOPLE)],
                            kinds.UPDATED_AT_ANNOTATION: CHECKED_AT}}


def account(c: int) -> str:
    return f"{210000000000 + c * 7919:012d}"


def connection(c: int, id_: str) -> tuple[dict[str, Any], dict[str, Any]]:
    acct = account(c)
    body = {"apiVersion": kinds.API_VERSION, "kind": "Connection", "metadata": _meta(f"conn-{c:02d}", id_, c),
            "spec": {"provider": "aws", "displayName": f"Customer account {c:02d}", "providerConfig": {
                "accountId": acct, "region": REGION, "roleArn": f"arn:aws:iam::{acct}:role/fleetyard-access",
                "externalIdSecretArn": f"arn:aws:secretsmanager:{REGION}:{acct}:secret:fleetyard/external-id-{c:02d}",
                "stackArn": f"arn:aws:cloudformation:{REGION}:{acct}:stack/fleetyard-access/"
                            f"{hashlib.md5(acct.encode()).hexdigest()}"}}}
    status = {"id": id_, "status": "active", "statusMessage": None, "observedGeneration": 1,
              "lastUsedAt": CHECKED_AT, "lastVerifiedAt": CHECKED_AT, "templateSyncedAt": CHECKED_AT,
              "conditions": [_condition("Ready", "True", "Active"),
                             _condition("ConnectionVerified", "True", "AssumedRole",
                                        "assumed the role with the external id")]}
    return body, status


def network(n: int, connections: int, id_: str) -> tuple[dict[str, Any], dict[str, Any]]:
    c = n % connections
    vpc = f"vpc-{hashlib.md5(id_.encode()).hexdigest()[:17]}"
    azs = [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
    body = {"apiVersion": kinds.API_VERSION, "kind": "Network", "metadata": _meta(f"net-{n:02d}", id_, n),
            "spec": {"connectionRef": {"name": f"conn-{c:02d}"}, "displayName": f"Network {n:02d}", "region": REGION,
                     "config": {"cidr": f"10.{n % 256}.0.0/16", "natGateways": "Single"}, "deletionPolicy": "Delete"}}
    status = {"id": id_, "status": "active", "statusMessage": None, "observedGeneration": 1,
              "providerNetworkId": vpc,
              "iacState": {"projectName": "fleetyard-network", "stackName": f"{NAMESPACE}-{id_.lower()}"},
              "iacOutputs": {"vpcId": vpc, "cidr": f"10.{n % 256}.0.0/16", "availabilityZones": ",".join(azs),
                             "publicSubnetIds": ",".join(f"subnet-{n:02d}{k}a1b2c3d4e5f6" for k in range(3)),
                             "privateSubnetIds": ",".join(f"subnet-{n:02d}{k}f6e5d4c3b2a1" for k in range(3)),
                             "natGatewayIds": f"nat-{n:02d}0a1b2c3d4e5f60718"},
              "conditions": [_condition("Ready", "True", "Active"), _condition("Provisioned", "True", "Succeeded")]}
    return body, status


def team(t: int, member: str, member_teams: int) -> dict[str, Any]:
    members = [PEOPLE[(t + k) % len(PEOPLE)] for k in range(3)] + ([member] if t < member_teams else [])
    return {"apiVersion": kinds.API_VERSION, "kind": "Team",
            "metadata": {"name": f"team-{t:02d}", "namespace": NAMESPACE,
                         "labels": {kinds.ID_LABEL: ids.new_id()}},
            "spec": {"displayName": f"Team {t:02d}", "members": members, "groups": [f"oidc:team-{t:02d}"]}}


def cluster_teams(i: int, teams: int) -> list[str]:
    """Every cluster is for one Team; every fourth also for a second one."""
    out = [f"team-{i % teams:02d}"]
    if i % 4 == 0:
        second = f"team-{(i // 4 + 7) % teams:02d}"
        if second not in out:
            out.append(second)
    return out


def _health(checked: str) -> dict[str, Any]:
    pods = [("coredns-5d78c9869d-8xk2p", "kube-system"), ("coredns-5d78c9869d-q7w4z", "kube-system"),
            ("kube-proxy-4m9tn", "kube-system"), ("kube-proxy-h2x8v", "kube-system"),
            ("aws-node-7j5kq", "kube-system"), ("aws-node-zr6lp", "kube-system")]
    return {"status": "healthy", "providerMetadata": {"status": "ACTIVE"},
            "nodeGroups": [{"name": "system", "status": "ACTIVE", "desiredSize": 2, "readyNodes": 2}],
            "systemPods": [{"name": n, "namespace": ns, "ready": True, "phase": "Running", "restartCount": 0}
                           for n, ns in pods],
            "totalNodes": 2, "readyNodes": 2, "lastCheckedAt": checked}


def provisioned_cluster(i: int, a: argparse.Namespace, id_: str, record_id: str,
                        ) -> tuple[dict[str, Any], dict[str, Any]]:
    name = f"pc-{i:05d}"
    n = i % a.networks
    c = n % a.connections
    acct = account(c)
    eks = f"fy-{NAMESPACE}-{id_.lower()}"
    arn = f"arn:aws:eks:{REGION}:{acct}:cluster/{eks}"
    oidc = f"oidc.eks.{REGION}.amazonaws.com/id/{hashlib.md5(id_.encode()).hexdigest().upper()}"
    body = {"apiVersion": kinds.API_VERSION, "kind": "ProvisionedCluster", "metadata": _meta(name, id_, i),
            "spec": {"connectionRef": {"name": f"conn-{c:02d}"}, "networkRef": {"name": f"net-{n:02d}"},
                     "displayName": f"Cluster {i:05d} ({['prod', 'staging', 'dev', 'ci'][i % 4]})",
                     "region": REGION, "config": {
                         "kubernetesVersion": "1.34", "publicAccessCidrs": ["203.0.113.0/24", "198.51.100.0/24"],
                         "systemNodeGroup": {"name": "system", "instanceTypes": ["m7g.large", "m7g.xlarge"],
                                             "minSize": 1, "maxSize": 3, "desiredSize": 2, "diskSizeGb": 50}},
                     "desiredState": "Provisioned", "deletionPolicy": "Delete",
                     "access": {"teams": cluster_teams(i, a.teams)}}}
    status = {"id": id_, "clusterId": record_id, "status": "active", "statusMessage": None, "observedGeneration": 1,
              "kubernetesVersion": "1.34",
              "providerMetadata": {"clusterName": eks, "clusterArn": arn, "status": "ACTIVE"},
              "iacState": {"projectName": "fleetyard-cluster", "stackName": f"{NAMESPACE}-{id_.lower()}"},
              "iacOutputs": {"clusterName": eks, "clusterArn": arn, "kubernetesVersion": "1.34",
                             "endpoint": f"https://{hashlib.md5(arn.encode()).hexdigest().upper()}.gr7.{REGION}"
                                         ".eks.amazonaws.com",
                             "oidcIssuer": f"https://{oidc}",
                             "oidcProviderArn": f"arn:aws:iam::{acct}:oidc-provider/{oidc}",
                             "jobRunnerRoleArn": f"arn:aws:iam::{acct}:role/{eks}-job-runner",
                             "nodeGroupName": f"{eks}-system",
                             "clusterRoleArn": f"arn:aws:iam::{acct}:role/{eks}-cluster",
                             "nodeRoleArn": f"arn:aws:iam::{acct}:role/{eks}-nodes"},
              "jobRunnerRoleArn": f"arn:aws:iam::{acct}:role/{eks}-job-runner",
              "health": _health(CHECKED_AT), "lastHealthStatus": "healthy",
              "lastHealthMessage": "2/2 nodes ready, 6/6 system pods ready", "lastHealthCheckAt": CHECKED_AT,
              "kubeconfigSecretRef": {"name": f"{name}-kubeconfig"},
              "conditions": [_condition("Ready", "True", "Active"), _condition("Provisioned", "True", "Succeeded"),
                             _condition("Healthy", "True", "Healthy", "2/2 nodes ready")]}
    return body, status


def cluster_record(i: int, a: argparse.Namespace, id_: str, pc_id: str, pc_uid: str, pc: dict[str, Any],
                   connection_ids: list[str], network_ids: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Cluster the operator keeps beside a ProvisionedCluster (`infra_targets.ClusterTarget.after`)."""
    spec = pc["spec"]
    n = i % a.networks
    body = {"apiVersion": kinds.API_VERSION, "kind": "Cluster", "metadata": {
        **_meta(pc["metadata"]["name"], id_, i), "ownerReferences": [{
            "apiVersion": kinds.API_VERSION, "kind": "ProvisionedCluster", "name": pc["metadata"]["name"],
            "uid": pc_uid, "controller": True, "blockOwnerDeletion": False}]},
        "spec": {"displayName": spec["displayName"], "region": spec["region"], "access": spec["access"],
                 "provisionedClusterRef": {"name": pc["metadata"]["name"]}}}
    status = {"id": id_, "externalClusterId": pc_id, "connectionId": connection_ids[n % a.connections],
              "networkId": network_ids[n], "externalStatus": "active", "kubernetesVersion": "1.34",
              "observedGeneration": 1, "health": _health(CHECKED_AT), "lastHealthStatus": "healthy",
              "lastHealthMessage": "2/2 nodes ready, 6/6 system pods ready", "lastHealthCheckAt": CHECKED_AT,
              "conditions": [_condition("Ready", "True", "Healthy")]}
    return body, status


# -- processes -----------------------------------------------------------------------------------------

def pin(pid: int, cpus: set[int]) -> int:
    """Set the CPU affinity of every thread of `pid` (sched_setaffinity(pid) alone moves one thread)."""
    count = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
            count += 1
        except OSError:
            pass  # a thread that just exited
    return count


def rss(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) in KiB."""
    out = {}
    for line in (read_text(f"/proc/{pid}/status") or "").splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def speed_index(cpu: int | None) -> float:
    """Milliseconds (CPU time, best of 5) of a fixed pure-Python workload like the API's (JSON, dicts,
    bytes joins) on `cpu`: how fast this machine's Python is right now. Shared machines drift by tens
    of percent between runs; compare runs by this before comparing their requests/s."""
    before = os.sched_getaffinity(0)
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    try:
        data = {"items": [{"id": f"{i:010d}", "name": f"cluster {i}", "tags": list(range(10))} for i in range(200)]}
        best = float("inf")
        for _ in range(5):
            t0 = time.process_time()
            for _ in range(20):
                encoded = json.dumps(data).encode()
                json.loads(encoded)
                b",".join([encoded] * 10)
                table = {}
                for i in range(2000):
                    table[(str(i), i)] = i
            best = min(best, time.process_time() - t0)
        return best * 1000
    finally:
        os.sched_setaffinity(0, before)


def build_loadgen() -> pathlib.Path:
    """`go build` the load generator into the cache (once per source version); never into the repo."""
    digest = hashlib.sha256()
    for path in sorted(LOADGEN_SOURCE.iterdir()):
        if path.suffix in (".go", ".mod"):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    binary = CACHE / f"loadgen-{digest.hexdigest()[:12]}"
    if binary.exists():
        return binary
    go = shutil.which("go")
    if go is None:
        raise BenchError("the load generator needs Go (`go` on PATH) to build hack/bench/loadgen")
    CACHE.mkdir(parents=True, exist_ok=True)
    log(f"building the load generator into {binary}")
    tmp = binary.with_suffix(".tmp")
    proc = subprocess.run([go, "build", "-trimpath", "-o", str(tmp), "."], cwd=LOADGEN_SOURCE,
                          capture_output=True, text=True, env={**os.environ, "CGO_ENABLED": "0"})
    if proc.returncode != 0:
        raise BenchError(f"go build of the load generator failed: {proc.stderr.strip()[-2000:]}")
    tmp.rename(binary)
    return binary


class Http:
    """Small GETs with a bearer token (walking pages, waiting for the API)."""

    def __init__(self, token: str, ca_file: str | None = None) -> None:
        self.token = token
        self.context = ssl.create_default_context(cafile=ca_file) if ca_file else None

    def get(self, url: str, timeout: float = 60) -> dict[str, Any]:
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.token}",
                                                   "Accept": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout, context=self.context) as resp:
            return json.loads(resp.read())


# -- the benchmark -------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args: argparse.Namespace, state_dir: pathlib.Path) -> None:
        self.args = args
        self.state_dir = state_dir
        self.report = Report()
        self.env: environment.Environment | None = None
        self.deadline = Deadline(args.timeout or (300 + 0.05 * args.clusters + 12 * (args.duration + args.warmup)))
        self.rows: list[dict[str, Any]] = []

    # -- setup ------------------------------------------------------------------------------------------

    def run(self) -> None:
        a, r = self.args, self.report
        for name in ("clusters", "connections", "networks", "teams", "member_teams", "deep", "concurrency",
                     "duration", "warmup", "load_threads"):
            r.line(f"settings.{name}", getattr(a, name))
        r.line("settings.pin", "API, kube-apiserver, etcd on CPU 0; load generator on CPU 1" if a.pin else "off")
        report_machine(r)
        if (os.cpu_count() or 1) < 2 and a.pin:
            raise BenchError("pinning needs 2 CPUs (server on 0, client on 1); use --no-pin")
        r.line("state_dir", str(self.state_dir))
        self.loadgen = build_loadgen()

        t0 = time.monotonic()
        log("starting the local environment (apiserver, etcd, moto, CRDs; no operator)")
        self.env = env = environment.Environment(self.state_dir, workload=False)
        env.start(with_operator=False, with_api=False)
        r.line("env.start_time", time.monotonic() - t0, "s")
        self.servers = {p.name: p.pid for p in env.control_plane.started_processes if p.pid}
        self.apiserver_url = self.read_apiserver_url()

        self.tokens = self.users()
        self.load()
        log("starting the API process (it lists everything before /healthz answers 200)")
        t0 = time.monotonic()
        env.start_api(timeout=max(120.0, 0.03 * a.clusters))
        if env.api_server is None or env.api_server.pid is None:
            raise BenchError("the API server did not start")
        r.line("api.start_to_synced", time.monotonic() - t0, "s")
        self.api_pid = env.api_server.pid
        self.wait_for_api()
        after_load = rss(self.api_pid)
        r.line("memory.api.rss_loaded", after_load.get("VmRSS", 0) / 1024, "MiB")
        r.line("memory.api.peak_loading", after_load.get("VmHWM", 0) / 1024, "MiB")
        cpu = a.server_cpu if a.pin else None
        r.line("machine.speed_index_before", speed_index(cpu), "ms (lower is faster)")
        self.measure()
        r.line("machine.speed_index_after", speed_index(cpu), "ms (lower is faster)")
        end = rss(self.api_pid)
        r.line("memory.api.rss_after_measurements", end.get("VmRSS", 0) / 1024, "MiB")
        r.line("memory.api.peak", end.get("VmHWM", 0) / 1024, "MiB")
        objects = a.connections + a.networks + a.teams + 2 * a.clusters
        r.line("memory.api.kib_per_object", end.get("VmRSS", 0) / objects, "KiB (RSS after the measurements / objects)")
        self.summarise(end)

    def read_apiserver_url(self) -> str:
        api = self.env.api  # type: ignore[union-attr]
        return str(api.configuration.host).rstrip("/")

    def users(self) -> dict[str, str]:
        env = self.env
        assert env is not None
        kube_apply.ensure_namespace(env.api, NAMESPACE)
        for name in (VIEWER, MEMBER):
            service_accounts.ensure_service_account(env.api, NAMESPACE, name)
        service_accounts.bind(env.api, NAMESPACE, "fleetyard-viewer", NAMESPACE, VIEWER)
        return {name: service_accounts.token(env.api, NAMESPACE, name, seconds=6 * 3600) for name in (VIEWER, MEMBER)}

    def _client(self) -> kubernetes.client.ApiClient:
        config = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(config_file=str(self.env.kubeconfig),  # type: ignore[union-attr]
                                           client_configuration=config)
        config.connection_pool_maxsize = self.args.load_threads + 4
        return kubernetes.client.ApiClient(config)

    def load(self) -> None:
        a, r = self.args, self.report
        api = self._client()
        custom = kubernetes.client.CustomObjectsApi(api)
        taken: set[str] = set()

        def fresh() -> str:
            id_ = ids.new_id(lambda x: x in taken)
            taken.add(id_)
            return id_

        def put(plural: str, body: dict[str, Any], status: dict[str, Any] | None) -> dict[str, Any]:
            resp = custom.create_namespaced_custom_object(kinds.GROUP, kinds.VERSION, NAMESPACE, plural, body,
                                                          _preload_content=False)
            created = json.loads(resp.data)
            if status is not None:
                custom.patch_namespaced_custom_object_status(
                    kinds.GROUP, kinds.VERSION, NAMESPACE, plural, body["metadata"]["name"], {"status": status},
                    _content_type="application/merge-patch+json", _preload_content=False)
            return created

        connection_ids = [fresh() for _ in range(a.connections)]
        network_ids = [fresh() for _ in range(a.networks)]
        member = service_accounts.username(NAMESPACE, MEMBER)
        t0 = time.monotonic()
        log(f"loading {a.connections} Connections, {a.networks} Networks, {a.teams} Teams, "
            f"{a.clusters} ProvisionedClusters and their Cluster records with {a.load_threads} threads")
        for c, id_ in enumerate(connection_ids):
            put(kinds.CONNECTION.plural, *connection(c, id_))
        for n, id_ in enumerate(network_ids):
            put(kinds.NETWORK.plural, *network(n, a.connections, id_))
        for t in range(a.teams):
            put(kinds.TEAM.plural, team(t, member, a.member_teams), None)
        self.expected_mine = sum(1 for i in range(a.clusters)
                                 if any(int(x.split("-")[1]) < a.member_teams for x in cluster_teams(i, a.teams)))
        progress = {"done": 0}
        lock = threading.Lock()

        def one(i: int) -> None:
            pc_id, record_id = fresh(), fresh()
            body, status = provisioned_cluster(i, a, pc_id, record_id)
            created = put(kinds.PROVISIONED_CLUSTER.plural, body, status)
            record, record_status = cluster_record(i, a, record_id, pc_id, created["metadata"]["uid"], body,
                                                   connection_ids, network_ids)
            put(kinds.CLUSTER.plural, record, record_status)
            with lock:
                progress["done"] += 1
                if progress["done"] % 1000 == 0:
                    log(f"  {progress['done']}/{a.clusters} loaded ({time.monotonic() - t0:.0f} s)")

        with concurrent.futures.ThreadPoolExecutor(a.load_threads) as pool:
            for future in [pool.submit(one, i) for i in range(a.clusters)]:
                future.result()
                self.deadline.check("loading")
        wall = time.monotonic() - t0
        requests = 2 * (a.connections + a.networks) + a.teams + 4 * a.clusters
        r.line("load.objects", a.connections + a.networks + a.teams + 2 * a.clusters)
        r.line("load.requests", requests)
        r.line("load.wall_time", wall, "s")
        r.line("load.requests_per_second", requests / wall, "req/s")
        r.line("load.me_clusters_expected", self.expected_mine)
        api.close()

    def wait_for_api(self) -> None:
        a, r = self.args, self.report
        t0 = time.monotonic()
        viewer, member = Http(self.tokens[VIEWER]), Http(self.tokens[MEMBER])
        base = self.env.api_url  # type: ignore[union-attr]

        def caught_up() -> bool:
            try:
                infra = viewer.get(f"{base}/infra/clusters?limit=0")["total"]
                mine = member.get(f"{base}/me/clusters?limit=0")["total"]
            except OSError:
                return False
            return infra == a.clusters and mine == self.expected_mine

        wait_until(caught_up, self.deadline, "the API to see every cluster", step=0.5)
        r.line("api.caught_up_after_synced", time.monotonic() - t0, "s")

    # -- measuring --------------------------------------------------------------------------------------

    def deep_marker(self) -> str:
        """The API's marker after --deep items, by walking the pages."""
        viewer, base = Http(self.tokens[VIEWER]), self.env.api_url  # type: ignore[union-attr]
        marker, seen = "", 0
        while seen < self.args.deep:
            query = {"limit": 100, **({"marker": marker} if marker else {})}
            page = viewer.get(f"{base}/infra/clusters?{urllib.parse.urlencode(query)}")
            seen += len(page["items"])
            marker = page.get("marker") or ""
            if not marker:
                raise BenchError(f"the API's pages ended after {seen} items")
        return marker

    def deep_continue(self) -> str:
        """The apiserver's continue token after --deep items (it expires with etcd's compaction: ~5 min)."""
        viewer = Http(self.tokens[VIEWER], self.env.control_plane.ca_file)  # type: ignore[union-attr]
        url = f"{self.apiserver_url}/apis/{kinds.GROUP}/{kinds.VERSION}/namespaces/{NAMESPACE}/provisionedclusters"
        token, seen = "", 0
        while seen < self.args.deep:
            query = {"limit": 100, **({"continue": token} if token else {})}
            page = viewer.get(f"{url}?{urllib.parse.urlencode(query)}")
            seen += len(page["items"])
            token = page["metadata"].get("continue") or ""
            if not token:
                raise BenchError(f"the apiserver's pages ended after {seen} items")
        return token

    def server_cpu(self, side: str) -> float:
        pids = [self.api_pid] if side == "api" else list(self.servers.values())
        return sum(cpu_seconds(p) or 0.0 for p in pids)

    def ours_cpu(self) -> float:
        """CPU seconds of everything this benchmark started (and itself, and its reaped load generators)."""
        env = self.env
        assert env is not None
        pids = [self.api_pid, *self.servers.values(), os.getpid()]
        if env.moto.process is not None and env.moto.process.pid:
            pids.append(env.moto.process.pid)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return sum(cpu_seconds(p) or 0.0 for p in pids) + children.ru_utime + children.ru_stime

    def loadgen_run(self, url: str, concurrency: int, side: str, token: str) -> dict[str, Any]:
        a = self.args
        argv = [str(self.loadgen), "-url", url, "-c", str(concurrency), "-d", f"{a.duration}s",
                "-warmup", f"{a.warmup}s"]
        if url.startswith("https://"):
            argv += ["-cacert", str(self.env.control_plane.ca_file)]  # type: ignore[union-attr]
        env = {**os.environ, "LOADGEN_TOKEN": token, "GOMAXPROCS": "1" if a.pin else str(os.cpu_count() or 1)}
        preexec = (lambda: os.sched_setaffinity(0, {a.client_cpu})) if a.pin else None
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=preexec)
        time.sleep(a.warmup)  # CPU over the measured part (roughly: the load generator keeps its own time)
        ours0 = self.ours_cpu() + (cpu_seconds(proc.pid) or 0.0)  # the running load generator: reaped later
        cpu0, machine0, t0 = self.server_cpu(side), machine_cpu(), time.monotonic()
        try:
            out, err = proc.communicate(timeout=a.duration + a.warmup + 60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise BenchError(f"the load generator did not finish ({url})") from None
        cpu1, machine1, wall = self.server_cpu(side), machine_cpu(), time.monotonic() - t0
        ours1 = self.ours_cpu()
        if proc.returncode != 0:
            raise BenchError(f"the load generator failed ({url}): {err.decode()[-1000:]}")
        result = json.loads(out)
        result["server_cpu"] = cpu1 - cpu0
        result["server_cpu_share"] = (cpu1 - cpu0) / wall if wall else None
        total = machine1[1] - machine0[1]
        result["machine_busy_share"] = (machine1[0] - machine0[0]) / total if total > 0 else None
        # CPU used by processes this benchmark did not start (the load generator's warm-up is in `ours`)
        others = max(0.0, (machine1[0] - machine0[0]) - (ours1 - ours0))
        result["not_ours_share"] = others / total if total > 0 else None
        return result

    def measure(self) -> None:
        a, r = self.args, self.report
        env = self.env
        assert env is not None
        if a.pin:
            threads = pin(self.api_pid, {a.server_cpu})
            for name, pid in self.servers.items():
                threads += pin(pid, {a.server_cpu})
            os.sched_setaffinity(0, {a.client_cpu})  # this process waits on the load generator: out of the way
            r.line("pin.threads_pinned", threads)
        base = env.api_url
        kube = f"{self.apiserver_url}/apis/{kinds.GROUP}/{kinds.VERSION}/namespaces/{NAMESPACE}"
        log(f"walking the API's pages to the marker after {a.deep} items")
        marker = self.deep_marker()
        api_cases = [
            ("api.infra_first", "API GET /infra/clusters?limit=100", f"{base}/infra/clusters?limit=100", VIEWER),
            ("api.infra_deep", f"API  ... &marker=<after {a.deep}>",
             f"{base}/infra/clusters?limit=100&marker={urllib.parse.quote(marker)}", VIEWER),
            ("api.me", f"API GET /me/clusters ({self.expected_mine} visible)", f"{base}/me/clusters?limit=100", MEMBER),
        ]
        kube_cases = [
            ("apiserver.pc_first", "apiserver LIST provisionedclusters limit=100",
             f"{kube}/provisionedclusters?limit=100", VIEWER),
            ("apiserver.pc_deep", f"apiserver  ... &continue=<after {a.deep}>", None, VIEWER),
            ("apiserver.clusters_first", "apiserver LIST clusters limit=100", f"{kube}/clusters?limit=100", VIEWER),
        ]
        for side, cases in (("api", api_cases), ("apiserver", kube_cases)):
            for key, label, url, user in cases:
                if url is None:
                    log(f"walking the apiserver's pages to the continue token after {a.deep} items")
                    url = f"{kube}/provisionedclusters?limit=100&continue={urllib.parse.quote(self.deep_continue())}"
                for concurrency in (1, a.concurrency):
                    self.deadline.check(f"measuring {key}")
                    log(f"{label}: {concurrency} connection(s), {a.warmup:g} s warm-up + {a.duration:g} s")
                    result = self.loadgen_run(url, concurrency, side, self.tokens[user])
                    name = f"{key}.c{concurrency}"
                    self.record(name, label, side, concurrency, result)

    def record(self, name: str, label: str, side: str, concurrency: int, result: dict[str, Any]) -> None:
        r = self.report
        count = result["count"]
        r.line(f"{name}.requests", count)
        r.line(f"{name}.errors", result["errors"])
        if result["errors"]:
            r.warn(f"{name}: {result['errors']} errors; statuses {result['statuses']}; {result.get('firstError', '')}")
        r.line(f"{name}.rps", result["rps"], "req/s")
        for q in ("p50", "p90", "p99", "max"):
            r.line(f"{name}.{q}", result[q], "ms")
        per = result["bytes"] / count if count else 0
        r.line(f"{name}.bytes_per_response", round(per))
        cpu_ms = 1000 * result["server_cpu"] / count if count else None
        r.line(f"{name}.server_cpu_per_request", cpu_ms, "cpu-ms")
        r.line(f"{name}.server_cpu_share", round(100 * (result["server_cpu_share"] or 0), 1), "% of one core")
        r.line(f"{name}.machine_busy", round(100 * (result["machine_busy_share"] or 0), 1), "%")
        others = result["not_ours_share"] or 0.0
        r.line(f"{name}.not_ours", round(100 * others, 1), "% of the machine")
        if others > 0.1:
            r.warn(f"{name}: other processes used {100 * others:.0f}% of the machine; the figures are disturbed")
        self.rows.append({"name": name, "label": label, "side": side, "c": concurrency, "rps": result["rps"],
                          "p50": result["p50"], "p99": result["p99"], "max": result["max"], "kib": per / 1024,
                          "cpu_ms": cpu_ms, "errors": result["errors"]})

    # -- the summary ------------------------------------------------------------------------------------

    def summarise(self, end_rss: dict[str, int]) -> None:
        a, r = self.args, self.report
        print("", flush=True)
        header = f"{'':48} {'conn':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'KiB/resp':>9} " \
                 f"{'cpu-ms/req':>10}"
        print(header)
        print("-" * len(header))
        for row in self.rows:
            cpu = f"{row['cpu_ms']:.2f}" if row["cpu_ms"] is not None else "n/a"
            print(f"{row['label']:48} {row['c']:>4} {row['rps']:>8.0f} {row['p50']:>8.2f} {row['p99']:>8.2f} "
                  f"{row['max']:>8.2f} {row['kib']:>9.1f} {cpu:>10}")
        speed = (r.data["machine.speed_index_before"], r.data["machine.speed_index_after"])
        print(f"(cpu-ms/req: the API process, or kube-apiserver + etcd; "
              f"API RSS {end_rss.get('VmRSS', 0) / 1024:.0f} MiB, peak {end_rss.get('VmHWM', 0) / 1024:.0f} MiB; "
              f"speed index {speed[0]:.1f} / {speed[1]:.1f} ms before / after)", flush=True)
        rows = {row["name"]: row for row in self.rows}
        verdicts = []
        for api_key, kube_key in (("api.infra_first", "apiserver.pc_first"), ("api.infra_deep", "apiserver.pc_deep"),
                                  ("api.me", "apiserver.clusters_first")):
            for c in (1, a.concurrency):
                mine, theirs = rows.get(f"{api_key}.c{c}"), rows.get(f"{kube_key}.c{c}")
                if mine is None or theirs is None:
                    continue
                ok = mine["p99"] <= theirs["p99"]
                verdicts.append(ok)
                r.line(f"target.p99.{api_key}.c{c}", "ok" if ok else "MISSED",
                       f"({mine['p99']:.2f} ms vs the apiserver's {theirs['p99']:.2f} ms)")
            row = rows.get(f"{api_key}.c{a.concurrency}")
            if row is not None:
                ok = row["rps"] >= a.target_rps
                verdicts.append(ok)
                r.line(f"target.rps.{api_key}", "ok" if ok else "MISSED",
                       f"({row['rps']:.0f} req/s on one core at {a.concurrency} connections; target {a.target_rps})")
        per_object = r.data["memory.api.kib_per_object"]
        ok = per_object <= a.target_kib_per_object
        verdicts.append(ok)
        r.line("target.api_kib_per_object", "ok" if ok else "MISSED",
               f"({per_object:.1f} KiB of API RSS per object served; target {a.target_kib_per_object:g})")
        r.line("target.all", "ok" if verdicts and all(verdicts) else "MISSED")

    def stop(self) -> None:
        try:
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        except OSError:
            pass
        stop_environment(self.env)
        if self.args.details:
            pathlib.Path(self.args.details).write_text(json.dumps({"report": self.report.data, "rows": self.rows},
                                                                  indent=1, default=str))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("-n", "--clusters", type=int, default=10_000, help="ProvisionedClusters (and Cluster records)")
    p.add_argument("--connections", type=int, default=10, help="Connections the clusters are spread over")
    p.add_argument("--networks", type=int, default=20, help="Networks the clusters are spread over")
    p.add_argument("--teams", type=int, default=50, help="Teams named by the clusters' access.teams")
    p.add_argument("--member-teams", type=int, default=2, help="Teams the /me caller belongs to")
    p.add_argument("--deep", type=int, default=9000, help="items before the deep marker / continue token")
    p.add_argument("-c", "--concurrency", type=int, default=8, help="connections of the throughput runs")
    p.add_argument("-d", "--duration", type=float, default=10.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each run")
    p.add_argument("--load-threads", type=int, default=12, help="threads creating the objects")
    p.add_argument("--target-rps", type=float, default=2000.0, help="requests/s the API should reach on one core")
    p.add_argument("--target-kib-per-object", type=float, default=15.0,
                   help="KiB of API RSS (after the measurements) per object served, at most")
    p.add_argument("--no-pin", dest="pin", action="store_false",
                   help="do not pin the servers and the load generator to CPUs")
    p.add_argument("--server-cpu", type=int, default=0, help="CPU of the API, kube-apiserver and etcd")
    p.add_argument("--client-cpu", type=int, default=1, help="CPU of the load generator")
    p.add_argument("--timeout", type=float, default=None,
                   help="overall limit (s); default 300 + 0.05 s per cluster + 12 x (duration + warm-up)")
    p.add_argument("--state-dir", type=pathlib.Path,
                   help="where the environment keeps its state and logs (default: a temp dir, removed after a "
                        "successful run unless --keep-state)")
    p.add_argument("--keep-state", action="store_true", help="keep the temp state dir")
    p.add_argument("--details", metavar="FILE", help="also write the report and the table's rows as JSON")
    args = p.parse_args(argv)
    if min(args.clusters, args.connections, args.networks, args.teams, args.concurrency, args.load_threads) < 1:
        p.error("counts must be positive")
    if args.networks < args.connections:
        p.error("--networks must be at least --connections (every Connection gets Networks)")
    if args.deep >= args.clusters or args.deep % 100:
        p.error("--deep must be a multiple of 100 below --clusters")
    if not 0 <= args.member_teams <= args.teams:
        p.error("--member-teams must be between 0 and --teams")
    return args


def main(argv: list[str] | None = None) -> int:
    return run_main(parse_args(argv), Bench, prefix="fleetyard-api-reads-")


if __name__ == "__main__":
    sys.exit(main())
