"""A throwaway PKI for the local control plane, built with `cryptography`.

Pure functions return PEM bytes: a CA, serving certificates (loopback by default; any DNS names
and IPs for webhook servers), client certificates whose subject Kubernetes maps to a user
(CN) and groups (one O per group), and the RSA key pair that signs service-account tokens.
`controlplane` calls them when it starts; tests and the operator's webhook setup call
`serving_cert` with the control plane's CA to issue their own serving certificates.
Keys are ECDSA P-256 (as envtest does), except the service-account key, which is RSA.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import pathlib
import typing
from collections.abc import Iterable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import oid

VALIDITY = datetime.timedelta(days=365)
CLOCK_SKEW = datetime.timedelta(hours=1)

SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class CertKey(typing.NamedTuple):
    """A certificate and its private key, both PEM."""

    cert: bytes
    key: bytes


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: SigningKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _load_ca(issuer: CertKey) -> tuple[x509.Certificate, SigningKey]:
    cert = x509.load_pem_x509_certificate(issuer.cert)
    key = serialization.load_pem_private_key(issuer.key, password=None)
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise TypeError(f"unsupported CA key type {type(key).__name__}")
    return cert, key


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    valid_for: datetime.timedelta,
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + valid_for)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _issue(
    issuer: CertKey,
    subject: x509.Name,
    usage: x509.ObjectIdentifier,
    sans: Sequence[x509.GeneralName],
    valid_for: datetime.timedelta,
) -> CertKey:
    ca_cert, ca_key = _load_ca(issuer)
    key = _new_key()
    builder = (
        _builder(subject, ca_cert.subject, key.public_key(), valid_for)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return CertKey(_cert_pem(builder.sign(ca_key, hashes.SHA256())), _key_pem(key))


def ca(
    common_name: str = "fleetyard-dev-ca", valid_for: datetime.timedelta = VALIDITY
) -> CertKey:
    """A self-signed certificate authority."""
    key = _new_key()
    name = x509.Name([x509.NameAttribute(oid.NameOID.COMMON_NAME, common_name)])
    cert = (
        _builder(name, name, key.public_key(), valid_for)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return CertKey(_cert_pem(cert), _key_pem(key))


def serving_cert(
    issuer: CertKey,
    dns_names: Iterable[str] = ("localhost",),
    ip_addresses: Iterable[str] = ("127.0.0.1",),
    common_name: str | None = None,
    valid_for: datetime.timedelta = VALIDITY,
) -> CertKey:
    """A TLS server certificate for the given names and IPs, signed by `issuer` (a CA)."""
    dns = list(dns_names)
    ips = list(ip_addresses)
    if not dns and not ips:
        raise ValueError("a serving certificate needs at least one DNS name or IP address")
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    cn = common_name or (dns[0] if dns else ips[0])
    subject = x509.Name([x509.NameAttribute(oid.NameOID.COMMON_NAME, cn)])
    return _issue(issuer, subject, oid.ExtendedKeyUsageOID.SERVER_AUTH, sans, valid_for)


def client_cert(
    issuer: CertKey,
    username: str,
    groups: Iterable[str] = (),
    valid_for: datetime.timedelta = VALIDITY,
) -> CertKey:
    """A TLS client certificate that kube-apiserver reads as user `username` in `groups`."""
    if not username:
        raise ValueError("a client certificate needs a username")
    attributes = [x509.NameAttribute(oid.NameOID.COMMON_NAME, username)]
    attributes += [x509.NameAttribute(oid.NameOID.ORGANIZATION_NAME, g) for g in groups]
    subject = x509.Name(attributes)
    return _issue(issuer, subject, oid.ExtendedKeyUsageOID.CLIENT_AUTH, (), valid_for)


def service_account_key_pair(bits: int = 2048) -> tuple[bytes, bytes]:
    """An RSA key pair for service-account tokens: (private key PEM, public key PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _key_pem(key), public


def write_pem(path: pathlib.Path, data: bytes, private: bool) -> pathlib.Path:
    """Write PEM data; private keys get mode 0600 from the moment the file exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = 0o600 if private else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


def write_cert_key(
    directory: pathlib.Path, stem: str, pair: CertKey
) -> tuple[pathlib.Path, pathlib.Path]:
    """Write `<stem>.crt` and `<stem>.key` into `directory`; returns (cert path, key path)."""
    return (
        write_pem(directory / f"{stem}.crt", pair.cert, private=False),
        write_pem(directory / f"{stem}.key", pair.key, private=True),
    )
