"""Acknowledge and escalate with real Celery workers: the alerts worker runs
``alerts.escalate_due`` and ``alerts.remind`` (sent as beat sends them) and
delivers what they write to loopback webhook receivers."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.test import Client
from standardwebhooks.webhooks import Webhook

from alerts import tasks
from alerts.models import Notification
from alerts.services import policy_save
from monitors.models import Incident, Monitor
from tests.alerts.servers import Receiver
from tests.conftest import api_client_for
from tests.e2e_support import celery_worker, purge_broker, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _opened_minutes_ago(incident: Incident, minutes: float) -> None:
    """As if the incident had opened ``minutes`` ago: the delays count from
    its confirmation time."""
    details = dict(incident.details)
    confirmed = datetime.fromisoformat(details["confirmed_at"])
    details["confirmed_at"] = (confirmed - timedelta(minutes=minutes)).isoformat()
    Incident.objects.filter(pk=incident.pk).update(details=details)


def _ack_by_link(url: str, name: str) -> None:
    """Someone without an account, in a browser that enforces CSRF."""
    path = "/" + url.split("/", 3)[3]
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(path)
    assert page.status_code == 200
    done = browser.post(
        path, {"csrfmiddlewaretoken": page.cookies["csrftoken"].value, "name": name}
    )
    assert done.status_code == 200 and b"Acknowledged" in done.content


def _incident_ids(receiver: Receiver, secret: str, kind: str) -> list[int]:
    out = []
    for request in receiver.requests:
        body = Webhook(secret).verify(request.body, request.headers)
        if body["type"] == kind:
            out.append(body["data"]["incident"]["id"])
    return out


def test_a_step_fires_after_its_delay_and_acknowledging_stops_steps_and_reminders(
    allow_private,
    make_monitor,
    regions,
    make_channel,
    open_incident,
    owner,
    tmp_path: Path,
) -> None:
    first_rx, second_rx, remind_rx = Receiver(), Receiver(), Receiver()
    first = make_channel(name="first", target=first_rx.url())
    second = make_channel(name="second", target=second_rx.url())
    reminders = make_channel(
        name="reminders", target=remind_rx.url(), reminder_minutes=1
    )
    policy = policy_save(
        project=first.project,
        name="On call",
        steps=[
            {"delay_minutes": 0, "channels": [first]},
            {"delay_minutes": 1, "channels": [second]},
        ],
    )

    def monitor(name: str, *, escalates: bool) -> Monitor:
        m = make_monitor(name=name, regions=regions[:1], failure_threshold=1)
        if escalates:
            Monitor.objects.filter(pk=m.pk).update(escalation_policy=policy)
            m.refresh_from_db()
            m.channels.clear()
        else:
            m.channels.set([reminders])
        return m

    acked_esc = monitor("acked, escalates", escalates=True)
    silent_esc = monitor("nobody acks, escalates", escalates=True)
    acked_rem = monitor("acked, reminds", escalates=False)
    silent_rem = monitor("nobody acks, reminds", escalates=False)
    purge_broker()
    try:
        with celery_worker(["alerts"], log_path=tmp_path / "alerts.log"):
            incidents = {
                m.pk: open_incident(m)
                for m in (acked_esc, silent_esc, acked_rem, silent_rem)
            }
            # The opening alerts: the no-delay step, and the flat list.
            wait_for(lambda: len(first_rx.requests) == 2, timeout=20)
            wait_for(lambda: len(remind_rx.requests) == 2, timeout=20)

            # Too early for the second step: the task runs, writes nothing.
            tasks.escalate_due.delay()
            time.sleep(2)
            assert second_rx.requests == []

            opened = Notification.objects.get(
                incident=incidents[acked_esc.pk], channel=first
            )
            _ack_by_link(opened.payload["data"]["acknowledge_url"], "Pat")
            answer = api_client_for(owner).post(
                f"/api/incidents/{incidents[acked_rem.pk].pk}/acknowledge/",
                {"note": "on it"},
                format="json",
            )
            assert answer.status_code == 200
            for incident in incidents.values():
                _opened_minutes_ago(incident, 1.1)

            # As beat sends them: the delay has passed, nobody acknowledged
            # one incident of each kind.
            tasks.escalate_due.delay()
            tasks.remind.delay()
            wait_for(lambda: second_rx.requests, timeout=20)
            wait_for(lambda: len(remind_rx.requests) == 3, timeout=20)
            # Sent again, as beat repeats them: nothing new (once per step).
            tasks.escalate_due.delay()
            tasks.remind.delay()
            time.sleep(2)

            # The escalation's own link acknowledges the last one.
            escalated = json.loads(second_rx.requests[0].body)
            _ack_by_link(escalated["data"]["acknowledge_url"], "Sam")
            _opened_minutes_ago(incidents[silent_esc.pk], 5)
            tasks.escalate_due.delay()
            time.sleep(2)
    finally:
        for rx in (first_rx, second_rx, remind_rx):
            rx.stop()

    assert escalated["type"] == "incident.escalated"
    assert escalated["data"]["escalation"]["step"] == 1
    assert _incident_ids(second_rx, second.secret, "incident.escalated") == [
        incidents[silent_esc.pk].pk
    ]
    assert _incident_ids(remind_rx, reminders.secret, "incident.reminder") == [
        incidents[silent_rem.pk].pk
    ]
    acked = Incident.objects.get(pk=incidents[acked_esc.pk].pk)
    assert acked.acknowledger == "Pat"
    assert Incident.objects.get(pk=incidents[silent_esc.pk].pk).acknowledger == "Sam"
    assert set(
        Notification.objects.filter(incident__in=incidents.values()).values_list(
            "status", flat=True
        )
    ) == {"sent"}
