"""Day 2 of a running cluster: the health check (probe, assessment, what follows from it), the
kubeconfig documents and Secrets, the usage metrics, what the REST API serves about a cluster
(kubeconfig, metrics), and who may see it (Teams).

Used by the operator's health daemons and the REST API; acts in the customer's account through
`fleetyard.connections.customer_session` only.
"""
