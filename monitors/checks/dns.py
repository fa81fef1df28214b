"""DNS checks with dnspython: the name resolves (to the expected value).

Options: ``record_type`` (A, AAAA, CNAME, MX, TXT, NS), ``expected`` (one of
the answers must equal it), ``resolver`` (``ip:port``; empty = the worker's
system resolver). A resolver the user names is held to the same address
rule as every other target.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Mapping
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.rdatatype
import dns.resolver

from uptime import outbound, sanitize

from .base import (
    CheckContext,
    CheckKind,
    CheckResult,
    CheckSpec,
    OptionField,
    down,
    up_or_degraded,
)
from .options import DNS_RECORD_TYPES, parse_dns_name, parse_resolver

MAX_RECORDS = 20


def _record_text(rdtype: str, rdata: Any) -> str:
    if rdtype in ("A", "AAAA"):
        return str(rdata.address)
    if rdtype in ("CNAME", "NS"):
        return str(rdata.target.to_text(omit_final_dot=True)).lower()
    if rdtype == "MX":
        exchange = rdata.exchange.to_text(omit_final_dot=True).lower()
        return f"{rdata.preference} {exchange}"
    if rdtype == "TXT":
        # Shown with invalid bytes escaped (\xff), NUL as \x00.
        return sanitize.clean_text(b"".join(rdata.strings))
    return str(rdata.to_text())


def _matches(rdtype: str, expected: str, records: list[str]) -> bool:
    want = expected.strip()
    if rdtype in ("A", "AAAA"):
        try:
            address = ipaddress.ip_address(want)
        except ValueError:
            return False
        return any(ipaddress.ip_address(r) == address for r in records)
    if rdtype == "TXT":
        return want.strip('"') in records
    want = want.lower().rstrip(".")
    # MX: "10 mail.example.com" or just the exchange "mail.example.com".
    return any(want in (r, r.split(" ", 1)[-1]) for r in records)


def _any_blocked(rdtype: str, records: list[str]) -> bool:
    if rdtype not in ("A", "AAAA"):
        return False
    return any(outbound.address_is_blocked(ipaddress.ip_address(r)) for r in records)


async def check_dns(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    options = spec.options
    rdtype = options.get("record_type") or "A"
    expected = (options.get("expected") or "").strip()
    name = spec.url.strip().rstrip(".")
    details: dict[str, Any] = {"name": name, "record_type": rdtype}
    started = time.monotonic()

    def elapsed() -> int:
        took = int((time.monotonic() - started) * 1000)
        details["timings"] = {"total_ms": took}
        return took

    try:
        if options.get("resolver"):
            ip, port = parse_resolver(options["resolver"])
            if not ctx.allow_private and outbound.address_is_blocked(
                ipaddress.ip_address(ip)
            ):
                return down(
                    "blocked_address",
                    f"Refused to query a non-public resolver ({ip}).",
                    details=details,
                )
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [ip]
            resolver.port = port
            details["resolver"] = f"{ip}:{port}"
        elif ctx.default_resolver:
            ip, port = parse_resolver(ctx.default_resolver)
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [ip]
            resolver.port = port
            details["resolver"] = "default"
        else:
            resolver = dns.asyncresolver.Resolver()
            details["resolver"] = "system"
        resolver.lifetime = spec.timeout
        resolver.timeout = spec.timeout
        async with asyncio.timeout(spec.timeout + 0.5):
            answer = await resolver.resolve(
                name, rdtype, lifetime=spec.timeout, raise_on_no_answer=True
            )
    except dns.resolver.NXDOMAIN:
        return down(
            "dns",
            f"{name} does not exist (NXDOMAIN).",
            response_time_ms=elapsed(),
            details=details,
        )
    except dns.resolver.NoAnswer:
        return down(
            "dns",
            f"{name} has no {rdtype} records.",
            response_time_ms=elapsed(),
            details=details,
        )
    except (dns.exception.Timeout, TimeoutError):
        return down(
            "timeout",
            "The resolver did not answer within the timeout.",
            response_time_ms=elapsed(),
            details=details,
        )
    except dns.resolver.NoNameservers:
        # dnspython's text lists the resolvers it asked: not shown.
        return down(
            "dns",
            "No resolver could answer.",
            response_time_ms=elapsed(),
            details=details,
        )
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        return down(
            "dns",
            f"DNS lookup failed: {exc}"[:500],
            response_time_ms=elapsed(),
            details=details,
        )
    took = elapsed()
    # An RRset is unordered: sort, so evidence reads the same tick to tick.
    records = sorted(_record_text(rdtype, r) for r in answer)[:MAX_RECORDS]
    if not ctx.allow_private and _any_blocked(rdtype, records):
        # A DNS monitor must not become a way to map someone's private
        # network: refuse, and never echo the address in the evidence.
        return down(
            "blocked_address",
            f"{rdtype} {name} resolved to a non-public address.",
            response_time_ms=took,
            details=details,
        )
    details["records"] = [r[:500] for r in records]
    details["ttl"] = answer.rrset.ttl if answer.rrset is not None else None
    if expected and not _matches(rdtype, expected, records):
        return down(
            "assertion",
            f"{rdtype} {name} answered {', '.join(records)[:300]}, not {expected}.",
            response_time_ms=took,
            details=details,
        )
    return up_or_degraded(
        spec,
        f"{rdtype} {name}: {', '.join(records)[:300]}",
        response_time_ms=took,
        details=details,
    )


# --- The kind's declaration ----------------------------------------------------


def _clean_target(target: str, *, allow_private: bool) -> str:
    # A name, not an address: the resolver is what the address rule covers.
    return parse_dns_name(target)


def _clean_resolver(text: str) -> str:
    value = (text or "").strip()
    if not value:
        return ""
    ip, port = parse_resolver(value)
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _public_resolver(
    values: Mapping[str, Any], *, allow_private: bool
) -> dict[str, str]:
    resolver = values.get("dns_resolver") or ""
    if allow_private or not resolver:
        return {}
    try:
        ip, _port = parse_resolver(resolver)
    except ValueError:
        return {}  # the field's own error already says why
    if outbound.address_is_blocked(ipaddress.ip_address(ip)):
        return {
            "dns_resolver": f"{ip} is a private or reserved address; use a public "
            "resolver or leave empty for the system resolver."
        }
    return {}


def _settings(source: Any, config: Any) -> dict[str, Any]:
    return {
        "record_type": source.dns_record_type,
        "expected": source.dns_expected,
        "resolver": source.dns_resolver,
    }


KIND = CheckKind(
    name="dns",
    label="DNS",
    run=check_dns,
    clean_target=_clean_target,
    target_label="Domain name",
    target_help="The name to look up, for example example.com.",
    options=(
        OptionField(
            "dns_record_type",
            "DNS record type",
            default="A",
            choices=DNS_RECORD_TYPES,
        ),
        OptionField(
            "dns_expected",
            "Expected DNS value",
            default="",
            help_text="One of the answers must equal this (optional).",
        ),
        OptionField("dns_resolver", "DNS resolver", default="", clean=_clean_resolver),
    ),
    check_together=_public_resolver,
    settings_from=_settings,
)
