"""Real workers: a child monitor's incident is suppressed while its parent is
down and alerts normally after; an Apprise URL delivers through the alerts
worker."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from alerts.models import Notification
from alerts.services import channel_create
from monitors.models import Incident, Monitor
from tests.alerts.servers import Receiver
from tests.e2e_support import celery_worker, dispatcher_loop, purge_broker, wait_for
from tests.targets import Target, respond

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


# The production settings module for the alerts worker, as in a deployment.
ALERTS_SETTINGS = "uptime.settings"


def test_child_incident_is_suppressed_while_its_parent_is_down_and_alerts_after(
    allow_private, make_monitor, regions, project, tmp_path: Path
) -> None:
    target = Target()
    codes = {"/lb": 200, "/page": 200}
    target.default = lambda h: respond(codes.get(h.path, 404))(h)
    hook_rx = Receiver()
    region = regions[0]
    common = {
        "interval_seconds": 1,
        "timeout_seconds": 0.5,
        "recovery_threshold": 1,
        "regions": [region],
    }
    lb: Monitor = make_monitor(
        name="LB", url=target.url("/lb"), failure_threshold=1, **common
    )
    # Three failed checks before its own incident: the parent's opens first.
    page: Monitor = make_monitor(
        name="Page",
        url=target.url("/page"),
        failure_threshold=3,
        depends_on=lb,
        **common,
    )
    hook = channel_create(
        project=project,
        name="Hook",
        kind="webhook",
        target=hook_rx.url(),
        monitors=[lb, page],
    )
    Monitor.objects.filter(pk__in=[lb.pk, page.pk]).update(next_check_at=lb.created_at)
    purge_broker()

    def received() -> list[tuple[str, str]]:
        out = []
        for req in list(hook_rx.requests):
            body = Webhook(hook.secret).verify(req.body, req.headers)
            out.append((body["data"]["monitor"]["name"], body["type"]))
        return out

    try:
        with (
            celery_worker(
                [f"checks.{region.code}"],
                log_path=tmp_path / "checks.log",
                # Down, up, down within a few checks would also start the
                # flapping rule, which holds DOWN alerts back; off here.
                UPTIME_FLAP_HIGH_PERCENT="100",
                UPTIME_FLAP_LOW_PERCENT="99",
            ),
            celery_worker(
                ["alerts"],
                concurrency=2,
                log_path=tmp_path / "alerts.log",
                DJANGO_SETTINGS_MODULE=ALERTS_SETTINGS,
            ),
            dispatcher_loop(),
        ):
            wait_for(lambda: lb.ticks.exists() and page.ticks.exists(), timeout=20)

            # The load balancer fails, and with it the page behind it.
            codes.update({"/lb": 503, "/page": 503})
            parent = wait_for(
                lambda: Incident.objects.filter(monitor=lb).first(), timeout=20
            )
            child = wait_for(
                lambda: Incident.objects.filter(monitor=page).first(), timeout=20
            )
            assert child.suppressed and child.suppressed_by_id == parent.pk
            wait_for(lambda: ("LB", "incident.opened") in received(), timeout=20)

            # Both recover: the parent's recovery is announced, the child's
            # suppressed incident resolves without a word.
            codes.update({"/lb": 200, "/page": 200})
            wait_for(
                lambda: not Incident.objects.filter(status="open").exists(),
                timeout=20,
            )
            wait_for(lambda: ("LB", "incident.resolved") in received(), timeout=20)

            # The page fails on its own now: its alerts go out as usual.
            codes["/page"] = 503
            again = wait_for(
                lambda: (
                    Incident.objects.filter(monitor=page).exclude(pk=child.pk).first()
                ),
                timeout=20,
            )
            assert not again.suppressed
            wait_for(lambda: ("Page", "incident.opened") in received(), timeout=20)
            codes["/page"] = 200
            wait_for(lambda: ("Page", "incident.resolved") in received(), timeout=20)
            time.sleep(1.5)  # nothing more arrives
    finally:
        target.close()
        hook_rx.stop()

    assert received() == [
        ("LB", "incident.opened"),
        ("LB", "incident.resolved"),
        ("Page", "incident.opened"),
        ("Page", "incident.resolved"),
    ]
    assert not Notification.objects.filter(incident=child).exists()
    child.refresh_from_db()
    assert child.status == "resolved" and child.suppressed


def test_an_apprise_url_delivers_through_the_alerts_worker(
    allow_private, api, tmp_path: Path
) -> None:
    receiver = Receiver()
    purge_broker()
    try:
        with celery_worker(
            ["alerts"],
            pool="solo",
            log_path=tmp_path / "alerts.log",
            DJANGO_SETTINGS_MODULE=ALERTS_SETTINGS,
        ):
            created = api.post(
                "/api/channels/",
                {
                    "name": "ntfy",
                    "kind": "apprise",
                    "target": f"ntfy://127.0.0.1:{receiver.port}/ops-alerts",
                },
                format="json",
            ).json()
            queued = api.post(f"/api/channels/{created['id']}/test/").json()
            wait_for(
                lambda: Notification.objects.filter(
                    pk=queued["id"], status="sent"
                ).exists(),
                timeout=20,
            )
    finally:
        receiver.stop()
    [req] = receiver.requests
    body = json.loads(req.body)
    assert body["topic"] == "ops-alerts"
    assert body["title"] == "[TEST] Uptime monitor"
