"""The shape every resource type of the fake `aws` plugin has, and the helpers they share.

A `Handler` serves one pulumi_aws type token. Its class attributes describe the schema the plugin
needs (input names, inputs computed when omitted, `replace_on` properties: the terraform
provider's ForceNew ones, dotted for nested fields; `defaults`; the outputs unknown until
create), and its methods talk to AWS through `Context.client`. Check, Diff and the preview
outputs are generic and live here; create/read/update/delete are per type.

Shared by the types: `read_back` (read right after a write), `apply_tags` (tag/untag calls from a
tagsAll change), `tag_list` / `tag_map` (AWS's `[{Key, Value}]` lists, EC2 and IAM), and for EC2
`Ec2Handler`: a resource found by id with one describe call, deleted with one delete call and
updated in place only in its tags (types with more to update override `update`), with
`ec2_tag_spec` / `update_ec2_tags` / `ec2_arn` / `EC2_TAGGED_INPUTS`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pathlib
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import botocore.exceptions

import fake_aws_trace
from fake_aws_config import Clients
from fake_aws_values import UNKNOWN, contains_unknown, get_path, is_unknown, same

PARTITION = "aws"


@dataclasses.dataclass
class Context:
    """What a handler needs: clients, the provider's region and default tags, the state file."""

    clients: Clients
    state_path: pathlib.Path

    @property
    def region(self) -> str:
        return self.clients.config.region

    def region_of(self, props: Mapping[str, Any]) -> str:
        region = props.get("region")
        return str(region) if region and not is_unknown(region) else self.region

    def client(self, service: str, props: Mapping[str, Any] | None = None) -> Any:
        return self.clients.client(service, self.region_of(props or {}))

    def tags_all(self, tags: Any) -> Any:
        if is_unknown(tags) or contains_unknown(tags):
            return UNKNOWN
        return {**self.clients.config.default_tags, **(tags or {})}


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def ignore_codes(fn: Callable[[], Any], *codes: str) -> Any:
    """Run `fn`; a ClientError with one of `codes` (e.g. "not found" on delete) gives None."""
    try:
        return fn()
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) in codes or any(c.endswith("*") and error_code(exc).startswith(c[:-1])
                                           for c in codes):
            return None
        raise


def wait_for(check: Callable[[], bool], what: str, timeout: float = 120, step: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    waited = fake_aws_trace.Wait(what)
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(step)
        waited.slept = True
    waited.done()


def tag_list(tags: Mapping[str, str] | None) -> list[dict[str, str]]:
    """A tag map as AWS's `[{"Key": ..., "Value": ...}]` (EC2, IAM)."""
    return [{"Key": k, "Value": str(v)} for k, v in (tags or {}).items()]


def tag_map(tags: list[dict[str, str]] | None) -> dict[str, str]:
    """AWS's `[{"Key": ..., "Value": ...}]` as a tag map."""
    return {t["Key"]: t["Value"] for t in tags or []}


def autoname(base: str, seed: bytes, max_length: int | None = None) -> str:
    """`<name>-<7 hex>` like the bridge's autonaming, stable for one Check's random seed."""
    suffix = hashlib.sha256(seed or base.encode()).hexdigest()[:7]
    name = f"{base}-{suffix}"
    if max_length and len(name) > max_length:
        name = f"{base[: max_length - 8]}-{suffix}"
    return name


@dataclasses.dataclass
class DiffResult:
    changed: list[str]
    replaces: list[str]
    detailed: dict[str, bool]  # property path -> needs replacement


class Handler:
    """One resource type. Subclasses set the class attributes and implement the AWS calls."""

    token: ClassVar[str] = ""
    inputs: ClassVar[frozenset[str]] = frozenset()
    computed_inputs: ClassVar[frozenset[str]] = frozenset({"region"})
    replace_on: ClassVar[frozenset[str]] = frozenset({"region"})
    required: ClassVar[tuple[str, ...]] = ()
    defaults: ClassVar[Mapping[str, Any]] = {}
    computed: ClassVar[tuple[str, ...]] = ("id",)
    taggable: ClassVar[bool] = True
    regional: ClassVar[bool] = True  # has the v7 per-resource `region` property
    name_property: ClassVar[str | None] = None
    name_prefix_property: ClassVar[str | None] = None
    name_max_length: ClassVar[int | None] = None
    maps: ClassVar[frozenset[str]] = frozenset({"tags"})  # user maps: a missing key is a removal

    # -- generic parts -------------------------------------------------------------------
    def check(
        self, name: str, olds: Mapping[str, Any], news: Mapping[str, Any], seed: bytes
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        inputs = dict(news)
        for key, value in self.defaults.items():
            if inputs.get(key) is None:
                inputs[key] = value
        if self.name_property and inputs.get(self.name_property) is None:
            prefix = inputs.get(self.name_prefix_property or "") if self.name_prefix_property else None
            if olds.get(self.name_property) and olds.get(self.name_prefix_property or "") == prefix:
                inputs[self.name_property] = olds[self.name_property]
            elif prefix and not is_unknown(prefix):
                inputs[self.name_property] = prefix + hashlib.sha256(seed).hexdigest()[:26]
            elif not prefix:
                inputs[self.name_property] = autoname(name, seed, self.name_max_length)
        failures = [(p, f"Missing required property '{p}'") for p in self.required
                    if inputs.get(p) is None]
        return inputs, failures

    def diff(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> DiffResult:
        keys = set(news) | {k for k in olds if k in self.inputs}
        changed: list[str] = []
        replaces: list[str] = []
        detailed: dict[str, bool] = {}
        for key in sorted(keys):
            new = news.get(key)
            if new is None and key in self.computed_inputs:
                continue
            if same(olds.get(key), new, exact=key in self.maps):
                continue
            changed.append(key)
            nested = [p for p in self.replace_on if p.startswith(f"{key}.")]
            if is_unknown(new):  # a whole unknown object may change its ForceNew fields
                replace_paths = nested
            else:
                replace_paths = [p for p in nested if get_path(news, p) is not None
                                 and not same(get_path(olds, p), get_path(news, p))]
            if key in self.replace_on:
                replaces.append(key)
                detailed[key] = True
            elif replace_paths:
                replaces.append(key)
                detailed.update({p: True for p in replace_paths})
            else:
                detailed[key] = False
        return DiffResult(changed, replaces, detailed)

    def preview_create(self, ctx: Context, inputs: Mapping[str, Any]) -> dict[str, Any]:
        outputs = dict(inputs)
        if self.regional:
            outputs["region"] = ctx.region_of(inputs)
        if self.taggable:
            outputs["tagsAll"] = ctx.tags_all(inputs.get("tags"))
        for key in self.computed:
            if outputs.get(key) is None:
                outputs[key] = UNKNOWN
        return outputs

    def preview_update(
        self, ctx: Context, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]:
        outputs = merge(olds, {k: v for k, v in news.items() if v is not None})
        if self.taggable:
            outputs["tagsAll"] = ctx.tags_all(news.get("tags"))
        return outputs

    def finish(self, ctx: Context, inputs: Mapping[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
        """Inputs first, then what AWS said; region and tagsAll filled in."""
        result = {**{k: v for k, v in inputs.items() if v is not None}, **outputs}
        if self.regional:
            result["region"] = ctx.region_of(inputs)
        if self.taggable:
            if "tagsAll" in outputs:  # what AWS holds: tags are those not from default tags
                mine = inputs.get("tags") or {}
                defaults = ctx.clients.config.default_tags
                result["tags"] = {k: v for k, v in (outputs["tagsAll"] or {}).items()
                                  if k in mine or k not in defaults}
            else:
                result["tags"] = inputs.get("tags") or {}
                result["tagsAll"] = ctx.tags_all(result["tags"])
        return result

    def read_back(self, ctx: Context, rid: str, props: Mapping[str, Any]) -> dict[str, Any]:
        """`read` right after a create or update: the resource must be there."""
        outputs = self.read(ctx, rid, props)
        if outputs is None:
            raise RuntimeError(f"{self.token} {rid} not found right after it was written")
        return outputs

    # -- per type ------------------------------------------------------------------------
    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError(self.token)

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        """Fresh outputs, or None when the resource is gone."""
        raise NotImplementedError(self.token)

    def update(
        self, ctx: Context, rid: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]:
        raise NotImplementedError(self.token)

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        raise NotImplementedError(self.token)


def merge(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """`new` over `old`, objects merged key by key (state objects carry computed fields)."""
    result = dict(old)
    for key, value in new.items():
        previous = result.get(key)
        if isinstance(value, dict) and isinstance(previous, dict):
            result[key] = merge(previous, value)
        elif value is not None:
            result[key] = value
    return result


def changed(olds: Mapping[str, Any], news: Mapping[str, Any], key: str, exact: bool = False) -> bool:
    return not same(olds.get(key), news.get(key), exact=exact)


def tag_delta(
    old: Mapping[str, str] | None, new: Mapping[str, str] | None
) -> tuple[dict[str, str], list[str]]:
    """(tags to set, keys to remove) between two tag maps (tagsAll of the old, the new)."""
    old, new = dict(old or {}), dict(new or {})
    return ({k: v for k, v in new.items() if old.get(k) != v}, [k for k in old if k not in new])


def apply_tags(ctx: Context, olds: Mapping[str, Any], news: Mapping[str, Any],
               tag: Callable[[dict[str, str]], Any], untag: Callable[[list[str]], Any]) -> None:
    """Call `tag` with the tags to set and `untag` with the keys to remove (each only if any)
    to go from the old tagsAll to the new tags plus the provider's default tags."""
    to_set, to_remove = tag_delta(olds.get("tagsAll"), ctx.tags_all(news.get("tags")))
    if to_set:
        tag(to_set)
    if to_remove:
        untag(to_remove)


# -- EC2 -------------------------------------------------------------------------------------
EC2_TAGGED_INPUTS = frozenset({"tags", "region"})


def ec2_tag_spec(kind: str, tags: Mapping[str, str] | None) -> list[dict[str, Any]]:
    """`TagSpecifications` of an EC2 create call (none without tags)."""
    return [{"ResourceType": kind, "Tags": tag_list(tags)}] if tags else []


def update_ec2_tags(ctx: Context, rid: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> None:
    ec2 = ctx.client("ec2", news)
    apply_tags(ctx, olds, news,
               lambda tags: ec2.create_tags(Resources=[rid], Tags=tag_list(tags)),
               lambda keys: ec2.delete_tags(Resources=[rid], Tags=[{"Key": k} for k in keys]))


def ec2_arn(ctx: Context, props: Mapping[str, Any], owner: str, kind: str, rid: str) -> str:
    return f"arn:aws:ec2:{ctx.region_of(props)}:{owner}:{kind}/{rid}"


class Ec2Handler(Handler):
    """An EC2 resource found by id with one describe call and deleted with one delete call; its
    in-place updates are tag changes unless a subclass overrides `update`."""

    describe: ClassVar[tuple[str, str, str]] = ("", "", "")  # client method, ids parameter, result key
    delete_call: ClassVar[tuple[str, str]] = ("", "")  # client method, id parameter
    not_found: ClassVar[tuple[str, ...]] = ()  # error codes that mean "gone"

    def find(self, ctx: Context, props: Mapping[str, Any], rid: str) -> dict[str, Any] | None:
        """What the describe call says of `rid`, None when it is gone."""
        method, ids, key = self.describe
        ec2 = ctx.client("ec2", props)
        found = ignore_codes(lambda: getattr(ec2, method)(**{ids: [rid]})[key], *self.not_found)
        return dict(found[0]) if found else None

    def update(
        self, ctx: Context, rid: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]:
        update_ec2_tags(ctx, rid, olds, news)
        return self.read_back(ctx, rid, news)

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        method, param = self.delete_call
        ec2 = ctx.client("ec2", state)
        ignore_codes(lambda: getattr(ec2, method)(**{param: rid}), *self.not_found)
