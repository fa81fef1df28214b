"""``manage.py monitors import-kuma`` and ``import-gatus`` on fixtures written
in each tool's documented format (tests/fixtures/)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from alerts.models import Channel
from monitors.models import Monitor, Project, Region

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _run(action: str, name: str, project: Project, *args: str) -> str:
    out = StringIO()
    call_command(
        "monitors",
        action,
        str(FIXTURES / name),
        "--project",
        project.slug,
        *args,
        stdout=out,
    )
    return out.getvalue()


def _monitor(project: Project, name: str) -> Monitor:
    return Monitor.objects.get(project=project, name=name)


def test_uptime_kuma_backup(project: Project, regions: list[Region]) -> None:
    dry = _run("import-kuma", "uptime-kuma-backup.json", project, "--dry-run")
    assert "Dry run: nothing was applied." in dry
    assert not Monitor.objects.filter(project=project).exists()

    output = _run("import-kuma", "uptime-kuma-backup.json", project)
    channels = {c.name: c for c in Channel.objects.filter(project=project)}
    assert sorted(channels) == ["Deploy hook", "On-call mail", "Ops Slack"]
    assert channels["Ops Slack"].target.endswith("/T000/B000/XXXX")
    assert channels["On-call mail"].target == "oncall@example.com"
    assert channels["On-call mail"].is_default is True
    assert channels["Deploy hook"].secret.startswith("whsec_")

    shop = _monitor(project, "Shop")
    assert (shop.kind, shop.failure_threshold, shop.timeout_seconds) == ("http", 3, 48)
    assert shop.accepted_status_codes == "200-299"
    assert sorted(c.name for c in shop.channels.all()) == ["On-call mail", "Ops Slack"]
    search = _monitor(project, "Shop search")
    assert (search.keyword, search.interval_seconds) == ("results", 120)
    api = _monitor(project, "API health")
    assert api.json_path == '$.status == "ok"'
    assert (api.http_method, api.http_body) == ("POST", '{"deep": true}')
    assert api.http_headers == {"X-Api-Key": "k-123456789"}
    assert (api.verify_tls, api.follow_redirects) == (False, False)
    assert api.accepted_status_codes == "200-299,304"
    admin = _monitor(project, "Admin")
    assert (admin.auth_username, admin.auth_password) == ("ops", "s3cret-pass")
    database = _monitor(project, "Database")
    assert (database.kind, database.url, database.failure_threshold) == (
        "tcp",
        "tcp://db.example.com:5432",
        2,
    )
    mx = _monitor(project, "MX record")
    assert (mx.kind, mx.url, mx.dns_record_type, mx.dns_resolver) == (
        "dns",
        "example.com",
        "MX",
        "9.9.9.9:53",
    )
    backup = _monitor(project, "Nightly backup")
    assert (backup.kind, backup.interval_seconds) == ("heartbeat", 86400)
    paused = _monitor(project, "Maintenance page")
    assert paused.enabled is False
    legacy = _monitor(project, "Legacy")
    assert (legacy.keyword_mode, legacy.auth_username) == ("absent", "")

    unmapped = [line for line in output.splitlines() if "Not imported: " in line]
    text = "\n".join(unmapped)
    for expected in (
        "monitor 'Router': type 'ping' is not a check kind here",
        "monitor 'Redis container': type 'docker'",
        "notification 'Team Telegram': type 'telegram' has no matching channel",
        "monitor 'Shop search': notification 4 was not imported",
        "monitor 'Shop': tags ['prod'] are not imported",
        "monitor 'Maintenance page': upside-down mode",
        "monitor 'Admin': retry interval 20s is not kept",
        "monitor 'Admin': resend every N checks is not kept",
        "monitor 'Legacy': authentication 'ntlm' is not supported",
        "notification 'On-call mail': only the first address is used",
        "notification 'On-call mail': its SMTP server settings are not imported",
        "monitor 'Nightly backup': a push monitor becomes a heartbeat",
    ):
        assert expected in text, (expected, text)
    assert not Monitor.objects.filter(
        project=project, name__in=["Router", "Redis container"]
    ).exists()

    # Idempotent: the second import changes nothing.
    again = _run("import-kuma", "uptime-kuma-backup.json", project)
    assert again.startswith("No changes.")


def test_gatus_config(project: Project, regions: list[Region]) -> None:
    output = _run("import-gatus", "gatus-config.yaml", project)
    channels = {c.name: c for c in Channel.objects.filter(project=project)}
    assert sorted(channels) == ["Gatus custom", "Gatus email", "Gatus slack"]
    assert channels["Gatus custom"].kind == "webhook"
    assert channels["Gatus email"].target == "oncall@example.com"

    website = _monitor(project, "website")
    assert (website.interval_seconds, website.accepted_status_codes) == (300, "200")
    assert website.json_path == '$.status == "UP"'
    assert website.degraded_threshold_ms == 300
    assert (website.failure_threshold, website.recovery_threshold) == (2, 1)
    assert [c.name for c in website.channels.all()] == ["Gatus slack"]
    docs = _monitor(project, "docs")
    assert (docs.http_method, docs.verify_tls, docs.timeout_seconds) == (
        "HEAD",
        False,
        5,
    )
    assert docs.accepted_status_codes == "100-399"
    search = _monitor(project, "search")
    assert (search.keyword, search.http_method) == ("results", "POST")
    assert search.http_headers == {"Content-Type": "application/json"}
    postgres = _monitor(project, "postgres")
    assert (postgres.kind, postgres.url) == ("tcp", "tcp://db.example.com:5432")
    dns = _monitor(project, "example.org A")
    assert (dns.kind, dns.url, dns.dns_expected, dns.dns_resolver) == (
        "dns",
        "example.org",
        "93.184.215.14",
        "8.8.8.8:53",
    )
    backup = _monitor(project, "nightly-backup")
    assert (backup.kind, backup.interval_seconds) == ("heartbeat", 86400)
    assert _monitor(project, "disabled site").enabled is False
    assert not Monitor.objects.filter(project=project, name="gateway").exists()

    text = "\n".join(line for line in output.splitlines() if "Not imported: " in line)
    for expected in (
        "alerting.pagerduty: this provider has no channel kind here",
        "endpoint 'website': alert type 'pagerduty' has no channel here",
        "endpoint 'website': [CERTIFICATE_EXPIRATION] > 48h",
        "endpoint 'website': [RESPONSE_TIME] < 300 became a degraded threshold",
        "endpoint 'search': condition 'len([BODY].items) > 0' has no equivalent",
        "endpoint 'gateway': target icmp:// is not a check kind here",
        "endpoint 'disabled site': condition '[STATUS] == any(200, 301)' has no",
        "endpoint 'docs': send-on-resolved false on email",
        "alerting.custom: ['body', 'method'] are not kept",
        "alerting.email: its SMTP settings are not imported",
        "external endpoint 'nightly-backup': becomes a heartbeat",
    ):
        assert expected in text, (expected, text)

    again = _run("import-gatus", "gatus-config.yaml", project)
    assert again.startswith("No changes.")


def test_an_imported_item_the_server_refuses_is_named(
    project: Project, regions: list[Region], tmp_path: Path, settings
) -> None:
    settings.UPTIME_MIN_INTERVAL_SECONDS = 10
    config = tmp_path / "config.yaml"
    config.write_text(
        "endpoints:\n"
        "  - {name: slow, url: 'https://a.example/', interval: 1m}\n"
        "  - {name: fast, url: 'https://b.example/', interval: 5s}\n"
    )
    with pytest.raises(CommandError) as caught:
        call_command("monitors", "import-gatus", str(config), "--project", project.slug)
    assert str(caught.value) == (
        "monitors[1].interval_seconds: Must be at least 10 seconds. (item 'fast')"
    )
    assert not Monitor.objects.filter(project=project).exists()
