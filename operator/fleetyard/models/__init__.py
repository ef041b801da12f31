"""The resource model: pydantic types of every spec and status, the one source of CRDs and REST bodies.

Imports only pydantic and the standard library (the rule Cluster API keeps for its API types).
"""

from fleetyard.models import cluster, common, connection, health, kinds, network, operation, provisioned_cluster, team, validation

__all__ = ["cluster", "common", "connection", "health", "kinds", "network", "operation",
           "provisioned_cluster", "team", "validation"]
