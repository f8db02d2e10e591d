"""TLS for both faces of popvimd, and the certificates ``popvimd init --tls`` makes.

One server certificate serves REST (HTTPS) and the Pop protocol (gRPC over
TLS). With ``[tls].client_ca`` both faces require a client certificate signed
by that CA (mTLS), on top of the token every call needs anyway. A plain-text
listener is refused on anything but loopback unless ``[tls].allow_plaintext``
says the operator knows what the network is.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc

if TYPE_CHECKING:  # cryptography costs popvimd ~9 MiB resident: imported where a certificate is read or made
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

from popvim.config import Config, TlsConfig, split_hostport
from popvim.nfv.pops import ClientTls


@dataclass(frozen=True)
class ServerTls:
    """PEM bytes of what a listener needs."""

    certificate: bytes
    key: bytes
    client_ca: bytes | None = None  # require client certificates signed by it


def grpc_credentials(server: ServerTls | None) -> grpc.ServerCredentials | None:
    if server is None:
        return None
    return grpc.ssl_server_credentials(
        [(server.key, server.certificate)],
        root_certificates=server.client_ca,
        require_client_auth=server.client_ca is not None,
    )


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {what} {path!r}: {exc.strerror or exc}") from exc


def _pem_certificates(data: bytes, what: str) -> bytes:
    from cryptography import x509

    try:
        x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise ValueError(f"{what} is not a PEM certificate") from exc
    return data


def server_tls(tls: TlsConfig) -> ServerTls | None:
    """The listeners' TLS, checked at start (a bad file is a clear error, not a failed handshake)."""
    if not tls.cert and not tls.key:
        if tls.client_ca:
            raise ValueError("[tls].client_ca needs [tls].cert and [tls].key")
        return None
    if not (tls.cert and tls.key):
        raise ValueError("[tls].cert and [tls].key go together")
    certificate = _pem_certificates(_read(tls.cert, "[tls].cert"), "[tls].cert")
    key = _read(tls.key, "[tls].key")
    from cryptography.hazmat.primitives import serialization

    try:
        serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError("[tls].key is not an unencrypted PEM private key") from exc
    client_ca = _pem_certificates(_read(tls.client_ca, "[tls].client_ca"), "[tls].client_ca") if tls.client_ca else None
    return ServerTls(certificate, key, client_ca)


def client_tls(tls: TlsConfig, server: ServerTls | None) -> ClientTls:
    """What the orchestrator uses towards PoPs, its own included.

    Its own PoP is verified against ``[tls].ca``, else against the server
    certificate file itself (enough when that holds the chain up to its root).
    """
    ca = _pem_certificates(_read(tls.ca, "[tls].ca"), "[tls].ca") if tls.ca else None
    if ca is None and server is not None:
        ca = server.certificate
    if bool(tls.client_cert) != bool(tls.client_key):
        raise ValueError("[tls].client_cert and [tls].client_key go together")
    cert = _read(tls.client_cert, "[tls].client_cert") if tls.client_cert else None
    key = _read(tls.client_key, "[tls].client_key") if tls.client_key else None
    if server is not None and server.client_ca is not None and cert is None:
        raise ValueError(
            "with [tls].client_ca the orchestrator needs [tls].client_cert and [tls].client_key "
            "to reach its own PoP ('popvimd init --tls --mtls' makes them)"
        )
    return ClientTls(ca_certificate=ca, certificate=cert, key=key)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_plaintext(config: Config, server: ServerTls | None) -> None:
    """Refuse a plain-text listener reachable from the network, unless opted out."""
    if server is not None or config.tls.allow_plaintext:
        return
    for flag, value in (("--listen", config.listen), ("--pop-listen", config.pop_listen)):
        host, _port = split_hostport(value, flag)
        if not _loopback(host):
            raise ValueError(
                f"{flag} {value} is not loopback and TLS is off: configure [tls].cert and [tls].key "
                "('popvimd init --tls'), or set [tls].allow_plaintext = true (--allow-plaintext) to serve "
                "tokens and passwords in clear on that network"
            )


def uvicorn_options(tls: TlsConfig, server: ServerTls | None) -> dict[str, Any]:
    if server is None:
        return {}
    options: dict[str, Any] = {"ssl_certfile": tls.cert, "ssl_keyfile": tls.key}
    if server.client_ca is not None:
        options.update(ssl_ca_certs=tls.client_ca, ssl_cert_reqs=ssl.CERT_REQUIRED)
    return options


# --- popvimd init --tls -------------------------------------------------------------
@dataclass(frozen=True)
class MadeFiles:
    ca: Path
    cert: Path
    key: Path
    client_cert: Path | None
    client_key: Path | None


def _key() -> ec.EllipticCurvePrivateKey:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _write(path: Path, data: bytes, private: bool) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _sign(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    days: int,
) -> x509.CertificateBuilder:
    from cryptography import x509

    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )


def default_sans() -> list[str]:
    names = ["localhost", "127.0.0.1", "::1"]
    for name in (socket.gethostname(), socket.getfqdn()):
        if name and name not in names:
            names.append(name)
    return names


def _san(value: str) -> x509.GeneralName:
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return x509.DNSName(value)


def make_certificates(directory: Path, sans: list[str], mtls: bool, days: int = 825) -> MadeFiles:
    """A CA, a server certificate for ``sans`` and, with ``mtls``, a client certificate for the
    orchestrator and the ``pop`` CLI; every key 0600, the directory 0700. An existing CA is
    never replaced: clients that trust it would all stop working."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    if (directory / "ca.pem").exists():
        raise ValueError(f"{directory / 'ca.pem'} exists already: remove {directory} first to make new ones")
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"popvim CA {socket.gethostname()}")])
    ca = (
        _sign(ca_name, ca_key, ca_name, ca_key, 3650)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = MadeFiles(
        directory / "ca.pem",
        directory / "server.pem",
        directory / "server-key.pem",
        directory / "client.pem" if mtls else None,
        directory / "client-key.pem" if mtls else None,
    )
    _write(directory / "ca-key.pem", _key_pem(ca_key), private=True)
    _write(files.ca, ca.public_bytes(serialization.Encoding.PEM), private=False)

    def leaf(cn: str, usage: x509.ObjectIdentifier, names: list[str]) -> tuple[bytes, bytes]:
        key = _key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        builder = (
            _sign(subject, key, ca_name, ca_key, days)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName([_san(n) for n in names]), critical=False)
        return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM), _key_pem(key)

    unique = list(dict.fromkeys(sans))
    cert, key = leaf(unique[0] if unique else "popvimd", ExtendedKeyUsageOID.SERVER_AUTH, unique)
    _write(files.cert, cert, private=False)
    _write(files.key, key, private=True)
    if mtls:
        assert files.client_cert is not None and files.client_key is not None
        cert, key = leaf("popvim-orchestrator", ExtendedKeyUsageOID.CLIENT_AUTH, [])
        _write(files.client_cert, cert, private=False)
        _write(files.client_key, key, private=True)
    return files
