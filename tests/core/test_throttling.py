"""Rate limits on logins, sign-ups, password resets and the API (real Redis)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def login(client: Client, username: str, password: str, **extra: Any):
    return client.post(
        reverse("login"), {"username": username, "password": password}, **extra
    )


# --- login ----------------------------------------------------------------------


def test_it_locks_the_login_after_too_many_failures_from_one_address(
    owner: User, settings
) -> None:
    settings.UPTIME_THROTTLE_LOGIN = "3/day"
    client = Client()
    for _ in range(3):
        assert login(client, "alice", "wrong").status_code == 200

    response = login(client, "alice", "pw-alice-123!")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_counts_failures_per_user_name_across_addresses(
    owner: User, outsider: User, settings
) -> None:
    settings.UPTIME_THROTTLE_LOGIN = "3/day"
    client = Client()
    for i in range(3):
        login(client, "ALICE", "wrong", REMOTE_ADDR=f"203.0.113.{i}")

    assert (
        login(client, "alice", "wrong", REMOTE_ADDR="198.51.100.7").status_code == 429
    )
    # Another account from a fresh address is not held.
    fresh = login(client, "mallory", "pw-mal-123!", REMOTE_ADDR="198.51.100.8")
    assert fresh.status_code == 302


def test_it_does_not_count_successful_logins(owner: User, settings) -> None:
    settings.UPTIME_THROTTLE_LOGIN = "2/day"
    for _ in range(4):
        assert login(Client(), "alice", "pw-alice-123!").status_code == 302


def test_it_ignores_a_client_written_x_forwarded_for_by_default(
    owner: User, settings
) -> None:
    settings.UPTIME_THROTTLE_LOGIN = "2/day"
    client = Client()
    for i in range(2):
        login(client, f"nobody{i}", "x", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    blocked = login(client, "nobody9", "x", HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert blocked.status_code == 429


def test_behind_a_proxy_it_tells_clients_apart_by_x_forwarded_for(
    owner: User, settings
) -> None:
    settings.UPTIME_THROTTLE_LOGIN = "2/day"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client = Client()
    for i in range(2):
        login(client, f"nobody{i}", "x", HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert (
        login(client, "nobody8", "x", HTTP_X_FORWARDED_FOR="192.0.2.1").status_code
        == 429
    )
    # The proxy's own address is shared; the client it names is not.
    other = login(client, "nobody9", "x", HTTP_X_FORWARDED_FOR="192.0.2.2")
    assert other.status_code == 200


def test_an_ipv6_client_is_counted_by_its_64(owner: User, settings) -> None:
    settings.UPTIME_THROTTLE_LOGIN = "2/day"
    client = Client()
    login(client, "nobody1", "x", REMOTE_ADDR="2001:db8:1:2::1")
    login(client, "nobody2", "x", REMOTE_ADDR="2001:db8:1:2::ffff")
    assert (
        login(client, "nobody3", "x", REMOTE_ADDR="2001:db8:1:2:aaaa::9").status_code
        == 429
    )
    assert (
        login(client, "nobody4", "x", REMOTE_ADDR="2001:db8:1:3::1").status_code == 200
    )


def test_the_admin_login_is_limited_too(db, settings) -> None:
    User.objects.create_superuser("root", "root@example.com", "pw-root-123!")
    settings.UPTIME_THROTTLE_LOGIN = "2/day"
    client = Client()
    url = reverse("admin:login")
    for _ in range(2):
        client.post(url, {"username": "root", "password": "wrong"})

    response = client.post(url, {"username": "root", "password": "pw-root-123!"})

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


# --- sign-up and password reset ----------------------------------------------------


def test_it_limits_sign_ups_per_address(regions, settings) -> None:
    settings.UPTIME_THROTTLE_SIGNUP = "2/day"
    for i in range(3):
        client = Client()
        response = client.post(
            reverse("dashboard:signup"),
            {
                "username": f"new{i}",
                "email": f"new{i}@example.com",
                "password1": "a-long-pass-phrase-7",
                "password2": "a-long-pass-phrase-7",
            },
        )
    assert response.status_code == 429
    assert set(User.objects.values_list("username", flat=True)) == {"new0", "new1"}


def test_it_limits_password_reset_emails(owner: User, settings) -> None:
    settings.UPTIME_THROTTLE_PASSWORD_RESET = "2/day"
    codes = [
        Client()
        .post(
            reverse("password_reset"),
            {"email": "alice@example.com"},
            REMOTE_ADDR=f"203.0.113.{i}",
        )
        .status_code
        for i in range(3)
    ]
    # Per email address: many addresses cannot flood one mailbox.
    assert codes == [302, 302, 429]
    assert len(mail.outbox) == 2


# --- API ---------------------------------------------------------------------------


def test_wrong_api_tokens_lock_the_address_out(owner: User, settings) -> None:
    settings.UPTIME_THROTTLE_API_AUTH = "3/day"
    token = Token.objects.create(user=owner)
    client = APIClient()
    for i in range(3):
        client.credentials(HTTP_AUTHORIZATION=f"Token guess{i}")
        assert client.get("/api/monitors/").status_code == 401

    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get("/api/monitors/")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    # Another address is not held.
    assert client.get("/api/monitors/", REMOTE_ADDR="203.0.113.5").status_code == 200


def test_wrong_api_keys_count_against_the_same_limit(owner: User, settings) -> None:
    settings.UPTIME_THROTTLE_API_AUTH = "3/day"
    client = APIClient()
    # Bearer keys and our prefixed Token keys, one counter per address.
    for header in ("Bearer guess0", "Bearer guess1", "Token upk_guess2"):
        client.credentials(HTTP_AUTHORIZATION=header)
        assert client.get("/api/monitors/").status_code == 401
    token = Token.objects.create(user=owner)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/monitors/").status_code == 429


def test_api_requests_are_limited_per_user(api: APIClient, settings) -> None:
    settings.UPTIME_THROTTLE_API_USER = "3/day"
    codes = [api.get("/api/regions/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


# --- registration ------------------------------------------------------------------


def test_with_registration_closed_sign_up_is_refused(regions, settings) -> None:
    settings.REGISTRATION_OPEN = False
    client = Client()
    page = client.get(reverse("dashboard:signup"))
    posted = client.post(
        reverse("dashboard:signup"),
        {
            "username": "new",
            "email": "new@example.com",
            "password1": "a-long-pass-phrase-7",
            "password2": "a-long-pass-phrase-7",
        },
    )
    assert page.status_code == posted.status_code == 403
    assert "Sign-up is closed" in posted.content.decode()
    assert not User.objects.filter(username="new").exists()


def test_with_registration_closed_the_login_page_has_no_sign_up_link(
    db, settings
) -> None:
    signup = reverse("dashboard:signup")
    assert signup in Client().get(reverse("login")).content.decode()
    settings.REGISTRATION_OPEN = False
    assert signup not in Client().get(reverse("login")).content.decode()


def test_without_redis_the_limits_are_skipped_not_the_logins(
    owner: User, settings
) -> None:
    from tests.targets import free_port

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "KEY_PREFIX": "uptime-test",
        }
    }
    settings.UPTIME_THROTTLE_LOGIN = "1/day"
    client = Client()
    assert login(client, "alice", "wrong").status_code == 200
    assert login(client, "alice", "pw-alice-123!").status_code == 302
