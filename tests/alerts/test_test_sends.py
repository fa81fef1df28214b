"""Channel test messages: queued on the alerts worker, never sent in the web
request, and rate-limited per user."""

from __future__ import annotations

import base64
import json
import time

import pytest
import redis
from django.conf import settings
from django.urls import reverse

from alerts import tasks
from alerts.models import Notification
from monitors.models import Project
from tests.alerts.servers import Receiver
from tests.conftest import api_client_for, client_for
from uptime import queues

pytestmark = pytest.mark.django_db


@pytest.fixture
def slow_receiver():
    """A webhook receiver that takes 10 s to answer."""
    server = Receiver()
    server.on_request = lambda req: time.sleep(10)
    yield server
    server.stop()


def _queued_deliveries(broker: redis.Redis) -> dict[bytes, int]:
    """The ``alerts.deliver`` tasks waiting in the ``alerts`` queue, by raw
    message, with the notification id each one carries."""
    found: dict[bytes, int] = {}
    raws: list[bytes] = broker.lrange(queues.ALERTS, 0, -1)  # type: ignore[assignment]  # the sync client returns the list
    for raw in raws:
        message = json.loads(raw)
        if message["headers"].get("task") != "alerts.deliver":
            continue
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        found[raw] = args[0]
    return found


def test_a_test_send_to_a_slow_receiver_answers_at_once_and_queues_on_alerts(
    api, slow_receiver: Receiver, allow_private, django_capture_on_commit_callbacks
) -> None:
    channel = api.post(
        "/api/channels/",
        {"name": "Slow", "kind": "webhook", "target": slow_receiver.url()},
        format="json",
    ).json()

    with django_capture_on_commit_callbacks() as callbacks:
        started = time.monotonic()
        resp = api.post(f"/api/channels/{channel['id']}/test/")
        took = time.monotonic() - started
    assert resp.status_code == 202
    assert took < 1.0
    assert resp.json()["status"] == "pending"
    assert slow_receiver.requests == []

    # After commit, the delivery goes to the broker's alerts queue.
    broker = redis.Redis.from_url(settings.REDIS_URL)
    mine: dict[bytes, int] = {}
    try:
        before = set(_queued_deliveries(broker))
        for callback in callbacks:
            callback()
        mine = {
            raw: pk
            for raw, pk in _queued_deliveries(broker).items()
            if raw not in before
        }
        assert list(mine.values()) == [resp.json()["id"]]
    finally:
        for raw in mine:
            broker.lrem(queues.ALERTS, 1, raw)  # type: ignore[arg-type]  # bytes are accepted as values
        broker.close()


def test_the_worker_not_the_request_waits_for_a_slow_receiver(
    api, slow_receiver: Receiver, allow_private, settings
) -> None:
    settings.ALERTS_SEND_TIMEOUT_SECONDS = 1
    channel = api.post(
        "/api/channels/",
        {"name": "Slow", "kind": "webhook", "target": slow_receiver.url()},
        format="json",
    ).json()
    queued = api.post(f"/api/channels/{channel['id']}/test/").json()

    started = time.monotonic()
    assert tasks.deliver(queued["id"]) == "failed"  # the alerts worker's task
    assert time.monotonic() - started >= 1.0
    polled = api.get(f"/api/notifications/{queued['id']}/").json()
    assert polled["status"] == "failed"
    assert len(slow_receiver.requests) == 1  # tried once: a test is not retried


def test_the_dashboard_queues_a_test_send_without_waiting(
    owner_client, project, slow_receiver: Receiver, allow_private
) -> None:
    from alerts.services import channel_create

    channel = channel_create(
        project=project, name="Slow", kind="webhook", target=slow_receiver.url()
    )
    started = time.monotonic()
    response = owner_client.post(
        reverse("alerts:channel_test", args=[channel.pk]), follow=True
    )
    assert time.monotonic() - started < 1.0
    assert b"queued" in response.content
    assert Notification.objects.get(channel=channel).status == "pending"


def test_test_sends_are_rate_limited_per_user(
    api, owner, outsider, project, make_channel, receiver, allow_private, settings
) -> None:
    settings.UPTIME_THROTTLE_CHANNEL_SENDS = "2/min"
    hook = make_channel("webhook", receiver.url())
    url = f"/api/channels/{hook.pk}/test/"
    assert [api.post(url).status_code for _ in range(2)] == [202, 202]

    refused = api.post(url)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert "UPTIME_THROTTLE_CHANNEL_SENDS" in refused.json()["detail"]
    assert Notification.objects.filter(channel=hook).count() == 2

    page = client_for(owner).post(reverse("alerts:channel_test", args=[hook.pk]))
    assert page.status_code == 429
    assert b"Too many messages" in page.content

    # Another user's sends are counted apart.
    theirs = make_channel(
        "webhook", receiver.url(), project=Project.objects.get(owner=outsider)
    )
    assert (
        api_client_for(outsider).post(f"/api/channels/{theirs.pk}/test/").status_code
        == 202
    )


def test_confirmation_resends_share_the_limit(api, make_channel, settings) -> None:
    settings.UPTIME_THROTTLE_CHANNEL_SENDS = "1/min"
    mail = make_channel("email", "ops@example.com", confirm=False)
    url = f"/api/channels/{mail.pk}/confirmation/"
    assert api.post(url).status_code == 202
    assert api.post(url).status_code == 429
    assert api.post(f"/api/channels/{mail.pk}/test/").status_code == 429


def test_past_the_limit_a_save_still_works_but_its_confirmation_waits(
    api, settings
) -> None:
    settings.UPTIME_THROTTLE_CHANNEL_SENDS = "1/min"
    first, second = (
        api.post(
            "/api/channels/",
            {"name": f"M{n}", "kind": "email", "target": f"m{n}@example.com"},
            format="json",
        )
        for n in (1, 2)
    )
    assert first.status_code == second.status_code == 201
    mailed = Notification.objects.filter(event="channel.confirmation")
    assert list(mailed.values_list("channel_id", flat=True)) == [first.json()["id"]]
    assert second.json()["confirmed"] is False
