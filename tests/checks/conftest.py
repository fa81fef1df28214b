from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

from monitors.checks import REGISTRY
from monitors.checks.base import CheckContext, CheckResult, CheckSpec
from uptime import outbound

from .servers import DnsServer


def run_check(
    kind: str,
    url: str,
    *,
    timeout: float = 2.0,
    allow_private: bool = True,
    ssl_context: ssl.SSLContext | None = None,
    default_resolver: str = "",
    **options: Any,
) -> CheckResult:
    """One check of a kind, through the same guarded session the runner uses."""

    async def go() -> CheckResult:
        context = ssl_context or outbound.ssl_context_with(None)
        async with outbound.guarded_session(
            allow_private=allow_private, ssl_context=context
        ) as session:
            ctx = CheckContext(
                session=session,
                allow_private=allow_private,
                user_agent="test",
                ssl_context=context,
                default_resolver=default_resolver,
            )
            return await REGISTRY[kind](CheckSpec(kind, url, timeout, options), ctx)

    return asyncio.run(go())


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path) -> str:
    path = tmp_path / "test-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    server = DnsServer()
    yield server
    server.close()
