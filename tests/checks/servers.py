"""Loopback servers for the check-kind tests: TLS targets and a DNS server."""

from __future__ import annotations

import socket
import ssl
import tempfile
import threading
from datetime import UTC, datetime, timedelta

import dns.message
import dns.rcode
import dns.rrset
import trustme

from tests.targets import Target


def tls_server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


def tls_target(
    ca: trustme.CA, *, not_after: datetime | None = None, host: str = "127.0.0.1"
) -> Target:
    cert = ca.issue_cert(
        "localhost",
        "127.0.0.1",
        "::1",
        not_before=datetime.now(UTC) - timedelta(days=30),
        not_after=not_after or datetime.now(UTC) + timedelta(days=90),
    )
    return Target(host=host, ssl_context=tls_server_context(cert))


def self_signed_context(
    common_name: str, *, dns_name: str | None = None
) -> ssl.SSLContext:
    """A server context with a certificate that is its own issuer (no CA
    anyone trusts), ``common_name`` in its subject and issuer."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, common_name),
        ]
    )
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
    )
    if dns_name:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False
        )
    cert = builder.sign(key, hashes.SHA256())
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.NamedTemporaryFile("wb", suffix=".pem") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        f.flush()
        context.load_cert_chain(f.name)
    return context


def self_signed_target() -> Target:
    """A certificate that is its own issuer: no CA anyone trusts."""
    return Target(
        ssl_context=self_signed_context("self-signed.test", dns_name="localhost")
    )


class DnsServer:
    """A UDP DNS server on loopback answering from a dict.

    ``records[(name, type)] = [rdata text, ...]``; names not in any key get
    NXDOMAIN; ``silent = True`` makes it drop every query (a timeout).
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.records: dict[tuple[str, str], list[str]] = {}
        self.silent = False
        self.queries: list[tuple[str, str]] = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.2)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            query = dns.message.from_wire(data)
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True).lower()
            rdtype = dns.rdatatype.to_text(question.rdtype)
            self.queries.append((name, rdtype))
            if self.silent:
                continue
            response = dns.message.make_response(query)
            values = self.records.get((name, rdtype))
            if values:
                response.answer.append(
                    dns.rrset.from_text_list(name + ".", 300, "IN", rdtype, values)
                )
            elif not any(key[0] == name for key in self.records):
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), peer)

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=2)
        self.sock.close()
