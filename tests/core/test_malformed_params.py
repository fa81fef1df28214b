"""Malformed query parameters and path values never end as a 500.

Every query parameter of every list endpoint and page gets every malformed
value below. The API answers 400 naming the parameter (or 404 for a page or
object that does not exist); pages answer 400 or 404, or ignore the value.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from alerts.services import channel_create
from monitors.models import Monitor, Project, Tick

pytestmark = pytest.mark.django_db

# As they appear in a query string (already percent-encoded where needed).
RAW_VALUES = [
    "2020-13-45",
    "2020-02-30T25:61:00",
    "2020-01-01T00:00:00%2B99:00",
    "0001-01-01T00:00:00-23:59",
    "9999-12-31T23:59:59%2B23:59",
    "%00",
    "a%00b",
    "abc",
    "-1",
    "0",
    "1.5",
    "99999999999999999999999",
    "1e400",
    "NaN",
    "0x10",
    "",
    "%20",
    "%27%20OR%201%3D1--",
    "%3Cscript%3E",
    "x" * 3000,
    "%",
    "%ff%fe",
    "%ED%A0%80",
    "%5B%5D",
]


def _cursor(query: str) -> str:
    return quote(base64.b64encode(query.encode()).decode())


# Hand-made cursors: DRF signs nothing, so a client can write any position.
CURSORS = [
    "garbage",
    _cursor("p=not-a-date"),
    _cursor("p=2020-13-45"),
    _cursor("o=abc"),
    _cursor("o=99999999999999999999&p=x"),
    _cursor("r=1&p=%00"),
]


@pytest.fixture
def world(owner: User, project: Project, make_monitor, regions):
    monitor = make_monitor()
    tick = Tick.objects.create(
        monitor=monitor,
        region=regions[0],
        scheduled_at=timezone.now(),
        checked_at=timezone.now(),
        status="up",
        response_time_ms=10,
    )
    channel = channel_create(
        project=project, name="Ops", kind="email", target="ops@example.com"
    )
    project.status_page_enabled = True
    project.save()
    return {"monitor": monitor, "channel": channel, "project": project, "tick": tick}


def _get(client: Client, path: str, query: str = "", **extra: Any):
    return client.get(path, QUERY_STRING=query, **extra)


def _api_problems(client: Client, path: str, params: list[str]) -> list[str]:
    problems = []
    for name in params:
        for raw in RAW_VALUES + (CURSORS if name == "cursor" else []):
            response = _get(client, path, f"{name}={raw}")
            where = f"{path}?{name}={raw[:40]} -> {response.status_code}"
            if response.status_code >= 500:
                problems.append(where)
            elif response.status_code == 400:
                body = json.loads(response.content)
                if name not in body:
                    problems.append(f"{where} does not name {name}: {body}")
            elif response.status_code not in (200, 404):
                problems.append(where)
    return problems


def test_the_api_never_answers_500_to_a_malformed_parameter(
    world, owner: User, settings
) -> None:
    settings.UPTIME_THROTTLE_API_USER = "100000/min"
    token = Token.objects.create(user=owner)
    client = Client(
        raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {token.key}"
    )
    pages = ["page", "page_size"]
    mid = world["monitor"].pk
    endpoints = {
        "/api/monitors/": pages,
        f"/api/monitors/{mid}/ticks/": [
            "region",
            "since",
            "until",
            "cursor",
            "page_size",
        ],
        f"/api/monitors/{mid}/ticks/{world['tick'].pk}/": ["at"],
        "/api/incidents/": ["monitor", "status", *pages],
        "/api/regions/": pages,
        "/api/channels/": pages,
        "/api/notifications/": ["incident", "channel", *pages],
    }
    problems = []
    for path, params in endpoints.items():
        problems += _api_problems(client, path, params)
    assert problems == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/monitors/{bad}/",
        "/api/monitors/{bad}/ticks/",
        "/api/monitors/{mid}/ticks/{bad}/",
        "/api/incidents/{bad}/",
        "/api/channels/{bad}/",
    ],
)
def test_a_malformed_id_in_an_api_path_is_a_404(world, owner: User, path: str) -> None:
    token = Token.objects.create(user=owner)
    client = Client(
        raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {token.key}"
    )
    for bad in ["abc", "-1", "99999999999999999999999", "%00", "1.5", "%ff"]:
        url = path.format(bad=bad, mid=world["monitor"].pk)
        response = client.get(url)
        assert response.status_code in (400, 404), (url, response.status_code)


def _page_problems(client: Client, path: str, params: list[str]) -> list[str]:
    problems = []
    for name in params:
        for raw in RAW_VALUES:
            response = _get(client, path, f"{name}={raw}")
            if response.status_code not in (200, 302, 400, 404):
                problems.append(f"{path}?{name}={raw[:40]} -> {response.status_code}")
    return problems


def test_pages_never_answer_500_to_a_malformed_parameter(world, owner: User) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    monitor: Monitor = world["monitor"]
    pages = {
        "/": ["q", "status", "per_page", "page", "partial"],
        f"/monitors/{monitor.pk}/": ["range"],
        f"/monitors/{monitor.pk}/ticks/{world['tick'].pk}/": ["at"],
        "/incidents/": ["page"],
        "/channels/": ["page"],
        "/project/": ["page"],
        f"/status/{world['project'].slug}/": ["page"],
        f"/badge/{monitor.badge_key}/status.svg": ["style"],
        "/accounts/login/": ["next"],
        "/accounts/signup/": ["next"],
    }
    problems = []
    for path, params in pages.items():
        problems += _page_problems(client, path, params)
    anonymous = Client(raise_request_exception=False)
    problems += _page_problems(anonymous, "/accounts/login/", ["next"])
    problems += _page_problems(anonymous, "/accounts/signup/", ["next"])
    assert problems == []


def test_admin_lists_never_answer_500_to_a_malformed_parameter(world) -> None:
    root = User.objects.create_superuser("root", "root@example.com", "pw-root-123!")
    client = Client(raise_request_exception=False)
    client.force_login(root)
    lists = [
        "/admin/monitors/monitor/",
        "/admin/monitors/tick/",
        "/admin/monitors/incident/",
        "/admin/monitors/project/",
        "/admin/alerts/channel/",
        "/admin/alerts/notification/",
    ]
    problems = []
    for path in lists:
        problems += _page_problems(client, path, ["q", "p", "o", "status__exact"])
    problems += _page_problems(client, "/admin/monitors/tick/", ["scheduled"])
    tick_page = f"/admin/monitors/tick/{world['tick'].pk}/change/"
    problems += _page_problems(client, tick_page, ["at"])
    assert problems == []


@pytest.mark.parametrize(
    "path",
    [
        "/badge/{bad}/status.svg",
        "/badge/{bad}/uptime.svg",
        "/ping/{bad}/",
        "/ping/{bad}",
        "/status/{bad}/",
        "/monitors/{bad}/",
        "/invite/{bad}/",
    ],
)
def test_a_malformed_key_in_a_page_path_is_a_404(world, owner: User, path: str) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    for bad in ["%00", "a%00b", "%ff%fe", "x" * 3000, "%27%20OR%201%3D1--", "-1"]:
        url = path.format(bad=bad)
        response = client.get(url)
        assert response.status_code in (301, 400, 404), (url[:80], response.status_code)
