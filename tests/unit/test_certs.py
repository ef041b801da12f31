"""Unit tests of `fleetyard.devenv.certs`, the throwaway PKI behind the local control plane.

They check what kube-apiserver and its clients rely on: leaf certificates chain to the CA,
serving certificates carry the loopback SANs and pass a real TLS handshake with hostname
checks, client certificates carry the user in CN and each group in an O, and keys are written
with private permissions.
"""

from __future__ import annotations

import ipaddress
import pathlib
import socket
import ssl
import stat
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import oid, verification

from fleetyard.devenv import certs


@pytest.fixture(scope="module")
def ca() -> certs.CertKey:
    return certs.ca("test-ca")


def _cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def _eku(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
    return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_ca_is_a_self_signed_ca(ca: certs.CertKey) -> None:
    cert = _cert(ca.cert)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    cert.verify_directly_issued_by(cert)
    assert cert.subject.get_attributes_for_oid(oid.NameOID.COMMON_NAME)[0].value == "test-ca"


def test_serving_cert_has_loopback_sans_and_verifies(ca: certs.CertKey) -> None:
    cert = _cert(certs.serving_cert(ca).cert)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert _eku(cert) == [oid.ExtendedKeyUsageOID.SERVER_AUTH]
    store = verification.Store([_cert(ca.cert)])
    for subject in (
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ):
        verifier = verification.PolicyBuilder().store(store).build_server_verifier(subject)
        chain = verifier.verify(cert, [])
        assert chain[-1] == _cert(ca.cert)


def test_serving_cert_for_other_names(ca: certs.CertKey) -> None:
    pair = certs.serving_cert(ca, dns_names=["webhook.fleetyard.svc"], ip_addresses=["::1"])
    sans = _cert(pair.cert).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["webhook.fleetyard.svc"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("::1")]
    with pytest.raises(ValueError):
        certs.serving_cert(ca, dns_names=[], ip_addresses=[])


def test_client_cert_subject_carries_user_and_groups(ca: certs.CertKey) -> None:
    cert = _cert(certs.client_cert(ca, "alice", ["team-a", "system:masters"]).cert)
    cert.verify_directly_issued_by(_cert(ca.cert))
    subject = cert.subject
    assert [a.value for a in subject.get_attributes_for_oid(oid.NameOID.COMMON_NAME)] == ["alice"]
    assert [a.value for a in subject.get_attributes_for_oid(oid.NameOID.ORGANIZATION_NAME)] == [
        "team-a",
        "system:masters",
    ]
    assert _eku(cert) == [oid.ExtendedKeyUsageOID.CLIENT_AUTH]


def test_certificate_from_another_ca_does_not_verify(ca: certs.CertKey) -> None:
    stranger = _cert(certs.client_cert(certs.ca("other"), "mallory").cert)
    with pytest.raises((ValueError, TypeError)):
        stranger.verify_directly_issued_by(_cert(ca.cert))


@pytest.mark.parametrize("server_hostname", ["localhost", "127.0.0.1"])
def test_mutual_tls_handshake(
    ca: certs.CertKey, tmp_path: pathlib.Path, server_hostname: str
) -> None:
    ca_file = certs.write_pem(tmp_path / "ca.crt", ca.cert, private=False)
    server_files = certs.write_cert_key(tmp_path, "server", certs.serving_cert(ca))
    client_files = certs.write_cert_key(tmp_path, "client", certs.client_cert(ca, "bob", ["g"]))

    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(*server_files)
    server_ctx.load_verify_locations(cafile=ca_file)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.create_default_context(cafile=str(ca_file))
    client_ctx.load_cert_chain(*client_files)

    left, right = socket.socketpair()
    peer: dict[str, object] = {}

    def serve() -> None:
        with server_ctx.wrap_socket(left, server_side=True) as tls:
            peer.update(tls.getpeercert() or {})
            tls.sendall(b"ok")

    thread = threading.Thread(target=serve)
    thread.start()
    with client_ctx.wrap_socket(right, server_hostname=server_hostname) as tls:
        assert tls.recv(2) == b"ok"
    thread.join(timeout=10)
    assert ((("commonName", "bob"),), (("organizationName", "g"),)) == peer["subject"]


def test_service_account_key_pair_matches() -> None:
    private_pem, public_pem = certs.service_account_key_pair()
    private = serialization.load_pem_private_key(private_pem, password=None)
    public = serialization.load_pem_public_key(public_pem)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.public_key().public_numbers() == public.public_numbers()


def test_write_pem_permissions(ca: certs.CertKey, tmp_path: pathlib.Path) -> None:
    cert_file, key_file = certs.write_cert_key(tmp_path / "pki", "ca", ca)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(cert_file.stat().st_mode) == 0o644
    assert key_file.read_bytes() == ca.key
    assert cert_file.read_bytes() == ca.cert
