"""A test-only Pulumi resource provider plugin named `aws` (version 7.51.1), backed by moto.

The real `pulumi-resource-aws` (a terraform bridge binary) is not available offline, so this
plugin serves the pulumi_aws types the fleetyard programs use with pulumi_aws's type tokens and
camelCase properties, calling AWS through boto3 (moto's server in tests): EC2 (`fake_aws_ec2`,
`fake_aws_ec2_routes`),
IAM (`fake_aws_iam`), EKS (`fake_aws_eks`, `fake_aws_eks_access`) and a few invokes
(`fake_aws_invokes`). The engine starts it as `pulumi-resource-aws` from PATH (the launcher next
to this file) once per provider resource.

Plugin-side state: where moto lacks an API (EKS cluster/node group version updates, addons,
access entries, access policy associations, a cluster's accessConfig) the plugin keeps that state
itself in a JSON file, `$FLEETYARD_FAKE_AWS_STATE` or by default a file under the system temp dir
keyed by the EKS endpoint URL, guarded by `fcntl.flock` since several plugin processes may run at
once. It is keyed by region + cluster name, Read merges it over moto's answer, and a cluster's
entries go when the cluster is deleted. `fake_aws_state.load(path)` reads it in tests.

Env read: AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> (unless the provider's `endpoints` config
names one), AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (the ambient
credentials, unless `accessKey`/`secretKey` are configured), AWS_REGION / AWS_DEFAULT_REGION
(fallback region), FLEETYARD_FAKE_AWS_STATE, FLEETYARD_FAKE_EKS_ENDPOINT / FLEETYARD_FAKE_EKS_CA_DATA
(the API server every EKS cluster reports, `fake_aws_eks`), and for benchmarks FLEETYARD_FAKE_AWS_TRACE /
FLEETYARD_FAKE_AWS_LATENCY (opt-in per-call trace and emulated latency, `fake_aws_trace`).

Protocol notes: Configure answers acceptSecrets=False (the engine strips secrets from what it
sends and marks outputs secret from secret inputs itself), acceptOutputs/acceptResources=False, and
supportsPreview=True, so Create/Update also run during previews with preview=True; they then plan
outputs (inputs plus unknowns) without calling AWS. Diff compares new inputs with old outputs and
answers the replacements (never delete-before-replace: Pulumi creates the replacement first).
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import botocore.exceptions  # noqa: E402
from pulumi.provider.experimental import provider as p  # noqa: E402
from pulumi.provider.experimental.server import main  # noqa: E402

import fake_aws_ec2  # noqa: E402
import fake_aws_ec2_routes  # noqa: E402
import fake_aws_eks  # noqa: E402
import fake_aws_eks_access  # noqa: E402
import fake_aws_iam  # noqa: E402
import fake_aws_state  # noqa: E402
import fake_aws_trace  # noqa: E402
from fake_aws_base import Context, Handler  # noqa: E402
from fake_aws_config import Clients, ProviderConfig  # noqa: E402
from fake_aws_invokes import INVOKES  # noqa: E402
from fake_aws_values import from_plain_map, same, to_plain_map  # noqa: E402

NAME = "aws"
VERSION = "7.51.1"

HANDLERS: dict[str, Handler] = {
    h.token: h
    for h in (*fake_aws_ec2.HANDLERS, *fake_aws_ec2_routes.HANDLERS, *fake_aws_iam.HANDLERS,
              *fake_aws_eks.HANDLERS, *fake_aws_eks_access.HANDLERS)
}

T = TypeVar("T")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code')}: {error.get('Message')}"
    return f"{type(exc).__name__}: {exc}"


class FakeAwsProvider(p.Provider):
    """The `aws` provider: dispatches each request to the handler of its type token."""

    def __init__(self) -> None:
        self._ctx: Context | None = None

    # -- configuration -------------------------------------------------------------------
    async def configure(self, request: p.ConfigureRequest) -> p.ConfigureResponse:
        config = ProviderConfig.parse(to_plain_map(request.args), request.variables)
        state_path = fake_aws_state.default_path(config.state_key_endpoint())
        self._ctx = Context(clients=Clients(config), state_path=pathlib.Path(state_path))
        return p.ConfigureResponse(accept_secrets=False, supports_preview=True,
                                   accept_resources=False, accept_outputs=False)

    async def diff_config(self, request: p.DiffRequest) -> p.DiffResponse:
        olds, news = to_plain_map(request.old_state), to_plain_map(request.new_inputs)
        keys = sorted(k for k in set(olds) | set(news) if not same(olds.get(k), news.get(k)))
        return p.DiffResponse(changes=bool(keys), diffs=keys)

    @property
    def ctx(self) -> Context:
        if self._ctx is None:
            raise RuntimeError("the aws provider was not configured")
        return self._ctx

    @staticmethod
    def _handler(token: str) -> Handler:
        handler = HANDLERS.get(token)
        if handler is None:
            raise NotImplementedError(f"the fake aws plugin does not implement {token}")
        return handler

    async def _run(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(fn)
        except Exception as exc:
            print(f"[fake-aws] {what} failed:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
            raise RuntimeError(f"{what}: {_describe(exc)}") from exc

    # -- functions -----------------------------------------------------------------------
    async def invoke(self, request: p.InvokeRequest) -> p.InvokeResponse:
        fn = INVOKES.get(request.tok)
        if fn is None:
            raise NotImplementedError(f"the fake aws plugin does not implement {request.tok}")
        args = to_plain_map(request.args)
        result = await self._run(request.tok, lambda: fn(self.ctx, args))
        return p.InvokeResponse(return_value=from_plain_map(result))

    # -- resources -----------------------------------------------------------------------
    async def check(self, request: p.CheckRequest) -> p.CheckResponse:
        handler = self._handler(request.type)
        fake_aws_trace.note_urn(request.urn)
        inputs, failures = handler.check(request.name, to_plain_map(request.old_inputs),
                                         to_plain_map(request.new_inputs), request.random_seed)
        return p.CheckResponse(inputs=from_plain_map(inputs),
                               failures=[p.CheckFailure(k, why) for k, why in failures] or None)

    async def diff(self, request: p.DiffRequest) -> p.DiffResponse:
        handler = self._handler(request.type)
        fake_aws_trace.note_urn(request.urn)
        result = handler.diff(to_plain_map(request.old_state), to_plain_map(request.new_inputs))
        detailed = {
            path: p.PropertyDiff(
                p.PropertyDiffKind.UPDATE_REPLACE if replace else p.PropertyDiffKind.UPDATE, True)
            for path, replace in result.detailed.items()
        }
        return p.DiffResponse(changes=bool(result.changed), replaces=result.replaces,
                              diffs=result.changed, detailed_diff=detailed,
                              delete_before_replace=False)

    async def create(self, request: p.CreateRequest) -> p.CreateResponse:
        handler = self._handler(request.type)
        fake_aws_trace.note_urn(request.urn)
        inputs = to_plain_map(request.properties)
        if request.preview:
            return p.CreateResponse(resource_id="",
                                    properties=from_plain_map(handler.preview_create(self.ctx, inputs)))
        rid, outputs = await self._run(f"creating {request.type} {request.name}",
                                       lambda: handler.create(self.ctx, inputs))
        return p.CreateResponse(resource_id=rid, properties=from_plain_map(outputs))

    async def read(self, request: p.ReadRequest) -> p.ReadResponse:
        handler = self._handler(request.type)
        fake_aws_trace.note_urn(request.urn)
        state: dict[str, Any] = {**to_plain_map(request.inputs), **to_plain_map(request.properties)}
        outputs = await self._run(f"reading {request.type} {request.resource_id}",
                                  lambda: handler.read(self.ctx, request.resource_id, state))
        if outputs is None:
            return p.ReadResponse(resource_id="")
        inputs = request.inputs or from_plain_map(
            {k: v for k, v in outputs.items() if k in handler.inputs and v is not None})
        return p.ReadResponse(resource_id=request.resource_id, properties=from_plain_map(outputs),
                              inputs=dict(inputs))

    async def update(self, request: p.UpdateRequest) -> p.UpdateResponse:
        handler = self._handler(request.type)
        fake_aws_trace.note_urn(request.urn)
        olds, news = to_plain_map(request.olds), to_plain_map(request.news)
        if request.preview:
            return p.UpdateResponse(properties=from_plain_map(handler.preview_update(self.ctx, olds, news)))
        outputs = await self._run(f"updating {request.type} {request.resource_id}",
                                  lambda: handler.update(self.ctx, request.resource_id, olds, news))
        return p.UpdateResponse(properties=from_plain_map(outputs))

    async def delete(self, request: p.DeleteRequest) -> None:
        handler = self._handler(request.type)
        fake_aws_trace.note_urn(request.urn)
        state = to_plain_map(request.properties)
        await self._run(f"deleting {request.type} {request.resource_id}",
                        lambda: handler.delete(self.ctx, request.resource_id, state))


if __name__ == "__main__":
    main(sys.argv[1:], VERSION, FakeAwsProvider())
