"""The Connection kind: an IAM role in a customer's AWS account, assumed with an external id.

Seed entity `connection`. Spec is what the user declares; status what the operator verified.
"""

from __future__ import annotations

from typing import Literal

import pydantic

from fleetyard.models import common, validation

ConnectionPhase = Literal["pending", "active", "failed"]


class ConnectionProviderConfig(common.Model):
    model_config = pydantic.ConfigDict(json_schema_extra=validation.cel(
        validation.rule("has(self.externalIdSecretArn) != has(self.externalIdSecretRef)",
                        "providerConfig: set exactly one of externalIdSecretArn or externalIdSecretRef"),
        validation.rule("self.roleArn.split(':').size() < 5 || self.roleArn.split(':')[4] == self.accountId",
                        "providerConfig.roleArn must be a role in providerConfig.accountId",
                        ".roleArn"),
    ))

    accountId: str = pydantic.Field(pattern=validation.ACCOUNT_ID_PATTERN,
                                    json_schema_extra=validation.immutable("providerConfig.accountId"),
                                    description="The 12-digit AWS account the role lives in.")
    region: str = pydantic.Field(pattern=validation.REGION_PATTERN, description="Home region, e.g. us-east-1.")
    roleArn: str = pydantic.Field(max_length=2048, pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}$",
                                  description="The role fleetyard assumes.")
    externalIdSecretArn: str | None = pydantic.Field(
        None, max_length=2048, pattern=r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$",
        description="Secrets Manager secret holding the external id.")
    externalIdSecretRef: common.SecretKeySelector | None = pydantic.Field(
        None, description="Kubernetes Secret (and key, default `value`) holding the external id.")
    stackArn: str | None = pydantic.Field(
        None, max_length=2048, pattern=r"^arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:[0-9]{12}:stack/.+$",
        description="The CloudFormation stack that created the role from fleetyard's template.")

    @pydantic.model_validator(mode="after")
    def _one_external_id_source(self) -> "ConnectionProviderConfig":
        if (self.externalIdSecretArn is None) == (self.externalIdSecretRef is None):
            raise ValueError("providerConfig: set exactly one of externalIdSecretArn or externalIdSecretRef")
        if self.roleArn.split(":")[4] != self.accountId:
            raise ValueError("providerConfig.roleArn must be a role in providerConfig.accountId")
        return self


class ConnectionSpec(common.Model):
    provider: Literal["aws"] = pydantic.Field("aws", json_schema_extra=validation.immutable("provider"))
    displayName: common.DisplayName
    providerConfig: ConnectionProviderConfig


class ConnectionStatus(common.StatusBase):
    status: ConnectionPhase | None = None
    statusMessage: str | None = None
    lastUsedAt: str | None = None
    lastVerifiedAt: str | None = None
    templateSyncedAt: str | None = None
    templateSyncMessage: str | None = None


Connection = common.Resource[ConnectionSpec, ConnectionStatus]
