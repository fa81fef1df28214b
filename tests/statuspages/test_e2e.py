"""End to end with a real alerts worker: subscribers confirm, get an
incident, its update and its resolution, and unsubscribe."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.test import Client
from standardwebhooks.webhooks import Webhook

from monitors.incident_updates import incident_update_post
from statuspages.models import StatusPageSubscriber, SubscriberMessage
from tests.alerts.conftest import record
from tests.alerts.test_workers import alert_worker_env
from tests.e2e_support import celery_worker, purge_broker, wait_for

from .conftest import confirm, link_path, mail_text, subscribe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_subscribers_confirm_get_an_incident_and_its_update_and_unsubscribe(
    smtp, receiver, allow_private, owner, make_monitor, make_page, regions, tmp_path
) -> None:
    region = regions[0]
    monitor = make_monitor(
        name="Checkout", regions=[region], failure_threshold=1, recovery_threshold=1
    )
    page = make_page({"Shop": [(monitor, "Payments")]})
    purge_broker()
    env = alert_worker_env(
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(settings.EMAIL_PORT),
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        UPTIME_ALLOW_PRIVATE_TARGETS="true",
    )
    with celery_worker(["alerts"], concurrency=4, log_path=tmp_path / "a.log", **env):
        assert subscribe(page, "ann@example.com").status_code == 200
        hooked = subscribe(page, receiver.url(), kind="webhook")
        assert hooked.status_code == 200
        secret = StatusPageSubscriber.objects.get(kind="webhook").secret
        (asked,) = wait_for(lambda: smtp.messages, timeout=20)
        assert (
            b"Confirmed"
            in confirm(link_path(mail_text(asked), "subscribe/confirm")).content
        )

        record(monitor, region, "down")
        incident = monitor.incidents.get()
        wait_for(lambda: len(smtp.messages) == 2 and len(receiver.requests) == 1)
        incident_update_post(
            user=owner, incident=incident, status="identified", body="Card processor."
        )
        wait_for(lambda: len(smtp.messages) == 3 and len(receiver.requests) == 2)
        record(monitor, region, "up")
        wait_for(lambda: len(smtp.messages) == 4 and len(receiver.requests) == 3)

        unsubscribe = link_path(mail_text(smtp.messages[-1]), "unsubscribe")
        assert (
            b"Unsubscribed"
            in Client(enforce_csrf_checks=True).post(unsubscribe).content
        )
        incident_update_post(
            user=owner, incident=incident, status="resolved", body="All good."
        )
        wait_for(lambda: len(receiver.requests) == 4)
        time.sleep(1.5)  # nothing more arrives: once per subscriber and event

    subjects = [m["Subject"] for m in smtp.messages]
    assert subjects == [
        "Confirm your subscription to Shop status",
        "[Shop status] Payments is down",
        "[Shop status] Update on Payments: identified",
        "[Shop status] Payments is operational again",
    ]
    assert "Card processor." in mail_text(smtp.messages[2])
    events = [
        Webhook(secret).verify(r.body, r.headers)["type"] for r in receiver.requests
    ]
    assert events == [
        "incident.opened",
        "incident.updated",
        "incident.resolved",
        "incident.updated",
    ]
    assert len(set(receiver.ids())) == 4
    assert set(SubscriberMessage.objects.values_list("status", flat=True)) == {"sent"}
