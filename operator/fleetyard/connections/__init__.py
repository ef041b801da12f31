"""Acting in a customer's AWS account through its Connection: the external id, the one customer
session (assume the Connection's role with it), the role's CloudFormation template, and the
instance-type catalog of the Connection's region.

Used by the Connection controller, the provisioning runner and worker, the day-2 checks and the
REST API alike; below them only `cloud/`, `kube/` and `models/`.
"""
