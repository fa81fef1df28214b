"""A rediss:// broker as hosted Redis services give it: TLS, often with a
certificate the client cannot verify. A private redis-server with TLS on its
own port stands in for the hosted one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import trustme

from tests.targets import free_port

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import django
django.setup()
from django.core.cache import cache
from uptime import metrics
from uptime.celery import app

cache.set("tls-probe", "cache ok", 30)
print(cache.get("tls-probe"))
print("metrics ok" if metrics.client().ping() else "metrics failed")
with app.connection_for_write() as conn:
    queue = conn.SimpleQueue("tls-probe")
    queue.put({"broker": "ok"})
    message = queue.get(timeout=5)
    message.ack()
    print("broker", message.payload["broker"])
    queue.close()
"""


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A redis-server speaking only TLS, its certificate from a private CA."""
    folder = tmp_path_factory.mktemp("tls-redis")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    port = free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port", "0",
            "--tls-port", str(port),
            "--bind", "127.0.0.1",
            "--tls-cert-file", str(folder / "cert.pem"),
            "--tls-key-file", str(folder / "key.pem"),
            "--tls-ca-cert-file", str(folder / "ca.pem"),
            "--tls-auth-clients", "no",
            "--save", "", "--appendonly", "no",
            "--dir", str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        client = redis.Redis(
            port=port, ssl=True, ssl_cert_reqs="none", socket_timeout=1
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield port, folder / "ca.pem"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _probe(port: int, **env: str) -> subprocess.CompletedProcess[str]:
    full = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "uptime.settings",
        "REDIS_URL": f"rediss://127.0.0.1:{port}/0",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_hosted_style_rediss_url_works_with_verification_off(tls_redis) -> None:
    port, _ = tls_redis
    done = _probe(port, REDIS_SSL_CERT_REQS="none")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["cache ok", "metrics ok", "broker ok"]


def test_the_url_may_carry_ssl_cert_reqs_itself(tls_redis) -> None:
    port, _ = tls_redis
    done = _probe(port, REDIS_URL=f"rediss://127.0.0.1:{port}/0?ssl_cert_reqs=none")
    assert done.returncode == 0, done.stderr
    assert "broker ok" in done.stdout


def test_by_default_an_unverifiable_certificate_is_refused(tls_redis) -> None:
    port, _ = tls_redis
    done = _probe(port)
    assert done.returncode != 0
    assert "certificate verify failed" in done.stderr


def test_a_private_ca_bundle_makes_the_certificate_verifiable(tls_redis) -> None:
    port, ca = tls_redis
    done = _probe(port, REDIS_SSL_CA_CERTS=str(ca))
    assert done.returncode == 0, done.stderr
    assert "broker ok" in done.stdout
