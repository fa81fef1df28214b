"""The channels API, the monitor's channels field and the delivery log."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from alerts.models import Channel, Notification, mask_url
from alerts.services import channel_confirm, channel_create
from monitors.models import Project, Role
from tests.alerts.helpers import run_queued
from tests.alerts.servers import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def foreign_channel(outsider) -> Channel:
    project = Project.objects.get(owner=outsider)
    return channel_create(
        project=project, name="Theirs", kind="email", target="them@example.com"
    )


def test_create_webhook_generates_a_secret_shown_once(
    api, receiver: Receiver, allow_private
) -> None:
    resp = api.post(
        "/api/channels/",
        {"name": "Hook", "kind": "webhook", "target": receiver.url("/hook/abcdef")},
        format="json",
    )
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert body["secret"].startswith("whsec_")
    assert body["target"] == receiver.url("/hook/abcdef")
    assert body["notify_down"] is body["notify_up"] is True

    shown = api.get(f"/api/channels/{body['id']}/").json()
    assert "secret" not in shown
    assert shown["target"] == f"http://127.0.0.1:{receiver.port}/…cdef"
    listed = api.get("/api/channels/").json()["results"]
    assert [c["id"] for c in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert Channel.objects.get().secret == body["secret"]


def test_create_with_a_given_secret_keeps_it(api, receiver, allow_private) -> None:
    from alerts.models import generate_secret

    secret = generate_secret()
    resp = api.post(
        "/api/channels/",
        {"name": "H", "kind": "webhook", "target": receiver.url(), "secret": secret},
        format="json",
    )
    assert resp.status_code == 201
    assert resp.json()["secret"] == secret


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "email", "target": "not-an-address"}, "target"),
        ({"kind": "webhook", "target": "ftp://example.com/x"}, "target"),
        ({"kind": "webhook", "target": "http://127.0.0.1:9/x"}, "target"),
        ({"kind": "slack", "target": "http://169.254.169.254/latest"}, "target"),
        ({"kind": "slack", "target": "http://[::1]:9/x"}, "target"),
        ({"kind": "pager", "target": "x"}, "kind"),
        (
            {"kind": "webhook", "target": "https://example.com/h", "secret": "abc"},
            "secret",
        ),
        (
            {
                "kind": "webhook",
                "target": "https://example.com/h",
                "secret": "whsec_!!",
            },
            "secret",
        ),
        (
            {"kind": "email", "target": "a@example.com", "secret": "whsec_AAAA"},
            "secret",
        ),
        (
            {"kind": "email", "target": "a@example.com", "reminder_minutes": 0},
            "reminder_minutes",
        ),
        (
            {"kind": "email", "target": "a@example.com", "monitors": [999999]},
            "monitors",
        ),
    ],
)
def test_bad_channels_are_a_400_naming_the_field(api, payload, field) -> None:
    resp = api.post("/api/channels/", {"name": "X", **payload}, format="json")
    assert resp.status_code == 400, resp.content
    assert field in resp.json()


def test_patch_updates_and_masks_and_delete_removes(
    api, receiver, allow_private
) -> None:
    created = api.post(
        "/api/channels/",
        {"name": "Hook", "kind": "webhook", "target": receiver.url()},
        format="json",
    ).json()
    url = f"/api/channels/{created['id']}/"
    resp = api.patch(
        url,
        {"notify_up": False, "reminder_minutes": 30, "name": "Renamed"},
        format="json",
    )
    assert resp.status_code == 200
    assert resp.json()["notify_up"] is False
    assert resp.json()["reminder_minutes"] == 30
    assert "secret" not in resp.json()
    # The secret is unchanged by a patch that does not name it.
    assert Channel.objects.get().secret == created["secret"]

    assert api.patch(url, {"kind": "email"}, format="json").status_code == 400
    assert api.put(url, {"name": "x"}, format="json").status_code == 405
    assert api.delete(url).status_code == 204
    assert not Channel.objects.exists()


def test_send_test_delivers_a_signed_test_event(
    api, receiver: Receiver, allow_private
) -> None:
    created = api.post(
        "/api/channels/",
        {"name": "Hook", "kind": "webhook", "target": receiver.url()},
        format="json",
    ).json()
    resp = api.post(f"/api/channels/{created['id']}/test/")
    assert resp.status_code == 202
    assert resp.json()["status"] == "pending"
    assert resp.json()["event"] == "test"
    assert receiver.requests == []  # the alerts worker sends it
    run_queued()
    polled = api.get(f"/api/notifications/{resp.json()['id']}/").json()
    assert polled["status"] == "sent"
    [req] = receiver.requests
    payload = Webhook(created["secret"]).verify(req.body, req.headers)
    assert payload["type"] == "test"


def test_send_test_reports_the_failure(api, receiver: Receiver, allow_private) -> None:
    receiver.default = (500, b"broken", {})
    created = api.post(
        "/api/channels/",
        {"name": "Hook", "kind": "webhook", "target": receiver.url()},
        format="json",
    ).json()
    queued = api.post(f"/api/channels/{created['id']}/test/").json()
    run_queued()
    body = api.get(f"/api/notifications/{queued['id']}/").json()
    assert body["status"] == "failed"
    assert "500" in body["last_error"]
    assert len(receiver.requests) == 1  # a test is tried once, not retried
    channel = api.get(f"/api/channels/{created['id']}/").json()
    assert "500" in channel["last_error"]


def test_send_test_by_email_once_the_address_is_confirmed(api, smtp) -> None:
    created = api.post(
        "/api/channels/",
        {"name": "Mail", "kind": "email", "target": "ops@example.com"},
        format="json",
    ).json()
    channel_confirm(channel=Channel.objects.get(pk=created["id"]))
    queued = api.post(f"/api/channels/{created['id']}/test/").json()
    assert run_queued()[queued["id"]] == "sent"
    assert smtp.messages[-1]["Subject"] == "[TEST] Uptime monitor"


def test_monitors_gain_channels_scoped_to_their_project(
    api, make_channel, regions
) -> None:
    mine = make_channel("email", "ops@example.com")
    resp = api.post(
        "/api/monitors/",
        {"name": "Shop", "url": "https://shop.example/", "channels": [mine.pk]},
        format="json",
    )
    assert resp.status_code == 201, resp.json()
    assert resp.json()["channels"] == [mine.pk]
    monitor_id = resp.json()["id"]
    assert api.get(f"/api/monitors/{monitor_id}/").json()["channels"] == [mine.pk]
    resp = api.patch(f"/api/monitors/{monitor_id}/", {"channels": []}, format="json")
    assert resp.json()["channels"] == []


def test_new_monitor_without_channels_gets_the_default_channels(
    api, make_channel, regions
) -> None:
    default = make_channel("email", "ops@example.com", is_default=True)
    resp = api.post(
        "/api/monitors/",
        {"name": "Shop", "url": "https://shop.example/"},
        format="json",
    )
    assert resp.json()["channels"] == [default.pk]


def test_linking_another_projects_channel_is_a_400(
    api, foreign_channel, regions, make_monitor
) -> None:
    resp = api.post(
        "/api/monitors/",
        {
            "name": "Shop",
            "url": "https://shop.example/",
            "channels": [foreign_channel.pk],
        },
        format="json",
    )
    assert resp.status_code == 400
    assert "channels" in resp.json()
    monitor = make_monitor()
    resp = api.patch(
        f"/api/monitors/{monitor.pk}/",
        {"channels": [foreign_channel.pk]},
        format="json",
    )
    assert resp.status_code == 400
    assert "channels" in resp.json()


def test_a_channel_of_a_second_project_cannot_serve_a_monitor_of_the_first(
    api, owner, make_channel, make_monitor, project
) -> None:
    second = Project.objects.create(name="Second", owner=owner)
    second.members.add(owner, through_defaults={"role": Role.OWNER})
    other = make_channel("email", "ops@example.com", project=second)
    monitor = make_monitor()
    resp = api.patch(
        f"/api/monitors/{monitor.pk}/", {"channels": [other.pk]}, format="json"
    )
    assert resp.status_code == 400
    assert "another project" in str(resp.json()["channels"])
    resp = api.post(
        "/api/channels/",
        {
            "name": "X",
            "kind": "email",
            "target": "a@example.com",
            "project": second.pk,
            "monitors": [monitor.pk],
        },
        format="json",
    )
    assert resp.status_code == 400
    assert "monitors" in resp.json()


def test_outsiders_cannot_see_test_change_or_link_channels(
    api, outsider_api, make_channel, make_monitor, receiver, allow_private, project
) -> None:
    channel = make_channel("webhook", receiver.url())
    url = f"/api/channels/{channel.pk}/"
    assert outsider_api.get("/api/channels/").json()["results"] == []
    assert outsider_api.get(url).status_code == 404
    assert outsider_api.patch(url, {"name": "x"}, format="json").status_code == 404
    assert outsider_api.delete(url).status_code == 404
    assert outsider_api.post(f"{url}test/").status_code == 404
    assert receiver.requests == []
    # Nor put a channel into a project they are not in.
    resp = outsider_api.post(
        "/api/channels/",
        {
            "name": "x",
            "kind": "email",
            "target": "a@example.com",
            "project": project.pk,
        },
        format="json",
    )
    assert resp.status_code == 400
    assert "project" in resp.json()
    resp = outsider_api.post(
        "/api/monitors/",
        {"name": "Mine", "url": "https://a.example/", "channels": [channel.pk]},
        format="json",
    )
    assert resp.status_code == 400
    assert "channels" in resp.json()
    # Nor attach one of their monitors through the channel side.
    theirs = Project.objects.get(owner__username="mallory")
    their_channel = make_channel("email", "m@example.com", project=theirs)
    monitor = make_monitor()
    resp = outsider_api.patch(
        f"/api/channels/{their_channel.pk}/", {"monitors": [monitor.pk]}, format="json"
    )
    assert resp.status_code == 400
    assert channel.name == Channel.objects.get(pk=channel.pk).name


def test_delivery_log_lists_and_filters_for_members_only(
    api,
    outsider_api,
    make_channel,
    make_monitor,
    regions,
    open_incident,
    receiver,
    allow_private,
) -> None:
    monitor = make_monitor(regions=regions[:1], failure_threshold=1)
    hook = make_channel("webhook", receiver.url(), monitors=[monitor])
    mail = make_channel("email", "ops@example.com", monitors=[monitor])
    incident = open_incident(monitor)

    rows = api.get(f"/api/notifications/?incident={incident.pk}").json()["results"]
    assert {r["channel"] for r in rows} == {hook.pk, mail.pk}
    assert set(rows[0]) == {
        "id",
        "incident",
        "channel",
        "event",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    }
    only = api.get(f"/api/notifications/?channel={hook.pk}").json()["results"]
    assert [r["channel"] for r in only] == [hook.pk]
    assert only[0]["status"] == "pending"
    assert api.get("/api/notifications/?incident=abc").status_code == 400
    assert outsider_api.get("/api/notifications/").json()["results"] == []
    assert Notification.objects.filter(incident=incident).count() == 2


def test_unauthenticated_requests_are_refused(client) -> None:
    assert client.get("/api/channels/").status_code in (401, 403)
    assert client.get("/api/notifications/").status_code in (401, 403)


def test_mask_url_drops_credentials_in_front_of_the_host() -> None:
    shown = mask_url("https://hook-user:s3cret-pw@hooks.example:8443/in?token=xyz9")
    assert shown == "https://hooks.example:8443/…xyz9"
    assert "s3cret" not in mask_url("https://user:s3cret-pw@h.example")
