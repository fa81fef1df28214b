"""Check options in the dashboard's monitor form: inline field errors,
write-only password, heartbeats in one region."""

from __future__ import annotations

from django.contrib.auth.models import User

from monitors.models import Monitor, Region
from tests.conftest import client_for
from tests.forms import form_data


def test_the_form_shows_each_option_error_next_to_its_field(
    owner: User, regions: list[Region]
) -> None:
    client = client_for(owner)
    response = client.post(
        "/monitors/new/",
        form_data(
            regions,
            accepted_status_codes="2xx",
            json_path="$.status == ok",
            http_headers='{"Bad Name": "x"}',
        ),
    )
    assert response.status_code in (200, 400)
    page = response.content.decode()
    form = response.context["form"]
    assert "not a status code" in form.errors["accepted_status_codes"][0]
    assert "not a JSON value" in form.errors["json_path"][0]
    assert "not a valid header name" in form.errors["http_headers"][0]
    assert 'id="id_accepted_status_codes_error"' in page
    assert not Monitor.objects.exists()


def test_tcp_and_dns_targets_are_checked_by_kind(
    owner: User, regions: list[Region]
) -> None:
    client = client_for(owner)
    bad = client.post(
        "/monitors/new/", form_data(regions, kind="tcp", url="db.example.com")
    )
    assert "port" in bad.context["form"].errors["url"][0]
    good = client.post(
        "/monitors/new/", form_data(regions, kind="tcp", url="93.184.215.14:5432")
    )
    assert good.status_code == 302
    assert Monitor.objects.get().url == "tcp://93.184.215.14:5432"
    dns = client.post(
        "/monitors/new/",
        form_data(
            regions,
            name="mx",
            kind="dns",
            url="example.com",
            dns_record_type="MX",
            dns_resolver="<script>",
        ),
    )
    page = dns.content.decode()
    assert "IP address" in dns.context["form"].errors["dns_resolver"][0]
    assert 'value="&lt;script&gt;"' in page  # echoed back escaped


def test_the_password_is_write_only_and_kept_when_left_empty(
    owner: User, regions: list[Region]
) -> None:
    client = client_for(owner)
    created = client.post(
        "/monitors/new/",
        form_data(regions, auth_username="bot", auth_password="hunter2"),
    )
    assert created.status_code == 302
    monitor = Monitor.objects.get()
    assert monitor.auth_password == "hunter2"
    edit = client.get(f"/monitors/{monitor.pk}/edit/")
    assert "hunter2" not in edit.content.decode()
    client.post(
        f"/monitors/{monitor.pk}/edit/",
        form_data(regions, auth_username="bot", keyword="ok"),
    )
    monitor.refresh_from_db()
    assert (monitor.keyword, monitor.auth_password) == ("ok", "hunter2")
    client.post(
        f"/monitors/{monitor.pk}/edit/",
        form_data(regions, auth_username="", clear_auth_password="on"),
    )
    monitor.refresh_from_db()
    assert monitor.auth_password == ""


def test_a_heartbeat_from_the_form_runs_in_one_region(
    owner: User, regions: list[Region]
) -> None:
    client = client_for(owner)
    response = client.post(
        "/monitors/new/",
        form_data(regions, name="backup", kind="heartbeat", url=""),
    )
    assert response.status_code == 302
    monitor = Monitor.objects.get()
    assert [r.code for r in monitor.regions.all()] == [regions[0].code]
    assert monitor.heartbeat_key and monitor.url == ""


def test_a_post_without_the_check_section_keeps_the_options(
    owner: User, regions: list[Region]
) -> None:
    client = client_for(owner)
    data = form_data(regions)
    for name in list(data):
        if name not in ("name", "url", "interval_seconds", "timeout_seconds"):
            data.pop(name)
    data.update(regions=[r.pk for r in regions], failure_threshold=3)
    data["recovery_threshold"] = 1
    response = client.post("/monitors/new/", data)
    assert response.status_code == 302, response.context["form"].errors
    monitor = Monitor.objects.get()
    assert (monitor.kind, monitor.http_method, monitor.verify_tls) == (
        "http",
        "GET",
        True,
    )
    assert monitor.follow_redirects and monitor.accepted_status_codes == "200-399"
