"""The local control plane behind `fleetyard dev up` and the test fixtures.

Everything here runs on loopback, for real: etcd and kube-apiserver found or built by
`hack/tools.sh` (`tools`), a throwaway PKI (`certs`), child processes with logs and clean
shutdown (`processes`), the pair wired together as one API server (`controlplane`), and moto in
server mode as the AWS endpoint (`moto_server`). The CLI and the pytest fixtures import the
submodules they need; this package module imports nothing so that each stays cheap to load.
"""
