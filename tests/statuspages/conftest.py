from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from monitors.models import Project
from statuspages import outbox
from statuspages.models import StatusPage, SubscriberMessage
from statuspages.services import status_page_create
from tests.alerts.conftest import (  # noqa: F401  (fixtures shared with the alert tests)
    fast_retries,
    open_incident,
    receiver,
    smtp,
)


@pytest.fixture
def make_page(owner, project: Project):
    """A page through the write path: ``groups`` maps a group name to its
    monitors (a monitor or a (monitor, display name) pair)."""

    def make(groups: dict[str, list[Any]] | None = None, **fields: Any) -> StatusPage:
        fields.setdefault("slug", "shop")
        fields.setdefault("title", "Shop status")
        layout = [
            {
                "name": name,
                "monitors": [
                    {"monitor": m[0], "display_name": m[1]}
                    if isinstance(m, tuple)
                    else {"monitor": m, "display_name": ""}
                    for m in monitors
                ],
            }
            for name, monitors in (groups or {}).items()
        ]
        return status_page_create(
            user=owner,
            project=fields.pop("project", project),
            fields=fields,
            layout=layout,
        )

    return make


def run_queued() -> dict[int, str]:
    """The ``statuspages.deliver`` task body for every pending row, as the
    alerts worker runs it after commit (a test's transaction never commits,
    so nothing was queued)."""
    pending = SubscriberMessage.objects.filter(status="pending").order_by("id")
    return {
        pk: outbox.message_deliver(message_id=pk)
        for pk in pending.values_list("pk", flat=True)
    }


def mail_text(message) -> str:
    part = message.get_payload(decode=True) if not message.is_multipart() else None
    if part is None:
        part = message.get_payload()[0].get_payload(decode=True)
    return part.decode()


def link_path(text: str, kind: str) -> str:
    match = re.search(rf"http://\S+(/status/[^/\s]+/{kind}/\S+/)", text)
    assert match, text
    return match.group(1)


def subscribe(page: StatusPage, target: str, kind: str = "email", **extra: Any):
    """A visitor with a browser that enforces CSRF: GET the form, POST it."""
    browser = Client(enforce_csrf_checks=True, **extra)
    url = f"/status/{page.slug}/subscribe/"
    form = browser.get(url)
    assert form.status_code == 200
    token = form.cookies["csrftoken"].value
    return browser.post(
        url, {"kind": kind, "target": target, "csrfmiddlewaretoken": token}
    )


def confirm(path: str):
    browser = Client(enforce_csrf_checks=True)
    asked = browser.get(path)
    assert asked.status_code == 200
    assert b"Confirm your subscription" in asked.content
    token = asked.cookies["csrftoken"].value
    return browser.post(path, {"csrfmiddlewaretoken": token})
