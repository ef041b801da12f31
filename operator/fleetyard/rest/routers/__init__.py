"""One router per resource of the seed: `me` (/me/clusters), `clusters` (/infra/clusters),
`connection_clusters` (/infra/connections/{connection}/clusters)."""
