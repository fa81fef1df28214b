from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from monitors.models import Membership, Monitor, Project, Region
from monitors.services import regions_sync
from tests import e2e_support
from tests.targets import Target

# The browser fixtures (browser, page) for every directory's browser tests.
pytest_plugins = ["tests.browser"]


def _hosts_file_names() -> set[str]:
    names = {"localhost"}
    try:
        lines = Path("/etc/hosts").read_text().splitlines()
    except OSError:
        return names
    for line in lines:
        fields = line.split("#", 1)[0].split()
        names.update(name.lower().rstrip(".") for name in fields[1:])
    return names


@pytest.fixture(autouse=True, scope="session")
def no_dns_beyond_this_machine() -> Iterator[None]:
    """The machine's resolver is not on loopback, and tests send nothing off it.

    Numeric hosts and hosts-file names resolve as usual (no query leaves the
    machine for them); any other name (``shop.example``, ``x.invalid``) fails
    here as an unknown name would, the one stand-in for the outside DNS.
    """
    real = socket.getaddrinfo
    local = _hosts_file_names()

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if name is None or name.lower().rstrip(".") in local:
            return real(host, port, family, type, proto, flags)
        try:
            return real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        except socket.gaierror:
            raise socket.gaierror(
                socket.EAI_NONAME, "Name or service not known"
            ) from None

    socket.getaddrinfo = getaddrinfo
    yield
    socket.getaddrinfo = real


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    """Rate-limit counters live in Redis and outlive a test: each starts at zero."""
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(autouse=True)
def _processes_only_in_e2e_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    """Worker and beat processes start only in tests marked e2e, which the
    inner loop (`make test-fast`) leaves out."""
    e2e_support.running_e2e_test = request.node.get_closest_marker("e2e") is not None
    yield
    e2e_support.running_e2e_test = False


@pytest.fixture(autouse=True)
def replayed_slots_run(settings) -> None:
    """Tests replay past slots through the runner to build a history; the lag
    guard would record those batches as missed. It is off unless a test
    turns it on (tests/core/test_lag_guard.py). Checks of an in-process
    batch start together: a test's batch for "now" need not wait up to a
    second for its phases (tests/checks/test_runtime.py turns them on;
    worker processes keep the default)."""
    settings.UPTIME_MAX_START_LAG_SECONDS = 0
    settings.UPTIME_SPREAD_CHECKS = False


@pytest.fixture
def regions(db) -> list[Region]:
    regions_sync()
    return list(Region.objects.filter(active=True).order_by("code"))


@pytest.fixture
def owner(db) -> User:
    return User.objects.create_user("alice", "alice@example.com", "pw-alice-123!")


@pytest.fixture
def project(owner: User) -> Project:
    return Project.objects.get(owner=owner)


@pytest.fixture
def teammate(project: Project) -> User:
    user = User.objects.create_user("bob", "bob@example.com", "pw-bob-123!")
    project.members.add(user)
    return user


@pytest.fixture
def make_member(project: Project):
    """A user with ``role`` in the owner's project (as if they had accepted)."""

    def make(role: str, name: str | None = None) -> User:
        username = name or f"{role}-user"
        user = User.objects.create_user(
            username, f"{username}@example.com", "pw-member-123!"
        )
        Membership.objects.create(project=project, user=user, role=role)
        return user

    return make


@pytest.fixture
def outsider(db) -> User:
    return User.objects.create_user("mallory", "mallory@example.com", "pw-mal-123!")


def api_client_for(user: User) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def client_for(user: User) -> Client:
    """A browser session logged in as ``user``."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner: User) -> Client:
    return client_for(owner)


@pytest.fixture
def teammate_client(teammate: User) -> Client:
    return client_for(teammate)


@pytest.fixture
def outsider_client(outsider: User) -> Client:
    return client_for(outsider)


@pytest.fixture
def api(owner: User) -> APIClient:
    return api_client_for(owner)


@pytest.fixture
def outsider_api(outsider: User) -> APIClient:
    return api_client_for(outsider)


@pytest.fixture
def allow_private(settings) -> None:
    """Checks may reach loopback targets (the default install refuses them)."""
    settings.UPTIME_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def target() -> Iterator[Target]:
    server = Target()
    yield server
    server.close()


@pytest.fixture
def make_monitor(project: Project, regions: list[Region]):
    def make(**kwargs: Any) -> Monitor:
        region_list = kwargs.pop("regions", regions)
        fields = {
            "project": project,
            "name": "Shop",
            "url": "https://shop.example/",
            "interval_seconds": 60,
            "timeout_seconds": 5,
        }
        fields.update(kwargs)
        monitor = Monitor.objects.create(**fields)
        monitor.regions.set(region_list)
        return monitor

    return make
