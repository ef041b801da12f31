"""IAM resource types of the fake `aws` plugin: Role, RolePolicyAttachment, OpenIdConnectProvider.

IAM is global: clients use the provider's region only for signing. A Role's id is its name, an
OpenIdConnectProvider's its ARN, a RolePolicyAttachment's `<role>/<policy arn>`. AWS managed
policies (arn:aws:iam::aws:policy/...) exist in moto only when its server runs with
MOTO_IAM_LOAD_MANAGED_POLICIES=true.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from fake_aws_base import Context, Handler, apply_tags, changed, ignore_codes, tag_list, tag_map

_NOT_FOUND = "NoSuchEntity"


def _policy_text(document: Any, previous: Any) -> str:
    """The role's trust policy as a string; the previous text when it means the same."""
    if isinstance(document, str):
        document = json.loads(unquote(document)) if document.strip() else {}
    if isinstance(previous, str):
        try:
            if json.loads(previous) == document:
                return previous
        except ValueError:
            pass
    return json.dumps(document)


class Role(Handler):
    regional = False
    token = "aws:iam/role:Role"
    inputs = frozenset({"name", "namePrefix", "assumeRolePolicy", "description", "path",
                        "maxSessionDuration", "permissionsBoundary", "forceDetachPolicies", "tags"})
    computed_inputs = frozenset({"region", "name", "namePrefix"})
    replace_on = frozenset({"name", "namePrefix", "path"})
    required = ("assumeRolePolicy",)
    defaults = {"path": "/", "maxSessionDuration": 3600, "forceDetachPolicies": False}
    computed = ("id", "arn", "uniqueId", "createDate", "name")
    name_property = "name"
    name_prefix_property = "namePrefix"
    name_max_length = 64

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        iam = ctx.client("iam")
        kwargs: dict[str, Any] = {
            "RoleName": inputs["name"],
            "AssumeRolePolicyDocument": inputs["assumeRolePolicy"],
            "Path": inputs.get("path") or "/",
            "MaxSessionDuration": int(inputs.get("maxSessionDuration") or 3600),
        }
        if inputs.get("description"):
            kwargs["Description"] = inputs["description"]
        if inputs.get("permissionsBoundary"):
            kwargs["PermissionsBoundary"] = inputs["permissionsBoundary"]
        tags = ctx.tags_all(inputs.get("tags"))
        if tags:
            kwargs["Tags"] = tag_list(tags)
        iam.create_role(**kwargs)
        return str(inputs["name"]), self.read_back(ctx, str(inputs["name"]), inputs)

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        iam = ctx.client("iam")
        found = ignore_codes(lambda: iam.get_role(RoleName=rid)["Role"], _NOT_FOUND)
        if found is None:
            return None
        return self.finish(ctx, state, {
            "id": rid,
            "name": found["RoleName"],
            "arn": found["Arn"],
            "uniqueId": found["RoleId"],
            "path": found.get("Path", "/"),
            "createDate": found.get("CreateDate"),
            "description": found.get("Description", state.get("description") or ""),
            "maxSessionDuration": found.get("MaxSessionDuration", 3600),
            "assumeRolePolicy": _policy_text(found.get("AssumeRolePolicyDocument", {}),
                                             state.get("assumeRolePolicy")),
            "namePrefix": state.get("namePrefix") or "",
            "tagsAll": tag_map(found.get("Tags")),
        })

    def update(self, ctx: Context, rid: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        iam = ctx.client("iam")
        if changed(olds, news, "assumeRolePolicy"):
            iam.update_assume_role_policy(RoleName=rid, PolicyDocument=news["assumeRolePolicy"])
        if changed(olds, news, "description") or changed(olds, news, "maxSessionDuration"):
            iam.update_role(RoleName=rid, Description=news.get("description") or "",
                            MaxSessionDuration=int(news.get("maxSessionDuration") or 3600))
        apply_tags(ctx, olds, news, lambda tags: iam.tag_role(RoleName=rid, Tags=tag_list(tags)),
                   lambda keys: iam.untag_role(RoleName=rid, TagKeys=keys))
        return self.read_back(ctx, rid, news)

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        iam = ctx.client("iam")
        if state.get("forceDetachPolicies"):
            attached = ignore_codes(lambda: iam.list_attached_role_policies(RoleName=rid), _NOT_FOUND)
            for policy in (attached or {}).get("AttachedPolicies", []):
                iam.detach_role_policy(RoleName=rid, PolicyArn=policy["PolicyArn"])
            inline = ignore_codes(lambda: iam.list_role_policies(RoleName=rid), _NOT_FOUND)
            for name in (inline or {}).get("PolicyNames", []):
                iam.delete_role_policy(RoleName=rid, PolicyName=name)
        ignore_codes(lambda: iam.delete_role(RoleName=rid), _NOT_FOUND)


class RolePolicyAttachment(Handler):
    regional = False
    token = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    inputs = frozenset({"role", "policyArn"})
    replace_on = frozenset({"role", "policyArn"})
    required = ("role", "policyArn")
    taggable = False

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        ctx.client("iam").attach_role_policy(RoleName=inputs["role"], PolicyArn=inputs["policyArn"])
        rid = f"{inputs['role']}/{inputs['policyArn']}"
        return rid, {**inputs, "id": rid}

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        role, _, policy = rid.partition("/")
        role = state.get("role") or role
        policy = state.get("policyArn") or policy
        iam = ctx.client("iam")
        attached = ignore_codes(
            lambda: iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"], _NOT_FOUND)
        if not attached or all(p["PolicyArn"] != policy for p in attached):
            return None
        return {"id": rid, "role": role, "policyArn": policy}

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        iam = ctx.client("iam")
        ignore_codes(lambda: iam.detach_role_policy(RoleName=state["role"],
                                                    PolicyArn=state["policyArn"]), _NOT_FOUND)


class OpenIdConnectProvider(Handler):
    regional = False
    token = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
    inputs = frozenset({"url", "clientIdLists", "thumbprintLists", "tags"})
    computed_inputs = frozenset({"region", "thumbprintLists"})
    replace_on = frozenset({"url"})
    required = ("url", "clientIdLists")
    computed = ("id", "arn")

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "Url": inputs["url"],
            "ClientIDList": list(inputs.get("clientIdLists") or []),
            "ThumbprintList": list(inputs.get("thumbprintLists") or []),
        }
        tags = ctx.tags_all(inputs.get("tags"))
        if tags:
            kwargs["Tags"] = tag_list(tags)
        arn = ctx.client("iam").create_open_id_connect_provider(**kwargs)["OpenIDConnectProviderArn"]
        return arn, self.read_back(ctx, arn, inputs)

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        iam = ctx.client("iam")
        found = ignore_codes(lambda: iam.get_open_id_connect_provider(OpenIDConnectProviderArn=rid),
                             _NOT_FOUND)
        if found is None:
            return None
        url = state.get("url") or f"https://{found['Url']}"
        return self.finish(ctx, state, {
            "id": rid,
            "arn": rid,
            "url": url,
            "clientIdLists": found.get("ClientIDList", []),
            "thumbprintLists": found.get("ThumbprintList", []),
            "tagsAll": tag_map(found.get("Tags")),
        })

    def update(self, ctx: Context, rid: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        iam = ctx.client("iam")
        old_ids = set(olds.get("clientIdLists") or [])
        new_ids = set(news.get("clientIdLists") or [])
        for client_id in sorted(new_ids - old_ids):
            iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=rid, ClientID=client_id)
        for client_id in sorted(old_ids - new_ids):
            iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=rid,
                                                               ClientID=client_id)
        if news.get("thumbprintLists") is not None and changed(olds, news, "thumbprintLists"):
            iam.update_open_id_connect_provider_thumbprint(
                OpenIDConnectProviderArn=rid, ThumbprintList=list(news["thumbprintLists"]))
        apply_tags(
            ctx, olds, news,
            lambda tags: iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=rid, Tags=tag_list(tags)),
            lambda keys: iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=rid, TagKeys=keys))
        return self.read_back(ctx, rid, news)

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        iam = ctx.client("iam")
        ignore_codes(lambda: iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=rid),
                     _NOT_FOUND)


HANDLERS: tuple[Handler, ...] = (Role(), RolePolicyAttachment(), OpenIdConnectProvider())
