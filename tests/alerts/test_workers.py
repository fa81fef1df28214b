"""Real Celery workers: a worker killed mid-send, and the whole path from a
failing target to an email, a Slack message and a webhook."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from alerts.models import Notification
from alerts.services import channel_confirm, channel_create, notifications_sweep
from monitors.models import Incident, Monitor, Tick
from tests.alerts.helpers import confirm_by_link, mailed_link
from tests.alerts.servers import Receiver, SMTPSink, slack_reply
from tests.e2e_support import celery_worker, dispatcher_loop, purge_broker, wait_for
from tests.targets import Target, respond

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def alert_worker_env(**extra: str) -> dict[str, str]:
    # The production settings module, so EMAIL_* from the environment are
    # used as in a deployment (the test settings pin the locmem backend).
    return {"DJANGO_SETTINGS_MODULE": "uptime.settings", **extra}


def test_a_worker_killed_between_send_and_record_resends_once_with_the_same_id(
    allow_private, make_monitor, regions, open_incident, project, settings, tmp_path
) -> None:
    settings.ALERTS_SWEEP_GRACE_SECONDS = 0
    receiver = Receiver()
    monitor = make_monitor(regions=regions[:1], failure_threshold=1)
    hook = channel_create(
        project=project,
        name="Hook",
        kind="webhook",
        target=receiver.url(),
        monitors=[monitor],
    )
    purge_broker()
    env = alert_worker_env(
        ALERTS_SEND_TIMEOUT_SECONDS="1", ALERTS_CLAIM_LEASE_SECONDS="2"
    )
    try:
        with celery_worker(
            ["alerts"], pool="solo", concurrency=1, log_path=tmp_path / "w1.log", **env
        ) as worker:
            # The receiver got the message; the worker dies before recording it.
            receiver.on_request = lambda req: os.kill(worker.pid, signal.SIGKILL)
            open_incident(monitor)
            wait_for(lambda: receiver.requests, timeout=15)
            worker.wait(10)
        receiver.on_request = None

        n = Notification.objects.get()
        assert (n.status, n.attempts) == ("pending", 1)
        assert n.locked_until is not None

        with celery_worker(
            ["alerts"], pool="solo", concurrency=1, log_path=tmp_path / "w2.log", **env
        ):
            # The claim lapses; the sweeper re-enqueues; a new worker sends.
            time.sleep(max((n.locked_until - timezone.now()).total_seconds(), 0) + 0.1)
            assert notifications_sweep() == [n.pk]
            wait_for(
                lambda: Notification.objects.filter(pk=n.pk, status="sent").exists(),
                timeout=15,
            )
    finally:
        receiver.stop()

    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == n.webhook_id
    assert first.body == second.body
    Webhook(hook.secret).verify(second.body, second.headers)
    n.refresh_from_db()
    assert n.attempts == 2


def test_down_then_up_sends_one_email_slack_and_webhook_each_time(
    allow_private, make_monitor, regions, project, smtp: SMTPSink, tmp_path: Path
) -> None:
    target = Target()
    state = {"code": 200}
    target.default = lambda h: respond(state["code"])(h)
    hook_rx, slack_rx = Receiver(), Receiver()
    slack_rx.default = slack_reply(200, "ok")
    arrivals: list[float] = []
    hook_rx.on_request = lambda req: arrivals.append(time.time())

    region = regions[0]
    monitor: Monitor = make_monitor(
        name="Shop",
        url=target.url("/health"),
        interval_seconds=1,
        timeout_seconds=0.5,
        failure_threshold=2,
        recovery_threshold=1,
        regions=[region],
    )
    hook = channel_create(
        project=project,
        name="Hook",
        kind="webhook",
        target=hook_rx.url(),
        monitors=[monitor],
    )
    channel_create(
        project=project,
        name="Slack",
        kind="slack",
        target=slack_rx.url("/services/T0/B0/xyz"),
        monitors=[monitor],
    )
    mail = channel_create(
        project=project,
        name="Mail",
        kind="email",
        target="ops@example.com",
        monitors=[monitor],
    )
    channel_confirm(channel=mail)  # as its recipient would, by the mailed link
    Monitor.objects.filter(pk=monitor.pk).update(next_check_at=monitor.created_at)
    purge_broker()
    mail_env = alert_worker_env(
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(settings.EMAIL_PORT),
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        UPTIME_ALLOW_PRIVATE_TARGETS="true",
    )
    try:
        with (
            celery_worker([f"checks.{region.code}"], log_path=tmp_path / "checks.log"),
            celery_worker(
                ["alerts"], concurrency=4, log_path=tmp_path / "alerts.log", **mail_env
            ),
            dispatcher_loop(),
        ):
            wait_for(lambda: monitor.ticks.exists(), timeout=20)
            state["code"] = 503
            incident = wait_for(
                lambda: Incident.objects.filter(monitor=monitor).first(), timeout=20
            )
            wait_for(
                lambda: hook_rx.requests and slack_rx.requests and smtp.messages,
                timeout=20,
            )
            opened_arrival = arrivals[0]

            state["code"] = 200
            wait_for(
                lambda: (
                    len(hook_rx.requests) == 2
                    and len(slack_rx.requests) == 2
                    and len(smtp.messages) == 2
                ),
                timeout=20,
            )
            # Nothing more arrives: exactly once per channel per event.
            time.sleep(1.5)
    finally:
        target.close()
        hook_rx.stop()
        slack_rx.stop()

    assert len(hook_rx.requests) == len(slack_rx.requests) == len(smtp.messages) == 2
    types = [
        Webhook(hook.secret).verify(r.body, r.headers)["type"] for r in hook_rx.requests
    ]
    assert types == ["incident.opened", "incident.resolved"]
    assert [m["Subject"] for m in smtp.messages] == [
        f"[DOWN] Shop ({monitor.url})",
        f"[UP] Shop ({monitor.url})",
    ]
    slack_texts = [json.loads(r.body)["text"] for r in slack_rx.requests]
    assert slack_texts[0].startswith("[DOWN] Shop") and slack_texts[1].startswith(
        "[UP] Shop"
    )
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert set(
        Notification.objects.filter(incident=incident).values_list("status", flat=True)
    ) == {"sent"}

    # The measured figure: the failing tick that opened the incident (the
    # latest DOWN tick at confirmation) to the webhook arriving on loopback.
    confirmed = incident.details["confirmed_at"]
    tick = (
        Tick.objects.filter(monitor=monitor, status="down")
        .order_by("checked_at")
        .last()
    )
    opening = (
        Tick.objects.filter(monitor=monitor, status="down", checked_at__lte=confirmed)
        .order_by("-checked_at")
        .first()
    )
    assert tick is not None and opening is not None
    from_tick = opened_arrival - opening.checked_at.timestamp()
    from_commit = opened_arrival - datetime.fromisoformat(confirmed).timestamp()
    print(
        f"\nALERT LATENCY failing tick -> webhook: {from_tick * 1000:.0f} ms; "
        f"incident confirmed -> webhook: {from_commit * 1000:.0f} ms"
    )
    assert from_tick < 5


def test_the_alerts_worker_mails_the_confirmation_then_the_queued_test_message(
    api, smtp: SMTPSink, tmp_path: Path
) -> None:
    purge_broker()
    mail_env = alert_worker_env(
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(settings.EMAIL_PORT),
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    )
    with celery_worker(
        ["alerts"],
        pool="threads",
        concurrency=8,
        log_path=tmp_path / "alerts.log",
        **mail_env,
    ):
        created = api.post(
            "/api/channels/",
            {"name": "Mail", "kind": "email", "target": "ops@example.com"},
            format="json",
        ).json()
        assert created["confirmed"] is False
        wait_for(lambda: smtp.messages, timeout=20)
        confirm_by_link(mailed_link(smtp.messages[0]))

        started = time.monotonic()
        queued = api.post(f"/api/channels/{created['id']}/test/")
        assert time.monotonic() - started < 1.0
        assert queued.status_code == 202
        wait_for(
            lambda: Notification.objects.filter(
                pk=queued.json()["id"], status="sent"
            ).exists(),
            timeout=20,
        )
    assert [m["To"] for m in smtp.messages] == ["ops@example.com"] * 2
    assert smtp.messages[0]["Subject"].startswith("Confirm alerts from")
    assert smtp.messages[1]["Subject"] == "[TEST] Uptime monitor"
