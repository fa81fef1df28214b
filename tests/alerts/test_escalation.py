"""Escalation policies: which channels hear of an incident and when, the
policy API and pages, and the monitor's choice of policy."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from alerts.models import Event, Notification
from alerts.services import (
    channel_create,
    escalations_due,
    notifications_remind,
    policy_save,
)
from alerts.services.escalation import opened_at
from monitors import services
from monitors.models import (
    EscalationPolicy,
    Incident,
    MaintenanceWindow,
    Project,
    Role,
)
from monitors.services import incident_acknowledge, project_create
from tests.conftest import api_client_for, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def channels(make_channel):
    return {
        name: make_channel(name=name, target=f"https://hooks.example/{name}")
        for name in ("first", "second", "third")
    }


@pytest.fixture
def policy(project, channels) -> EscalationPolicy:
    """Right away the first; after 5 min the second, every 10 min after;
    after 30 min the third, once."""
    return policy_save(
        project=project,
        name="On call",
        steps=[
            {"delay_minutes": 30, "channels": [channels["third"]]},
            {"delay_minutes": 0, "channels": [channels["first"]]},
            {
                "delay_minutes": 5,
                "repeat_every_minutes": 10,
                "channels": [channels["second"]],
            },
        ],
    )


def _sent(incident: Incident, event: str) -> list[str]:
    return sorted(
        Notification.objects.filter(incident=incident, event=event).values_list(
            "channel__name", flat=True
        )
    )


def _at(incident: Incident, minutes: float) -> datetime:
    return opened_at(incident) + timedelta(minutes=minutes)


def test_steps_fire_after_their_delays_once_each_round(
    make_monitor, regions, policy, channels, open_incident
) -> None:
    assert [s.delay_minutes for s in policy.steps.all()] == [0, 5, 30]
    monitor = make_monitor(regions=regions[:1], failure_threshold=1)
    monitor.escalation_policy = policy
    monitor.save()
    monitor.channels.set([channels["third"]])  # the flat list: not used now
    incident = open_incident(monitor)

    # Opening: the no-delay step only, not the monitor's own channels.
    assert _sent(incident, Event.INCIDENT_OPENED) == ["first"]
    escalated = Event.INCIDENT_ESCALATED
    assert escalations_due(now=_at(incident, 4.9)) == 0
    assert escalations_due(now=_at(incident, 5)) == 1
    assert escalations_due(now=_at(incident, 6)) == 0  # once per round
    assert _sent(incident, escalated) == ["second"]
    assert escalations_due(now=_at(incident, 15)) == 1  # the repeat
    assert escalations_due(now=_at(incident, 31)) == 2  # third, second again
    assert _sent(incident, escalated) == ["second", "second", "second", "third"]
    row = Notification.objects.filter(event=escalated).first()
    assert row is not None
    assert row.payload["data"]["escalation"]["round"] in (0, 1, 2)
    assert "acknowledge_url" in row.payload["data"]

    # Channel reminders do not apply to a policy's monitor.
    assert notifications_remind(now=_at(incident, 31)) == 0


def test_an_acknowledged_incident_escalates_no_further(
    make_monitor, regions, policy, open_incident, owner
) -> None:
    monitor = make_monitor(regions=regions[:1], failure_threshold=1)
    monitor.escalation_policy = policy
    monitor.save()
    incident = open_incident(monitor)
    assert escalations_due(now=_at(incident, 5)) == 1
    incident_acknowledge(incident=incident, user=owner, via="dashboard")
    assert escalations_due(now=_at(incident, 60)) == 0
    assert _sent(incident, Event.INCIDENT_ESCALATED) == ["second"]


def test_the_recovery_goes_to_every_channel_told_of_the_outage(
    make_monitor, regions, policy, open_incident, owner
) -> None:
    monitor = make_monitor(regions=regions[:1], failure_threshold=1)
    monitor.escalation_policy = policy
    monitor.save()
    incident = open_incident(monitor)
    escalations_due(now=_at(incident, 5))
    services.incident_resolve_by_hand(incident=incident, user=owner, note="")
    # first (opening) and second (escalated); third never heard of it.
    assert _sent(incident, Event.INCIDENT_RESOLVED) == ["first", "second"]


def test_a_monitor_without_a_policy_alerts_its_channels_at_once(
    make_monitor, regions, channels, open_incident
) -> None:
    monitor = make_monitor(regions=regions[:1], failure_threshold=1)
    monitor.channels.set([channels["first"], channels["third"]])
    incident = open_incident(monitor)
    assert _sent(incident, Event.INCIDENT_OPENED) == ["first", "third"]
    assert escalations_due(now=_at(incident, 60)) == 0


def test_the_api_writes_policies_for_admins_with_their_projects_channels(
    api, project, channels, make_member, owner
) -> None:
    body = {
        "name": "Night",
        "steps": [
            {"delay_minutes": 15, "channels": [channels["second"].pk]},
            {"delay_minutes": 0, "channels": [channels["first"].pk]},
        ],
    }
    created = api.post("/api/escalation-policies/", body, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["project"] == project.pk
    assert [(s["order"], s["delay_minutes"]) for s in data["steps"]] == [
        (0, 0),
        (1, 15),
    ]
    pk = data["id"]

    member = api_client_for(make_member(Role.MEMBER))
    assert member.get(f"/api/escalation-policies/{pk}/").status_code == 200
    refused = member.patch(
        f"/api/escalation-policies/{pk}/", {"name": "Mine"}, format="json"
    )
    assert refused.status_code == 403

    renamed = api.patch(
        f"/api/escalation-policies/{pk}/", {"name": "Nights"}, format="json"
    )
    assert renamed.status_code == 200
    assert len(renamed.json()["steps"]) == 2  # steps left out: kept

    # A channel of another of the caller's projects: a 400 naming the steps.
    other = project_create(owner=owner, name="Other")
    foreign = channel_create(
        project=other, name="x", kind="webhook", target="https://hooks.example/x"
    )
    bad = api.patch(
        f"/api/escalation-policies/{pk}/",
        {"steps": [{"delay_minutes": 0, "channels": [foreign.pk]}]},
        format="json",
    )
    assert bad.status_code == 400
    assert "steps" in bad.json()
    empty = api.post(
        "/api/escalation-policies/",
        {"name": "Empty", "project": project.pk},
        format="json",
    )
    assert empty.status_code == 400
    assert "steps" in empty.json()


def test_a_monitor_picks_a_policy_of_its_own_project_only(
    api, make_monitor, regions, policy, owner
) -> None:
    monitor = make_monitor(regions=regions[:1])
    url = f"/api/monitors/{monitor.pk}/"
    chosen = api.patch(url, {"escalation_policy": policy.pk}, format="json")
    assert chosen.status_code == 200, chosen.content
    assert chosen.json()["escalation_policy"] == policy.pk

    other = project_create(owner=owner, name="Other")
    theirs = EscalationPolicy.objects.create(project=other, name="Theirs")
    refused = api.patch(url, {"escalation_policy": theirs.pk}, format="json")
    assert refused.status_code == 400
    assert "escalation_policy" in refused.json()

    cleared = api.patch(url, {"escalation_policy": None}, format="json")
    assert cleared.json()["escalation_policy"] is None


def test_deleting_a_policy_returns_its_monitors_to_their_own_channels(
    api, make_monitor, regions, policy, make_member
) -> None:
    monitor = make_monitor(regions=regions[:1])
    services.monitor_update(
        user=policy.project.owner, monitor=monitor, fields={"escalation_policy": policy}
    )
    url = f"/api/escalation-policies/{policy.pk}/"
    member = api_client_for(make_member(Role.MEMBER))
    assert member.delete(url).status_code == 403
    assert api.delete(url).status_code == 204
    assert not EscalationPolicy.objects.filter(pk=policy.pk).exists()
    monitor.refresh_from_db()
    assert monitor.escalation_policy is None


def test_the_policy_page_adds_a_policy_the_monitor_form_offers(
    owner_client, project: Project, channels, make_monitor, regions
) -> None:
    page = owner_client.get("/escalation/new/")
    assert page.status_code == 200
    form = {
        "name": "Daytime",
        "steps-TOTAL_FORMS": "2",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "10",
        "steps-0-delay_minutes": "0",
        "steps-0-channels": [str(channels["first"].pk)],
        "steps-1-delay_minutes": "10",
        "steps-1-repeat_every_minutes": "20",
        "steps-1-channels": [str(channels["second"].pk)],
    }
    saved = owner_client.post("/escalation/new/", form)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    policy = EscalationPolicy.objects.get(name="Daytime")
    assert [(s.delay_minutes, s.repeat_every_minutes) for s in policy.steps.all()] == [
        (0, None),
        (10, 20),
    ]
    assert b"Daytime" in owner_client.get("/escalation/").content

    monitor = make_monitor(regions=regions[:1])
    edit = owner_client.get(f"/monitors/{monitor.pk}/edit/").content.decode()
    assert "Daytime" in edit and 'name="escalation_policy"' in edit


def test_a_member_cannot_write_a_policy_on_the_page(
    project, make_member, policy
) -> None:
    member = client_for(make_member(Role.MEMBER))
    edit = f"/escalation/{policy.pk}/edit/"
    assert member.get(edit).status_code == 403
    refused = member.post(edit, {"name": "Mine"})
    assert refused.status_code == 403
    policy.refresh_from_db()
    assert policy.name == "On call"


def test_escalation_skips_flapping_and_maintenance(
    make_monitor, regions, policy, open_incident
) -> None:
    monitor = make_monitor(regions=regions[:1], failure_threshold=1)
    monitor.escalation_policy = policy
    monitor.save()
    incident = open_incident(monitor)
    type(monitor).objects.filter(pk=monitor.pk).update(flapping=True)
    assert escalations_due(now=_at(incident, 6)) == 0
    type(monitor).objects.filter(pk=monitor.pk).update(flapping=False)
    later = timezone.now() + timedelta(minutes=6)
    # A window with no monitors named covers every monitor of the project.
    window = MaintenanceWindow.objects.create(
        project=monitor.project,
        title="Deploy",
        starts_at=later - timedelta(minutes=1),
        ends_at=later + timedelta(minutes=30),
    )
    assert escalations_due(now=later) == 0
    window.delete()
    assert escalations_due(now=later) == 1


def test_the_admin_adds_a_policy_with_steps_of_its_own_projects_channels(
    client, owner, project, channels
) -> None:
    type(owner).objects.filter(pk=owner.pk).update(is_staff=True, is_superuser=True)
    client.force_login(owner)
    other = project_create(owner=owner, name="Other")
    foreign = channel_create(
        project=other, name="theirs", kind="webhook", target="https://hooks.example/t"
    )
    answer = client.post(
        "/admin/monitors/escalationpolicy/add/",
        {
            "project": project.pk,
            "name": "Admin made",
            "steps-TOTAL_FORMS": "1",
            "steps-INITIAL_FORMS": "0",
            "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "1000",
            "steps-0-order": "0",
            "steps-0-delay_minutes": "5",
            "steps-0-channels": [str(channels["first"].pk), str(foreign.pk)],
        },
        follow=True,
    )
    assert answer.status_code == 200
    policy = EscalationPolicy.objects.get(name="Admin made")
    step = policy.steps.get()
    assert step.delay_minutes == 5
    # Another project's channel would hear of this project's incidents.
    assert list(step.channels.values_list("name", flat=True)) == ["first"]
    assert b"another project" in answer.content
    listing = client.get("/admin/monitors/escalationpolicy/")
    assert b"Admin made" in listing.content


def test_a_suppressed_incident_escalates_to_nobody(
    make_monitor, regions, policy, open_incident
) -> None:
    """A child behind a down parent: no step of its policy alerts, at any
    delay (the dependency rule and the policy meet in incident_channels)."""
    parent = make_monitor(name="Balancer", regions=regions[:1], failure_threshold=1)
    parent_incident = open_incident(parent)
    child = make_monitor(name="Checkout", regions=regions[:1], failure_threshold=1)
    child.depends_on = parent
    child.escalation_policy = policy
    child.save()
    incident = open_incident(child)
    assert incident.suppressed and incident.suppressed_by == parent_incident
    assert _sent(incident, Event.INCIDENT_OPENED) == []
    assert escalations_due(now=_at(incident, 31)) == 0
    assert _sent(incident, Event.INCIDENT_ESCALATED) == []
