"""Types shared by every kind: references, conditions, the status base, the seed's error object.

Imported by the per-kind model modules; imports nothing but pydantic and the standard library.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

import pydantic

from fleetyard.models import ids, validation

ConditionStatus = Literal["True", "False", "Unknown"]


class Model(pydantic.BaseModel):
    """Base of every API type: seed field names verbatim, unknown fields refused, and JSON's types as
    they are (strict: no `"3"` or `true` for an integer, no number for a string), as the CRD schema
    has them, so a REST body and a manifest are refused alike."""

    model_config = pydantic.ConfigDict(extra="forbid", populate_by_name=True, strict=True)

    def as_stored(self) -> dict[str, Any]:
        """The fields as they were read (or set), in JSON form: what a merge patch compares against."""
        return self.model_dump(mode="json", exclude_unset=True)


def check_name(value: str, info: pydantic.ValidationInfo) -> str:
    """A display name holds no control, bidi or zero-width character (named by its field)."""
    return validation.check_display_name(value, info.field_name or "name")


DisplayName = Annotated[str, pydantic.Field(
    min_length=1, max_length=128, json_schema_extra=validation.cel(*validation.display_name_rules("displayName")),
    description="The name people read; no control, bidi or zero-width characters."),
    pydantic.AfterValidator(check_name)]


class LocalObjectReference(Model):
    name: str = pydantic.Field(min_length=1, max_length=253, pattern=validation.K8S_NAME_PATTERN,
                               description="Name of an object in the same namespace.")


class SecretKeySelector(Model):
    name: str = pydantic.Field(min_length=1, max_length=253, pattern=validation.K8S_NAME_PATTERN,
                               description="Name of a Secret in the same namespace.")
    key: str = pydantic.Field("value", min_length=1, max_length=253, description="Key in the Secret's data.")


class Condition(Model):
    """A standard Kubernetes condition (metav1.Condition)."""

    type: str = pydantic.Field(min_length=1, max_length=316)
    status: ConditionStatus
    reason: str = pydantic.Field(min_length=1, max_length=1024)
    message: str = pydantic.Field("", max_length=32768)
    lastTransitionTime: str
    observedGeneration: int | None = pydantic.Field(None, ge=0)


AccessLevel = Literal["view", "edit", "admin", "cluster-admin"]


class TeamGrant(Model):
    """One entry of `access.teams` in its long form: a Team and, optionally, what it gets on this
    cluster instead of the Team's own `spec.access`."""

    name: str = pydantic.Field(min_length=1, max_length=253, pattern=validation.K8S_NAME_PATTERN,
                               description="Name of a Team in this namespace.")
    access: AccessLevel | None = pydantic.Field(
        None, description="Overrides the Team's access level on this cluster (view, edit, admin, cluster-admin).")
    namespaces: list[str] | None = pydantic.Field(
        None, max_length=20, description="Overrides the Team's namespaces on this cluster; [] means cluster-wide.")

    @pydantic.field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: list[str] | None) -> list[str] | None:
        for v in value or []:
            validation.check_pattern(v, validation.NAMESPACE_SCOPE_PATTERN, "access.teams[*].namespaces[*]",
                                     "a namespace name (`*` wildcards allowed)")
        return value

    @pydantic.model_validator(mode="after")
    def _scope(self) -> "TeamGrant":
        if self.access == "cluster-admin" and self.namespaces:
            raise ValueError(f"access.teams[{self.name}].namespaces: cluster-admin is cluster-wide; "
                             "leave namespaces out")
        return self


# An item is a Team's name or a TeamGrant: a union a structural schema cannot type, so the item keeps
# unknown fields; the webhook and the REST API parse it through TeamGrant (errors name the field).
_TEAM_ITEM_SCHEMA = {"x-kubernetes-preserve-unknown-fields": True}


class Access(Model):
    teams: list[str | TeamGrant] = pydantic.Field(
        default_factory=list, max_length=100, json_schema_extra={"items": _TEAM_ITEM_SCHEMA},
        description="Teams in this namespace whose members may use the cluster: a Team's name, or "
                    "{name, access, namespaces} to give that team other access on this cluster than its own.")

    @pydantic.field_validator("teams")
    @classmethod
    def _unique(cls, value: list[str | TeamGrant]) -> list[str | TeamGrant]:
        names = [v if isinstance(v, str) else v.name for v in value]
        for name in names:
            validation.check_pattern(name, validation.K8S_NAME_PATTERN, "access.teams[*]", "a Team name")
        if len(set(names)) != len(names):
            raise ValueError("access.teams: each Team once")
        return value

    def grants(self) -> list[TeamGrant]:
        """Every entry in its long form."""
        return [TeamGrant(name=v) if isinstance(v, str) else v for v in self.teams]

    def team_names(self) -> list[str]:
        return [g.name for g in self.grants()]


class IacState(Model):
    projectName: str | None = None
    stackName: str | None = None


class ErrorDetails(Model):
    retryable: bool | None = None
    retryAfter: int | None = None
    fieldErrors: dict[str, str] | None = None
    requestId: str | None = None
    causedBy: str | None = None


class ErrorObject(Model):
    """The seed's error object, used by Operations and REST error responses."""

    code: str
    message: str
    errorType: str | None = None
    details: ErrorDetails | None = None


class StatusBase(Model):
    """What every status carries: the seed id, observedGeneration, conditions, Kopf's progress."""

    id: str | None = pydantic.Field(None, description="The seed's 10-character id, assigned once.")
    observedGeneration: int | None = None
    conditions: list[Condition] = pydantic.Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]})
    kopf: dict[str, Any] | None = pydantic.Field(None, description="Handler progress kept by Kopf.")


class ObjectMeta(pydantic.BaseModel):
    """The part of Kubernetes' ObjectMeta fleetyard reads; the rest is ignored."""

    model_config = pydantic.ConfigDict(extra="ignore", frozen=True)

    name: str
    namespace: str = ""
    uid: str = ""
    generation: int | None = None
    resourceVersion: str | None = None
    creationTimestamp: str | None = None
    deletionTimestamp: str | None = None
    labels: dict[str, str] = pydantic.Field(default_factory=dict)
    annotations: dict[str, str] = pydantic.Field(default_factory=dict)


SpecT = TypeVar("SpecT", bound=Model)
StatusT = TypeVar("StatusT", bound="StatusBase")


class Resource(pydantic.BaseModel, Generic[SpecT, StatusT]):
    """A stored object of one of the kinds, parsed once where the operator reads it (`kinds.Kind.parse`).

    Each kind's module names its own (`network.Network = common.Resource[NetworkSpec, NetworkStatus]`);
    what is below the edge reads typed fields, never digs in dicts."""

    model_config = pydantic.ConfigDict(extra="ignore")

    apiVersion: str = ""
    kind: str = ""
    metadata: ObjectMeta
    spec: SpecT
    status: StatusT

    @pydantic.model_validator(mode="before")
    @classmethod
    def _no_status_yet(cls, value: Any) -> Any:
        if isinstance(value, dict) and value.get("status") is None:
            return {**value, "status": {}}
        return value

    @property
    def namespace(self) -> str:
        return self.metadata.namespace

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def seed_id(self) -> str | None:
        return ids.seed_id(self.metadata.labels, self.status.id)

    @property
    def deleting(self) -> bool:
        return bool(self.metadata.deletionTimestamp)

    def owner_reference(self) -> dict[str, Any]:
        """This object as the controlling owner of another (a Secret, an Operation, a Cluster record)."""
        return {"apiVersion": self.apiVersion, "kind": self.kind, "name": self.name, "uid": self.metadata.uid,
                "controller": True, "blockOwnerDeletion": False}
