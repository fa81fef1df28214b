"""Operator messages about region health: email and webhook through the
channel transports, once per change and recipient, retried like the outbox."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from alerts.models import NotificationStatus, OperatorNotification
from alerts.services import (
    operator_notification_deliver,
    operator_notifications_sweep,
)
from monitors.models import Region, RegionHealthEvent
from monitors.regionhealth import regions_health_record, worker_heartbeat

pytestmark = pytest.mark.django_db

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _kill_region(region: Region, settings) -> list[RegionHealthEvent]:
    t = timezone.now() - timedelta(minutes=2)
    worker_heartbeat(worker="checks@box", regions=[region], now=t)
    return regions_health_record(
        now=t + timedelta(seconds=settings.UPTIME_REGION_SILENT_SECONDS + 1)
    )


def _deliver_all() -> list[str]:
    return [
        operator_notification_deliver(notification_id=pk, enqueue=lambda *a: None)
        for pk in OperatorNotification.objects.order_by("pk").values_list(
            "pk", flat=True
        )
    ]


def test_an_unhealthy_region_is_emailed_to_each_operator_once(
    regions, settings, smtp
) -> None:
    settings.UPTIME_OPERATOR_EMAILS = ["ops@example.com", "oncall@example.com"]
    settings.UPTIME_OPERATOR_WEBHOOK_URL = ""
    eu = regions[0]
    assert len(_kill_region(eu, settings)) == 1
    assert _deliver_all() == ["sent", "sent"]
    assert _deliver_all() == ["skipped", "skipped"]  # sent rows are not resent
    subjects = {m["Subject"] for m in smtp.messages}
    assert subjects == {f"[REGION UNHEALTHY] Region {eu.code}"}
    assert sorted(m["To"] for m in smtp.messages) == [
        "oncall@example.com",
        "ops@example.com",
    ]
    assert "heartbeat" in smtp.messages[0].get_payload()[0].get_payload()


def test_the_operator_webhook_is_signed_and_retried_after_a_transient_failure(
    regions, settings, receiver, allow_private, fast_retries
) -> None:
    settings.UPTIME_OPERATOR_EMAILS = []
    settings.UPTIME_OPERATOR_WEBHOOK_URL = receiver.url("/ops")
    settings.UPTIME_OPERATOR_WEBHOOK_SECRET = SECRET
    receiver.replies = [(503, b"busy", {})]
    _kill_region(regions[0], settings)
    assert _deliver_all() == ["retry"]
    row = OperatorNotification.objects.get()
    OperatorNotification.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now()
    )
    assert _deliver_all() == ["sent"]
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    payload = Webhook(SECRET).verify(second.body.decode(), second.headers)
    assert payload["type"] == "region.unhealthy"
    assert json.loads(second.body)["data"]["healthy"] is False
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 2)


def test_a_refused_operator_webhook_fails_without_retrying(
    regions, settings, receiver, allow_private
) -> None:
    settings.UPTIME_OPERATOR_EMAILS = []
    settings.UPTIME_OPERATOR_WEBHOOK_URL = receiver.url("/ops")
    receiver.default = (404, b"no", {})
    _kill_region(regions[0], settings)
    assert _deliver_all() == ["failed"]
    assert OperatorNotification.objects.get().status == NotificationStatus.FAILED


def test_a_lost_delivery_task_is_swept(
    regions, settings, receiver, allow_private
) -> None:
    settings.UPTIME_OPERATOR_EMAILS = []
    settings.UPTIME_OPERATOR_WEBHOOK_URL = receiver.url("/ops")
    _kill_region(regions[0], settings)
    row = OperatorNotification.objects.get()
    later = timezone.now() + timedelta(seconds=settings.ALERTS_SWEEP_GRACE_SECONDS + 1)
    swept: list[int] = []
    assert operator_notifications_sweep(
        now=later, enqueue=lambda ids, _: swept.extend(ids)
    ) == [row.pk]
    assert swept == [row.pk]


def test_without_recipients_the_change_is_still_recorded(regions, settings) -> None:
    settings.UPTIME_OPERATOR_EMAILS = []
    settings.UPTIME_OPERATOR_WEBHOOK_URL = ""
    assert len(_kill_region(regions[0], settings)) == 1
    assert not OperatorNotification.objects.exists()


def test_health_rows_in_the_admin_are_for_superusers_only(
    regions, settings, owner, django_user_model
) -> None:
    settings.UPTIME_OPERATOR_WEBHOOK_URL = "https://ops.example/hook/s3cr3t-path"
    _kill_region(regions[0], settings)
    root = django_user_model.objects.create_superuser("root", "r@example.com", "pw")
    staff = django_user_model.objects.create_user(
        "staff", "s@example.com", "pw", is_staff=True
    )
    admin = Client()
    admin.force_login(root)
    for path in (
        "/admin/monitors/workerheartbeat/",
        "/admin/monitors/regionhealthevent/",
        "/admin/alerts/operatornotification/",
    ):
        page = admin.get(path)
        assert page.status_code == 200, path
        assert "s3cr3t-path" not in page.content.decode()
    other = Client()
    other.force_login(staff)
    assert other.get("/admin/monitors/workerheartbeat/").status_code == 403
