"""Check kinds describe themselves: the API, the dashboard form, the admin
and the runner read each kind's declaration, so a kind registered in
``monitors.checks.REGISTRY`` works everywhere without other code changes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import User
from django.db import models
from django.test import Client, RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from monitors import runner
from monitors.api.serializers import MonitorSerializer
from monitors.checks import REGISTRY, CheckKind, CheckResult, CheckSpec
from monitors.checks.base import CheckContext
from monitors.dashboard.forms import MonitorForm
from monitors.models import Monitor, Region, Tick
from tests.conftest import client_for
from tests.forms import form_data

# --- every registered kind ----------------------------------------------------


@pytest.mark.parametrize("kind", list(REGISTRY.values()), ids=list(REGISTRY))
def test_it_declares_only_options_that_are_model_fields_with_the_same_default(
    kind: CheckKind,
) -> None:
    for option in kind.options:
        field = Monitor._meta.get_field(option.name)
        assert isinstance(field, models.Field), option.name
        assert field.get_default() == option.default, option.name
        if field.choices:
            assert {value for value, _label in field.choices} == set(option.choices), (
                option.name
            )


@pytest.mark.parametrize("kind", list(REGISTRY.values()), ids=list(REGISTRY))
def test_every_declared_option_is_in_the_api_the_form_and_its_admin_section(
    kind: CheckKind, admin_user: User
) -> None:
    names = {option.name for option in kind.options}
    assert names <= set(MonitorSerializer().fields)
    assert names <= set(MonitorForm().fields)
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    fieldsets = dict(site._registry[Monitor].get_fieldsets(request))
    if names or kind.shown:
        section = set(fieldsets[kind.label]["fields"])
        assert names | set(kind.shown) <= section
    sections = dict(
        (legend, [field.name for field in fields])
        for legend, _kind, fields in MonitorForm().sections()
    )
    if names:
        assert names <= set(sections[kind.label])


def test_the_form_shows_each_kinds_options_in_its_own_fieldset(
    owner: User, regions: list[Region]
) -> None:
    page = client_for(owner).get("/monitors/new/").content.decode()
    fieldsets = dict(
        re.findall(
            r'<fieldset class="form-section" data-kind="(\w+)">(.*?)</fieldset>',
            page,
            re.S,
        )
    )
    assert set(fieldsets) == {"http", "dns", "heartbeat"}  # tcp has no options
    assert "<legend>HTTP(S) options</legend>" in fieldsets["http"]
    assert 'name="http_method"' in fieldsets["http"]
    assert 'name="clear_auth_password"' not in page  # nothing to remove yet
    assert 'name="dns_resolver"' in fieldsets["dns"]
    assert 'name="dns_resolver"' not in fieldsets["http"]
    assert 'name="heartbeat_grace_seconds"' in fieldsets["heartbeat"]
    # The monitor's own settings stay outside the kinds' sections.
    assert 'name="degraded_threshold_ms"' in page
    assert all('name="degraded_threshold_ms"' not in f for f in fieldsets.values())


def test_the_dashboard_form_holds_options_to_the_bounds_the_kinds_declare(
    owner: User, regions: list[Region]
) -> None:
    response = client_for(owner).post(
        "/monitors/new/",
        form_data(regions, degraded_threshold_ms=0, heartbeat_grace_seconds=90_000),
    )
    errors = response.context["form"].errors
    assert "greater than or equal to 1" in errors["degraded_threshold_ms"][0]
    assert "less than or equal to 86400" in errors["heartbeat_grace_seconds"][0]
    assert not Monitor.objects.exists()


# --- a kind registered for one test -------------------------------------------


async def _probe(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    return CheckResult(
        status="up", message=f"probed {spec.url} for {spec.options['owner']}"
    )


def _clean_probe_target(target: str, *, allow_private: bool) -> str:
    if not target.startswith("probe:"):
        raise ValueError("A probe target starts with probe:.")
    return target.lower()


def _probe_settings(source: Any, config: Any) -> dict[str, Any]:
    return {"owner": source.name}


@pytest.fixture
def probe_kind() -> Iterator[CheckKind]:
    """A kind no code names: a declaration in the registry and nothing else.
    Passive, so the one-region rule of such kinds is exercised too."""
    kind = CheckKind(
        name="probe",
        label="Probe",
        run=_probe,
        clean_target=_clean_probe_target,
        settings_from=_probe_settings,
        passive=True,
    )
    REGISTRY[kind.name] = kind
    yield kind
    del REGISTRY[kind.name]


def test_the_api_takes_a_registered_kind_and_validates_it_by_its_declaration(
    probe_kind: CheckKind, api: APIClient, regions: list[Region]
) -> None:
    bad = api.post(
        "/api/monitors/", {"name": "P", "kind": "probe", "url": "x"}, format="json"
    )
    assert bad.status_code == 400
    assert bad.json() == {"url": ["A probe target starts with probe:."]}
    created = api.post(
        "/api/monitors/",
        {"name": "P", "kind": "probe", "url": "probe:Thing"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["url"] == "probe:thing"
    assert created.json()["kind"] == "probe"
    # Passive: evaluated once, from one region.
    assert created.json()["regions"] == [regions[0].code]


def test_the_dashboard_form_and_admin_offer_and_save_a_registered_kind(
    probe_kind: CheckKind, owner: User, admin_client: Client, regions: list[Region]
) -> None:
    client = client_for(owner)
    page = client.get("/monitors/new/").content.decode()
    assert '<option value="probe">Probe</option>' in page
    admin_page = admin_client.get("/admin/monitors/monitor/add/").content.decode()
    assert '<option value="probe">Probe</option>' in admin_page
    bad = client.post("/monitors/new/", form_data(regions, kind="probe", url="x"))
    assert "probe:" in bad.context["form"].errors["url"][0]
    saved = client.post(
        "/monitors/new/", form_data(regions, kind="probe", url="probe:Box")
    )
    assert saved.status_code == 302
    monitor = Monitor.objects.get()
    assert (monitor.kind, monitor.url) == ("probe", "probe:box")
    assert monitor.get_kind_display() == "Probe"
    assert [r.code for r in monitor.regions.all()] == [regions[0].code]


def test_the_runner_runs_a_registered_kind_with_the_settings_it_declares(
    probe_kind: CheckKind, make_monitor, regions: list[Region]
) -> None:
    monitor = make_monitor(
        name="Nightly box", kind="probe", url="probe:box", regions=regions[:1]
    )
    at = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
    runner.run_checks(
        region_code=regions[0].code, scheduled_at=at, monitor_ids=[monitor.pk]
    )
    tick = Tick.objects.get(monitor=monitor)
    assert (tick.status, tick.message) == ("up", "probed probe:box for Nightly box")


def test_a_kind_no_longer_registered_is_refused(
    api: APIClient, regions: list[Region]
) -> None:
    response = api.post(
        "/api/monitors/", {"name": "P", "kind": "probe", "url": "probe:x"}
    )
    assert response.status_code == 400
    assert "kind" in response.json()
