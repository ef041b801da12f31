"""The instance-type catalog of a Connection: asking for it (an Operation), running that
Operation, and reading the answer back.

Called by the Connection controller (a fresh catalog after each successful verification, at most
once per TTL), by the provisioning runner (which runs the `listInstanceTypes` Operation: one
paginated EC2 call through the customer session, no Pulumi) and by admission (which refuses instance
types the region does not offer). The newest succeeded Operation is the durable copy, so a
restarted operator knows the catalog without asking EC2 again; `catalog.Catalog` is the in-memory one.
"""

from __future__ import annotations

import datetime

from fleetyard.cloud import ec2
from fleetyard.connections import catalog, customer_session, external_id
from fleetyard.kube import operations
from fleetyard.models import connection as connection_model, operation as operation_model, timestamps

KEEP = 2  # each holds the region's whole catalog (a few hundred KiB)
# a catalog run that failed retryably is asked again on its retryAfter up to this many runs in all;
# after that only the next verification asks (admission skips the instance-type check meanwhile)
MAX_ATTEMPTS = 5


def _catalog_ops(conn: connection_model.Connection) -> list[operation_model.Operation]:
    ops = operations.for_target(conn.namespace, conn.metadata.uid)
    return [o for o in ops if o.spec.operation == operation_model.LIST_INSTANCE_TYPES]


def cache_key(conn: connection_model.Connection) -> str:
    """The Connection's key in `catalog.Catalog`: its seed id (its uid before it has one)."""
    return conn.seed_id or conn.metadata.uid


def ensure_recent(conn: connection_model.Connection, max_age: float, now: datetime.datetime | None = None) -> bool:
    """Ask for a catalog unless one is running or one succeeded within `max_age`; True if asked."""
    now = now or timestamps.utcnow()
    ops = _catalog_ops(conn)
    operations.prune(conn.namespace, ops, KEEP)
    for op in ops:
        phase = op.status.status
        if operation_model.in_flight(phase):
            return False
        done = timestamps.parse(op.status.completedAt)
        if phase == "succeeded" and done and (now - done).total_seconds() < max_age:
            return False
    _ask(conn, attempt=1)
    return True


def retry_failed(conn: connection_model.Connection, now: datetime.datetime | None = None) -> float | None:
    """Between verifications: when the newest catalog run failed retryably, ask again once its
    `retryAfter` has passed. Seconds until then (None: nothing waits, or asked now)."""
    ops = _catalog_ops(conn)
    newest = ops[-1] if ops else None
    wait = _retry_in(newest, now or timestamps.utcnow()) if newest is not None else None
    if wait is None or wait > 0:
        return wait
    assert newest is not None
    _ask(conn, attempt=newest.spec.attempt + 1)
    return None


def _retry_in(op: operation_model.Operation, now: datetime.datetime) -> float | None:
    """Seconds until a finished catalog run may be asked again (<= 0: now); None when it is not retried."""
    error, done = op.status.error, timestamps.parse(op.status.completedAt)
    details = error.details if error is not None else None
    if op.status.status != "failed" or done is None or details is None or not details.retryable \
            or op.spec.attempt >= MAX_ATTEMPTS:
        return None
    return (done - now).total_seconds() + float(details.retryAfter or 0)


def _ask(conn: connection_model.Connection, attempt: int) -> None:
    operations.create(conn, operation_model.LIST_INSTANCE_TYPES, attempt=attempt, member_id=None,
                      connection_version=str(conn.metadata.generation))


def list_instance_types(conn: connection_model.Connection, cache: catalog.Catalog,
                        read_secret: external_id.SecretReader) -> operation_model.OperationResult:
    """The `listInstanceTypes` run: EC2's types of the Connection's region, turned into the catalog,
    kept in `cache`. `cloud.errors.CloudError` when AWS cannot be asked (`customer_session.Unusable`: the
    Connection's external id cannot be read)."""
    access = customer_session.for_connection(conn, "catalog", read_secret)
    region = conn.spec.providerConfig.region
    result = catalog.result(ec2.instance_types(customer_session.session(access), region))
    cache.put(cache_key(conn), region, result.items)
    return result


def known_types(cache: catalog.Catalog, conn: connection_model.Connection, region: str) -> frozenset[str] | None:
    """The instance types the Connection's region offers, or None when no catalog is known yet."""
    key = cache_key(conn)
    types = cache.instance_types(key, region)
    if types is not None:
        return types
    for op in reversed(_catalog_ops(conn)):
        if op.status.status == "succeeded" and op.status.result is not None and op.status.result.items:
            if region == conn.spec.providerConfig.region:
                cache.put(key, region, op.status.result.items)
                return cache.instance_types(key, region)
    return None
