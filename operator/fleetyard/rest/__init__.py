"""The REST API (`fleetyard api`): the seed's endpoints over the fleetyard resources.

`main` builds the app; `routers/` holds one module per resource; `store` is the watch-fed read
model; `authn`/`authz`/`organizations` decide who may see what; `writes` sends changes to the
apiserver as the caller.
"""
