"""Email recipients confirm by a mailed link before they receive alerts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from alerts.models import Channel, Notification
from alerts.services import channel_create, channel_update
from monitors.models import Project
from tests.alerts.conftest import record
from tests.alerts.helpers import confirm_by_link, mailed_link, run_queued
from tests.alerts.servers import SMTPSink

pytestmark = pytest.mark.django_db


def test_a_new_email_channel_sends_nothing_but_its_confirmation_until_confirmed(
    api, owner_client, smtp: SMTPSink, make_monitor, regions
) -> None:
    monitor = make_monitor(regions=regions[:1], failure_threshold=1)
    created = api.post(
        "/api/channels/",
        {
            "name": "Ops",
            "kind": "email",
            "target": "ops@example.com",
            "monitors": [monitor.pk],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["confirmed"] is False
    channel_id = created.json()["id"]
    # Queued for the alerts worker, not sent by the web request.
    assert smtp.messages == []
    record(monitor, regions[0], "down")
    test = api.post(f"/api/channels/{channel_id}/test/").json()

    outcomes = run_queued()

    [mail] = smtp.messages
    assert mail["To"] == "ops@example.com"
    assert mail["Subject"].startswith("Confirm alerts from")
    opened = Notification.objects.get(channel_id=channel_id, event="incident.opened")
    for held in (opened, Notification.objects.get(pk=test["id"])):
        held.refresh_from_db()
        assert outcomes[held.pk] == "skipped"
        assert held.status == "skipped"  # not failed, not retried
        assert held.attempts == 1
        assert "awaiting confirmation" in held.last_error
    shown = api.get(f"/api/notifications/{opened.pk}/").json()
    assert shown["status"] == "skipped"
    assert "has not confirmed" in shown["last_error"]
    assert api.get(f"/api/channels/{channel_id}/").json()["confirmed"] is False
    timeline = owner_client.get(
        reverse("dashboard:incident", args=[opened.incident_id])
    )
    assert "awaiting confirmation" in timeline.content.decode()

    confirm_by_link(mailed_link(mail))

    assert api.get(f"/api/channels/{channel_id}/").json()["confirmed"] is True
    queued = api.post(f"/api/channels/{channel_id}/test/").json()
    assert run_queued() == {queued["id"]: "sent"}
    assert smtp.messages[-1]["Subject"] == "[TEST] Uptime monitor"


def test_the_confirm_page_asks_on_get_confirms_on_post_and_is_idempotent(
    make_channel, make_monitor, smtp: SMTPSink
) -> None:
    make_monitor(name="Secret shop", url="https://secret-shop.example/")
    channel = make_channel("email", "ops@example.com", confirm=False, name="Ops")
    run_queued()
    path = mailed_link(smtp.messages[0])
    browser = Client(enforce_csrf_checks=True)

    page = browser.get(path)
    assert page.status_code == 200
    assert b"ops@example.com" in page.content
    assert b'<button class="btn btn-primary" type="submit">Confirm' in page.content
    # It shows what is asked and nothing of the project's contents.
    assert b"Secret shop" not in page.content
    assert b"secret-shop.example" not in page.content
    channel.refresh_from_db()
    assert channel.confirmed is False  # a GET (a mail scanner) confirms nothing

    assert browser.post(path).status_code == 403  # no CSRF token
    channel.refresh_from_db()
    assert channel.confirmed is False

    confirm_by_link(path, clicks=2)  # a second click: still confirmed, no error
    again = Client().get(path)
    assert again.status_code == 200
    assert b"Confirmed" in again.content
    channel.refresh_from_db()
    assert channel.confirmed is True


def test_changing_the_address_resets_confirmation_and_the_old_link_dies(
    make_channel, smtp: SMTPSink
) -> None:
    channel = make_channel("email", "old@example.com", confirm=False)
    run_queued()
    old_link = mailed_link(smtp.messages[0])
    confirm_by_link(old_link)

    channel = channel_update(channel=channel, target="new@example.com")
    assert channel.confirmed is False
    run_queued()
    assert smtp.messages[-1]["To"] == "new@example.com"
    new_link = mailed_link(smtp.messages[-1])
    assert new_link != old_link

    stale = Client().get(old_link)
    assert stale.status_code == 404
    assert b"new@example.com" not in stale.content
    channel.refresh_from_db()
    assert channel.confirmed is False
    confirm_by_link(new_link)
    channel.refresh_from_db()
    assert channel.confirmed is True

    # Other edits keep the confirmation.
    channel = channel_update(channel=channel, name="Renamed", target="new@example.com")
    assert channel.confirmed is True


def test_a_confirmation_queued_for_an_old_address_is_not_sent(
    make_channel, smtp: SMTPSink
) -> None:
    channel = make_channel("email", "old@example.com", confirm=False)
    channel_update(channel=channel, target="new@example.com")
    outcomes = run_queued()
    assert sorted(outcomes.values()) == ["sent", "skipped"]
    assert [m["To"] for m in smtp.messages] == ["new@example.com"]


def test_a_forged_or_expired_link_confirms_nothing(
    make_channel, smtp: SMTPSink, monkeypatch
) -> None:
    channel = make_channel("email", "ops@example.com", confirm=False)
    run_queued()
    path = mailed_link(smtp.messages[0])
    forged = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    assert Client().get(forged).status_code == 404
    assert Client().post(forged).status_code == 404
    assert Client().get("/channels/confirm/not-a-token/").status_code == 404

    import alerts.services.confirmation as confirmation

    monkeypatch.setattr(confirmation, "CONFIRM_MAX_AGE", timedelta(seconds=-1))
    expired = Client().get(path)
    assert expired.status_code == 404
    assert b"not valid" in expired.content
    channel.refresh_from_db()
    assert channel.confirmed is False


def test_slack_and_webhook_channels_need_no_confirmation(
    make_channel, receiver, allow_private
) -> None:
    hook = make_channel("webhook", receiver.url())
    slack = make_channel("slack", receiver.url("/services/T0/B0/x"))
    assert hook.confirmed and slack.confirmed
    assert not Notification.objects.exists()  # no confirmation mail for them


def test_the_dashboard_shows_awaiting_confirmation_and_resends_the_link(
    owner_client, project, smtp: SMTPSink
) -> None:
    response = owner_client.post(
        reverse("alerts:channel_create"),
        {"name": "Ops", "kind": "email", "target": "ops@example.com", "enabled": "on"},
        follow=True,
    )
    assert b"sends nothing until ops@example.com confirms" in response.content
    assert b"Awaiting confirmation" in response.content
    channel = Channel.objects.get()
    resend = reverse("alerts:channel_confirmation_resend", args=[channel.pk])
    assert owner_client.post(resend).status_code == 302
    run_queued()
    assert [m["To"] for m in smtp.messages] == ["ops@example.com"] * 2
    confirm_by_link(mailed_link(smtp.messages[1]))
    page = owner_client.get(reverse("alerts:channels"))
    assert b"Awaiting confirmation" not in page.content


def test_the_api_resends_the_confirmation_only_while_it_waits(
    api, make_channel
) -> None:
    waiting = make_channel("email", "ops@example.com", confirm=False)
    resp = api.post(f"/api/channels/{waiting.pk}/confirmation/")
    assert resp.status_code == 202
    assert resp.json()["event"] == "channel.confirmation"
    confirmed = make_channel("email", "dev@example.com")
    resp = api.post(f"/api/channels/{confirmed.pk}/confirmation/")
    assert resp.status_code == 400
    assert "confirmed" in resp.json()


@pytest.fixture
def back_to_latest() -> Iterator[None]:
    """Whatever the test does to the schema, later tests get the latest one."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest")
def test_channels_made_before_the_upgrade_keep_sending() -> None:
    before = [("alerts", "0003_notification_flapping_events")]
    after = [("alerts", "0004_channel_confirmation")]
    user = User.objects.create_user("carol-m", "c@example.com")
    project = Project.objects.get(owner=user)  # made at signup
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    old.get_model("alerts", "Channel").objects.create(
        project_id=project.pk, name="Mail", kind="email", target="c@example.com"
    )

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    channels = new.get_model("alerts", "Channel").objects
    assert list(channels.values_list("name", "confirmed")) == [("Mail", True)]

    # Made after the upgrade, through the write path: it waits.
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    fresh = channel_create(
        project=project, name="New", kind="email", target="d@example.com"
    )
    assert fresh.confirmed is False
