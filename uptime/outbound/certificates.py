"""TLS trust for outbound requests, and what a peer's certificate says."""

from __future__ import annotations

import ssl
from typing import Any

import aiohttp


def ssl_context_with(extra_ca_file: str | None = None) -> ssl.SSLContext:
    """The system trust store, plus an extra CA bundle when one is given."""
    context = ssl.create_default_context()
    if extra_ca_file:
        context.load_verify_locations(cafile=extra_ca_file)
    return context


def certificate_summary(der: bytes) -> dict[str, Any]:
    """The parts of a certificate an operator needs, from its DER bytes.

    Parsed with ``cryptography`` rather than ``getpeercert()``, which returns
    nothing when verification is off (verify_tls=false, or the probe that
    fetches an invalid certificate for the evidence).
    """
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return {"error": "unparseable certificate"}
    try:
        sans = cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        sans = []
    return {
        "subject": cert.subject.rfc4514_string()[:300],
        "issuer": cert.issuer.rfc4514_string()[:300],
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "serial": format(cert.serial_number, "x")[:64],
        "dns_names": [str(name)[:253] for name in sans[:10]],
        "self_signed": cert.issuer == cert.subject,
    }


def transport_cert(transport: Any) -> dict[str, Any] | None:
    """The TLS version and certificate of a connected transport, if TLS."""
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    info: dict[str, Any] = {"version": ssl_object.version()}
    der = ssl_object.getpeercert(binary_form=True)
    if der:
        info.update(certificate_summary(der))
    return info


def response_cert(resp: aiohttp.ClientResponse) -> dict[str, Any] | None:
    conn = resp.connection
    if conn is None or conn.transport is None:
        return None
    return transport_cert(conn.transport)
