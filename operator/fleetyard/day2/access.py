"""What the REST API serves about a provisioned cluster besides its record: the seed's kubeconfig
response and its usage metrics over time.

Called by the REST API in a worker thread, with the objects parsed and a Secret reader of its own
client (and by the e2e tests, as the API would). Each call assumes the Connection's role to read
from the customer's account; the kubeconfig handed out authenticates as the caller, not as that role.
"""

from __future__ import annotations

import datetime
from typing import Any

from fleetyard.cloud import cloudwatch, eks
from fleetyard.connections import customer_session, external_id
from fleetyard.day2 import kubeconfigs, usage_metrics
from fleetyard.models import connection, provisioned_cluster, timestamps


def _cluster_name(obj: provisioned_cluster.ProvisionedCluster) -> str:
    name = obj.status.providerMetadata.clusterName if obj.status.providerMetadata else None
    if not name:
        raise LookupError(f"ProvisionedCluster {obj.name} is not provisioned")
    return name


def kubeconfig(obj: provisioned_cluster.ProvisionedCluster, conn: connection.Connection,
               read_secret: external_id.SecretReader) -> dict[str, str]:
    """The seed's `{kubeconfig, clusterEndpoint, clusterCertificateAuthority}` for a person: an
    `aws eks get-token` kubeconfig that authenticates as the caller's own IAM principal. The
    Connection's role is used here only to read the endpoint and CA; no token of it is handed out."""
    name, region = _cluster_name(obj), obj.spec.region
    sess = customer_session.session(customer_session.for_connection(conn, "kubeconfig", read_secret))
    cluster = eks.describe_cluster(sess, name)
    endpoint = kubeconfigs.Endpoint(name, cluster["endpoint"], cluster["certificateAuthority"]["data"], region)
    return kubeconfigs.response(endpoint, kubeconfigs.with_exec(endpoint))


def metrics(obj: provisioned_cluster.ProvisionedCluster, conn: connection.Connection,
            read_secret: external_id.SecretReader, period: str | None,
            now: datetime.datetime | None = None) -> dict[str, Any]:
    """The seed's metrics response; ValueError naming `period` for anything but 1h, 24h, 7d."""
    chosen = usage_metrics.parse_period(period)
    name, region = _cluster_name(obj), obj.spec.region
    sess = customer_session.session(customer_session.for_connection(conn, "metrics", read_secret))
    types = obj.spec.config.systemNodeGroup.instanceTypes
    return usage_metrics.metrics_for(name, region, chosen, cloudwatch.SessionReader(sess), now or timestamps.utcnow(),
                                     instance_types=types)
