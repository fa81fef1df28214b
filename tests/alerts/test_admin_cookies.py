"""Admin saves never put a channel's secret or secret URL into a cookie."""

from __future__ import annotations

import base64
import binascii
import zlib
from http.cookies import SimpleCookie

import pytest
from django.contrib.auth.models import User
from django.test import Client

from alerts.models import Channel

pytestmark = pytest.mark.django_db


def readable_forms(value: str) -> list[str]:
    """A cookie value as stored and as a reader would decode it: Django's
    signed cookies are base64 (zlib-compressed when they start with '.')."""
    forms = [value]
    payload = value.split(":", 1)[0]
    compressed = payload.startswith(".")
    payload = payload.lstrip(".")
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        forms.append(
            (zlib.decompress(raw) if compressed else raw).decode(errors="replace")
        )
    except (binascii.Error, zlib.error, ValueError):
        pass
    return forms


def cookie_text(responses: list) -> str:
    texts = []
    for response in responses:
        jar: SimpleCookie = response.cookies
        for morsel in jar.values():
            texts += readable_forms(morsel.value)
    return "\n".join(texts)


def walk(client: Client, method: str, url: str, data: dict | None = None) -> list:
    """A request and the redirects after it, each response kept."""
    responses = [getattr(client, method)(url, data or {})]
    while responses[-1].status_code in (301, 302):
        responses.append(client.get(responses[-1]["Location"]))
    return responses


def test_an_admin_save_puts_no_channel_secret_in_any_cookie(
    client, owner: User, project, receiver, allow_private
) -> None:
    User.objects.filter(pk=owner.pk).update(is_staff=True, is_superuser=True)
    client.force_login(owner)
    secret_path = "/services/T0/B0/secret-url-token-6f1c"
    form = {
        "project": project.pk,
        "name": "Hook",
        "kind": "webhook",
        "target": receiver.url(secret_path),
        "secret": "",
        "enabled": "on",
        "notify_down": "on",
        "notify_up": "on",
    }

    added = walk(client, "post", "/admin/alerts/channel/add/", form)
    channel = Channel.objects.get()
    changed = walk(
        client,
        "post",
        f"/admin/alerts/channel/{channel.pk}/change/",
        {**form, "name": "Hook 2", "target": receiver.url(secret_path + "-new")},
    )

    cookies = cookie_text(added + changed)
    assert channel.secret not in cookies
    assert "secret-url-token" not in cookies
    # The signing secret is still shown once, on the page after the save.
    assert channel.secret in added[-1].content.decode()
