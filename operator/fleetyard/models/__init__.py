"""The resource model: pydantic types of every spec and status, the one source of CRDs and REST bodies;
beside them the small pure vocabulary every layer shares: seed ids, condition types, timestamps.

Imports only pydantic and the standard library (the rule Cluster API keeps for its API types).
"""

from fleetyard.models import (
    cluster, common, conditions, connection, health, ids, kinds, network, operation, provisioned_cluster, team,
    timestamps, validation,
)

__all__ = ["cluster", "common", "conditions", "connection", "health", "ids", "kinds", "network", "operation",
           "provisioned_cluster", "team", "timestamps", "validation"]
