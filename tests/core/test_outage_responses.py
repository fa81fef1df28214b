"""A database outage answers 503, never an HTML 500.

The outage is real: the test's connection (the one the test client's
requests use) goes through a loopback proxy to PostgreSQL that the test
cuts and restores.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import close_old_connections
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.faults import PgProxy

pytestmark = pytest.mark.django_db(transaction=True)


def database_back(proxy: PgProxy) -> None:
    proxy.restore()
    # What Django does at the start of every request, except under the test
    # client, which leaves it out: drop the connection the outage broke.
    close_old_connections()


def api_client(user: User) -> APIClient:
    # Exceptions become responses, as they do for a real client.
    client = APIClient(raise_request_exception=False)
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def test_the_api_answers_a_json_503_while_the_database_is_down(
    owner: User, regions, proxied_database: PgProxy
) -> None:
    client = api_client(owner)
    assert client.get("/api/monitors/").status_code == 200

    proxied_database.sever()
    response = client.get("/api/monitors/")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert "unavailable" in response.json()["detail"]
    assert int(response["Retry-After"]) > 0
    # No internals leak into the answer.
    assert "psycopg" not in response.content.decode()
    assert "OperationalError" not in response.content.decode()

    database_back(proxied_database)
    assert client.get("/api/monitors/").status_code == 200


def test_a_write_to_the_api_while_the_database_is_down_is_a_503_too(
    owner: User, regions, proxied_database: PgProxy
) -> None:
    client = api_client(owner)
    client.get("/api/monitors/")
    proxied_database.sever()
    response = client.post(
        "/api/monitors/",
        {"name": "Shop", "url": "https://shop.example/", "interval_seconds": 60},
        format="json",
    )
    assert response.status_code == 503
    assert "unavailable" in response.json()["detail"]


def test_a_dashboard_page_is_a_plain_503_page_while_the_database_is_down(
    owner: User, proxied_database: PgProxy
) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    assert client.get("/").status_code == 200

    proxied_database.sever()
    response = client.get("/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"Temporarily unavailable" in response.content
    assert response["Retry-After"]

    database_back(proxied_database)
    assert client.get("/").status_code == 200


def test_a_bug_in_the_api_is_still_a_500_in_json(
    owner: User, regions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitors.api import views

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(views.MonitorViewSet, "list", broken)
    response = api_client(owner).get("/api/monitors/")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}
