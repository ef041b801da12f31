"""The test bed's stand-in for EKS's aws-iam-authenticator: a Kubernetes token webhook.

`EksAuthenticator` serves the TokenReview webhook (`POST /authenticate`, `authentication.k8s.io/v1`)
over HTTPS on 127.0.0.1, from a thread of the calling process, with its own throwaway CA. The
workload cluster's kube-apiserver calls it (`--authentication-token-webhook-config-file`, the
kubeconfig `write_webhook_kubeconfig` writes). A token is verified the way aws-iam-authenticator
does it (see `fleetyard.cloud.eks_token` for how one is made):

- `k8s-aws-v1.` + unpadded base64url of a presigned STS GetCallerIdentity URL (at most 4 KiB);
- the URL's scheme and host are the configured STS endpoint (moto: `AWS_ENDPOINT_URL`), its path
  `/`; its query holds `Action=GetCallerIdentity`, only the parameters such a URL has, none twice;
- `X-Amz-SignedHeaders` includes `x-k8s-aws-id` and `X-Amz-Date` is at most 15 minutes old;
- the URL is called (GET) with `x-k8s-aws-id: <cluster name>`. The name is a signed header whose
  value the URL does not carry, so the authenticator must know it: it tries the names it is given
  (a fixed set and/or a callable, e.g. the clusters the fake `aws` plugin created), the one that
  last worked for the token's access key first, until STS stops answering SignatureDoesNotMatch;
- the GetCallerIdentity answer (XML: Arn, Account, UserId) gives the user: an assumed-role ARN
  `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION` becomes the username `arn:aws:iam::ACCT:role/ROLE`
  (aws-iam-authenticator's canonical ARN; role paths are not in an assumed-role ARN), an IAM user
  ARN stays as it is; uid `aws-iam-authenticator:ACCT:USERID`, group `system:authenticated`,
  extra `accessKeyId`, `arn`, `canonicalArn`, `principalId`, `sessionName` and `x-k8s-aws-id`
  (the cluster name). Any other principal, and every failed check, is `authenticated: false`
  with an error naming the reason (logged to `<state_dir>/eks-authenticator.log` too);
- then, if an `access` hook is given (`workload_cluster`: the cluster's EKS access entries,
  `eks_access`), it turns that identity into the one the cluster knows (username and groups of the
  principal's access entry) or refuses it (`Refused`: no entry), as EKS does. Without one, every
  principal STS vouches for is authenticated under its canonical ARN, as aws-iam-authenticator
  with a catch-all mapping would.

With moto's IAM access control off, moto checks no signature, so the first name tried passes.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import http.server
import json
import pathlib
import ssl
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import Any

import yaml

from fleetyard.devenv import certs, processes

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_HEADER = "x-k8s-aws-id"
MAX_TOKEN_BYTES = 4 * 1024
MAX_AGE = datetime.timedelta(minutes=15)
PATH = "/authenticate"
GROUPS = ("system:authenticated",)
_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_ALLOWED_PARAMS = frozenset({
    "action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires",
    "x-amz-security-token", "x-amz-signature", "x-amz-signedheaders"})
_STS_TIMEOUT = 5.0

ClusterNames = Iterable[str] | Callable[[], Iterable[str]]


class Refused(Exception):
    """A token that does not authenticate; the message is the TokenReview's `status.error`."""


Access = Callable[[str, "Identity"], "Identity"]
"""(cluster name, identity STS vouched for) -> the identity the cluster knows; raises Refused."""


@dataclasses.dataclass(frozen=True)
class Identity:
    """Who a token belongs to, as the TokenReview reports it."""

    username: str
    uid: str
    groups: tuple[str, ...]
    extra: dict[str, list[str]]
    region: str = ""  # the token's signing region (not part of the TokenReview)

    def user_info(self) -> dict[str, Any]:
        return {"username": self.username, "uid": self.uid, "groups": list(self.groups),
                "extra": self.extra}


def canonical_arn(arn: str) -> str:
    """aws-iam-authenticator's canonical form: an assumed role as its role, an IAM user as is."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise Refused(f"STS answered an ARN that is not one: {arn!r}")
    _, partition, service, _, account, resource = parts
    kind, _, rest = resource.partition("/")
    if service == "sts" and kind == "assumed-role" and rest.count("/") == 1:
        return f"arn:{partition}:iam::{account}:role/{rest.split('/')[0]}"
    if service == "iam" and kind == "user" and rest:
        return arn
    raise Refused(f"principal {arn} is neither an assumed role nor an IAM user")


class EksAuthenticator(processes.Service):
    """The TokenReview webhook server; see the module docstring."""

    def __init__(self, state_dir: pathlib.Path, sts_endpoint: str | Callable[[], str],
                 cluster_names: ClusterNames = (), max_age: datetime.timedelta = MAX_AGE,
                 access: Access | None = None) -> None:
        """`sts_endpoint` and a callable `cluster_names` are read at each review; `access` stands in
        for the cluster's access entries (see the module docstring)."""
        self.state_dir = pathlib.Path(state_dir).resolve()
        self.access = access
        self._sts_endpoint = sts_endpoint
        self._names: set[str] = set()
        self._names_source: Callable[[], Iterable[str]] | None = None
        if callable(cluster_names):
            self._names_source = cluster_names
        else:
            self._names.update(cluster_names)
        self.max_age = max_age
        self._last_name: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the EKS authenticator is not started")
        return f"https://127.0.0.1:{self._server.server_address[1]}{PATH}"

    @property
    def ca_file(self) -> pathlib.Path:
        return self.state_dir / "ca.crt"

    @property
    def log_file(self) -> pathlib.Path:
        return self.state_dir / "eks-authenticator.log"

    @property
    def sts_endpoint(self) -> str:
        return self._sts_endpoint() if callable(self._sts_endpoint) else self._sts_endpoint

    def allow_cluster(self, name: str) -> None:
        """Accept tokens made for cluster `name` (besides those of the `cluster_names` callable)."""
        with self._lock:
            self._names.add(name)

    def cluster_names(self) -> list[str]:
        with self._lock:
            names = set(self._names)
        if self._names_source is not None:
            names.update(self._names_source())
        return sorted(names)

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the EKS authenticator is already running")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        ca = certs.ca("fleetyard-eks-authenticator-ca")
        certs.write_cert_key(self.state_dir, "ca", ca)
        cert_file, key_file = certs.write_cert_key(self.state_dir, "serving", certs.serving_cert(ca))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self.log_file.write_text("")
        server = _Server(("127.0.0.1", 0), self, context)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="eks-authenticator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def log(self, message: str) -> None:
        stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
        with self._lock, open(self.log_file, "a") as f:
            f.write(f"{stamp} {message}\n")

    def write_webhook_kubeconfig(self, path: pathlib.Path) -> pathlib.Path:
        """The `--authentication-token-webhook-config-file` for a kube-apiserver."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "eks-authenticator", "cluster": {
                "server": self.url,
                "certificate-authority-data": base64.b64encode(self.ca_file.read_bytes()).decode()}}],
            "users": [{"name": "kube-apiserver", "user": {}}],
            "contexts": [{"name": "webhook", "context": {"cluster": "eks-authenticator",
                                                         "user": "kube-apiserver"}}],
            "current-context": "webhook",
        }
        return certs.write_pem(path, yaml.safe_dump(config, sort_keys=False).encode(), private=False)

    def review(self, token_review: dict[str, Any]) -> dict[str, Any]:
        """Answer a TokenReview (the webhook's body) with its status filled in."""
        token = str(((token_review.get("spec") or {}).get("token")) or "")
        try:
            identity = self.authenticate(token)
        except Refused as exc:
            self.log(f"refused: {exc}")
            status: dict[str, Any] = {"authenticated": False, "error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a bug here must still answer the apiserver
            self.log(f"failed: {exc!r}")
            status = {"authenticated": False, "error": f"the authenticator failed: {exc!r}"}
        else:
            self.log(f"authenticated {identity.username} ({identity.extra['arn'][0]}, "
                     f"cluster {identity.extra[CLUSTER_HEADER][0]}, groups {', '.join(identity.groups)})")
            status = {"authenticated": True, "user": identity.user_info()}
        return {"apiVersion": token_review.get("apiVersion") or "authentication.k8s.io/v1",
                "kind": "TokenReview", "status": status}

    def authenticate(self, token: str, now: datetime.datetime | None = None) -> Identity:
        """The identity behind an EKS token; `Refused` says why there is none."""
        url, params = self._check_url(self._decode(token))
        self._check_date(params["x-amz-date"], now or datetime.datetime.now(datetime.timezone.utc))
        scope = params["x-amz-credential"].split("/")
        access_key = scope[0]
        cluster, answer = self._call_sts(url, access_key)
        identity = self._identity(answer, access_key, cluster, scope[2] if len(scope) > 2 else "")
        return identity if self.access is None else self.access(cluster, identity)

    @staticmethod
    def _decode(token: str) -> str:
        if len(token) > MAX_TOKEN_BYTES:
            raise Refused(f"token is longer than {MAX_TOKEN_BYTES} bytes")
        if not token.startswith(TOKEN_PREFIX):
            raise Refused(f"token does not start with {TOKEN_PREFIX!r}")
        body = token[len(TOKEN_PREFIX):]
        try:
            return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        except (binascii.Error, ValueError) as exc:
            raise Refused(f"token is not base64url: {exc}") from None

    def _check_url(self, url: str) -> tuple[str, dict[str, str]]:
        parsed = urllib.parse.urlsplit(url)
        sts = urllib.parse.urlsplit(self.sts_endpoint)
        if (parsed.scheme, parsed.netloc) != (sts.scheme, sts.netloc):
            raise Refused(f"token's URL is not on the STS endpoint {sts.scheme}://{sts.netloc}: "
                          f"{parsed.scheme}://{parsed.netloc}")
        if parsed.path not in ("", "/") or parsed.fragment:
            raise Refused(f"token's URL has an unexpected path {parsed.path!r}")
        params: dict[str, str] = {}
        for key, value in urllib.parse.parse_qsl(parsed.query, keep_blank_values=True):
            name = key.lower()
            if name not in _ALLOWED_PARAMS:
                raise Refused(f"token's URL has an unexpected parameter {key!r}")
            if name in params:
                raise Refused(f"token's URL repeats the parameter {key!r}")
            params[name] = value
        if params.get("action") != "GetCallerIdentity":
            raise Refused(f"token's URL is not GetCallerIdentity: Action={params.get('action')!r}")
        missing = [p for p in ("x-amz-credential", "x-amz-date", "x-amz-signature",
                               "x-amz-signedheaders") if not params.get(p)]
        if missing:
            raise Refused(f"token's URL is not presigned (missing {', '.join(missing)})")
        if CLUSTER_HEADER not in params["x-amz-signedheaders"].lower().split(";"):
            raise Refused(f"token's URL does not sign the {CLUSTER_HEADER} header")
        return url, params

    def _check_date(self, value: str, now: datetime.datetime) -> None:
        try:
            signed = datetime.datetime.strptime(value, _DATE_FORMAT).replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            raise Refused(f"token's X-Amz-Date {value!r} is not a date") from None
        if now - signed > self.max_age:
            raise Refused(f"token expired: signed at {signed.isoformat()}, "
                          f"{int(self.max_age.total_seconds() // 60)} minutes before is the limit")

    def _call_sts(self, url: str, access_key: str) -> tuple[str, bytes]:
        """(the cluster name STS accepted, its answer)."""
        names = self.cluster_names()
        with self._lock:
            last = self._last_name.get(access_key)
        if last in names:
            names.remove(last)
            names.insert(0, last)
        if not names:
            raise Refused("no EKS cluster names are configured for this authenticator")
        for name in names:
            request = urllib.request.Request(url, headers={CLUSTER_HEADER: name}, method="GET")
            try:
                with urllib.request.urlopen(request, timeout=_STS_TIMEOUT) as response:
                    answer = response.read()
            except urllib.error.HTTPError as exc:
                code = _error_code(exc.read())
                if code == "SignatureDoesNotMatch":
                    continue
                raise Refused(f"STS refused the token: HTTP {exc.code} {code}") from None
            except OSError as exc:
                raise Refused(f"STS could not be reached: {exc}") from None
            with self._lock:
                self._last_name[access_key] = name
            return name, answer
        raise Refused(f"STS refused the token for every cluster name tried ({', '.join(names)}): "
                      f"SignatureDoesNotMatch")

    @staticmethod
    def _identity(answer: bytes, access_key: str, cluster: str, region: str) -> Identity:
        try:
            root = ET.fromstring(answer)
        except ET.ParseError as exc:
            raise Refused(f"STS answered something that is not XML: {exc}") from None
        fields = {el.tag.rpartition("}")[2]: (el.text or "") for el in root.iter()}
        arn, account, user_id = fields.get("Arn"), fields.get("Account"), fields.get("UserId")
        if not (arn and account and user_id):
            raise Refused("STS's GetCallerIdentity answer lacks Arn, Account or UserId")
        canonical = canonical_arn(arn)
        extra = {"accessKeyId": [access_key], "arn": [arn], "canonicalArn": [canonical],
                 "principalId": [user_id], CLUSTER_HEADER: [cluster]}
        if ":assumed-role/" in arn:
            extra["sessionName"] = [arn.rsplit("/", 1)[1]]
        return Identity(canonical, f"aws-iam-authenticator:{account}:{user_id}", GROUPS, extra, region)


def _error_code(body: bytes) -> str:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return "(no error code)"
    code = next((el.text for el in root.iter() if el.tag.rpartition("}")[2] == "Code"), None)
    return code or "(no error code)"


class _Server(http.server.ThreadingHTTPServer):
    """TLS per connection, in the connection's own thread (a handshake never holds up accept)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], authenticator: EksAuthenticator,
                 context: ssl.SSLContext) -> None:
        self.authenticator = authenticator
        self.context = context
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self.context.wrap_socket(request, server_side=True) as tls:
            super().finish_request(tls, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.authenticator.log(f"connection from {client_address} failed: {sys.exc_info()[1]!r}")


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        if urllib.parse.urlsplit(self.path).path != PATH:
            self._send(404, {"error": f"not found: {self.path}"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            review = json.loads(self.rfile.read(length))
            if not isinstance(review, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            self._send(400, {"error": f"not a TokenReview: {exc}"})
            return
        self._send(200, self.server.authenticator.review(review))

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass
