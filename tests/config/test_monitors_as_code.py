"""``manage.py monitors export`` / ``import``: a project as one document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from alerts.models import Channel
from alerts.services import channel_create
from monitors.maintenance import maintenance_window_create
from monitors.models import MaintenanceWindow, Monitor, Project, Region
from monitors.services import monitor_create, project_create

pytestmark = pytest.mark.django_db

WEBHOOK_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="
SLACK_URL = "https://hooks.slack.example/services/T1/B2/slack-path-secret"
HOOK_URL = "https://hooks.example.com/incidents/hook-path-secret"
PASSWORD = "basic-auth-password-1"
API_KEY = "api-key-value-123456"

# What the export's references stand for, as the operator would set them.
SECRET_ENV = {
    "UPTIME_SECRET_CHANNEL_OPS_SLACK_TARGET": SLACK_URL,
    "UPTIME_SECRET_CHANNEL_DEPLOY_HOOK_TARGET": HOOK_URL,
    "UPTIME_SECRET_CHANNEL_DEPLOY_HOOK_SECRET": WEBHOOK_SECRET,
    "UPTIME_SECRET_MONITOR_ADMIN_API_PASSWORD": PASSWORD,
    "UPTIME_SECRET_MONITOR_ADMIN_API_HEADER_X_API_KEY": API_KEY,
}


def _populate(project: Project, user: User, regions: list[Region]) -> None:
    """A project with one of everything the document holds."""
    slack = channel_create(
        project=project, user=user, name="Ops Slack", kind="slack", target=SLACK_URL
    )
    hook = channel_create(
        project=project,
        user=user,
        name="Deploy hook",
        kind="webhook",
        target=HOOK_URL,
        secret=WEBHOOK_SECRET,
        notify_up=False,
        reminder_minutes=30,
    )
    channel_create(
        project=project,
        user=user,
        name="On-call",
        kind="email",
        target="oncall@example.com",
        is_default=True,
    )
    shop = monitor_create(
        user=user,
        project=project,
        fields={
            "name": "Shop",
            "url": "https://shop.example/",
            "interval_seconds": 30,
            "timeout_seconds": 5.0,
            "keyword": "Add to cart",
            "regions": regions[:2],
            "channels": [slack],
        },
    )
    api = monitor_create(
        user=user,
        project=project,
        fields={
            "name": "Admin API",
            "url": "https://api.example/health",
            "http_method": "POST",
            "http_body": '{"deep": true}',
            "http_headers": {"X-Api-Key": API_KEY},
            "auth_username": "ops",
            "auth_password": PASSWORD,
            "json_path": '$.status == "ok"',
            "accepted_status_codes": "200-299,304",
            "failure_threshold": 2,
            "channels": [slack, hook],
        },
    )
    monitor_create(
        user=user,
        project=project,
        fields={
            "name": "Database",
            "kind": "tcp",
            "url": "tcp://db.example:5432",
            "enabled": False,
            "channels": [],
        },
    )
    monitor_create(
        user=user,
        project=project,
        fields={
            "name": "MX",
            "kind": "dns",
            "url": "example.com",
            "dns_record_type": "MX",
            "dns_resolver": "9.9.9.9:53",
            "channels": [],
        },
    )
    monitor_create(
        user=user,
        project=project,
        fields={
            "name": "Nightly backup",
            "kind": "heartbeat",
            "url": "",
            "interval_seconds": 86400,
            "heartbeat_grace_seconds": 600,
            "channels": [],
        },
    )
    start = datetime(2026, 1, 3, 22, 0, tzinfo=UTC)
    maintenance_window_create(
        user=user,
        project=project,
        fields={
            "title": "Weekend upgrades",
            "starts_at": start,
            "ends_at": start + timedelta(hours=2),
            "recurrence": "weekly",
            "weekdays": [5, 6],
            "monitors": [shop, api],
        },
    )


def _export(project: Project, tmp_path: Path, fmt: str = "yaml") -> str:
    out = tmp_path / f"{project.slug}.{fmt}"
    call_command(
        "monitors", "export", "--project", project.slug, "--format", fmt, "-o", str(out)
    )
    return out.read_text()


def _import(project: Project, path: Path, *args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command(
        "monitors", "import", str(path), "--project", project.slug, *args, stdout=out
    )
    return out.getvalue()


def _snapshot(project: Project) -> list[tuple[Any, ...]]:
    """Everything a re-import must leave alone, including when rows changed."""
    rows: list[tuple[Any, ...]] = []
    for m in Monitor.objects.filter(project=project).order_by("name"):
        rows.append(("monitor", m.pk, m.updated_at, m.auth_password, m.http_headers))
    for c in Channel.objects.filter(project=project).order_by("name"):
        rows.append(("channel", c.pk, c.target, c.secret, c.confirm_nonce))
    for w in MaintenanceWindow.objects.filter(project=project).order_by("title"):
        rows.append(("window", w.pk, w.starts_at, w.weekdays))
    return rows


@pytest.fixture
def source(owner: User, regions: list[Region]) -> Project:
    project = project_create(owner=owner, name="Source")
    _populate(project, owner, regions)
    return project


@pytest.fixture
def empty(owner: User, regions: list[Region]) -> Project:
    return project_create(owner=owner, name="Copy")


def test_export_writes_secrets_as_references_only(source, tmp_path) -> None:
    text = _export(source, tmp_path)
    for secret in (WEBHOOK_SECRET, SLACK_URL, HOOK_URL, PASSWORD, API_KEY):
        assert secret not in text
    document = yaml.safe_load(text)
    hook = next(c for c in document["channels"] if c["name"] == "Deploy hook")
    assert hook["target"] == "${UPTIME_SECRET_CHANNEL_DEPLOY_HOOK_TARGET}"
    assert hook["secret"] == "${UPTIME_SECRET_CHANNEL_DEPLOY_HOOK_SECRET}"
    email = next(c for c in document["channels"] if c["name"] == "On-call")
    assert email["target"] == "oncall@example.com"  # an address is no secret
    api = next(m for m in document["monitors"] if m["name"] == "Admin API")
    assert api["http_headers"] == {
        "X-Api-Key": "${UPTIME_SECRET_MONITOR_ADMIN_API_HEADER_X_API_KEY}"
    }
    assert api["auth_password"] == "${UPTIME_SECRET_MONITOR_ADMIN_API_PASSWORD}"
    # Defaults are left out; what was set is there.
    shop = next(m for m in document["monitors"] if m["name"] == "Shop")
    assert shop["keyword"] == "Add to cart"
    assert shop["regions"] == ["ap", "eu"]
    assert "http_method" not in shop
    assert "dns_record_type" not in shop
    assert yaml.safe_load(_export(source, tmp_path, "json")) == document


def test_export_then_import_into_an_empty_project_is_the_same(
    source, empty, tmp_path, monkeypatch
) -> None:
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    text = _export(source, tmp_path)
    path = tmp_path / "config.yaml"
    path.write_text(text)

    output = _import(empty, path)
    assert "+ monitors: Shop (create)" in output
    assert "Applied 9 change(s)." in output

    assert _export(empty, tmp_path) == text
    api = Monitor.objects.get(project=empty, name="Admin API")
    assert api.auth_password == PASSWORD
    assert api.http_headers == {"X-Api-Key": API_KEY}
    assert sorted(c.name for c in api.channels.all()) == ["Deploy hook", "Ops Slack"]
    hook = Channel.objects.get(project=empty, name="Deploy hook")
    assert (hook.target, hook.secret, hook.notify_up) == (
        HOOK_URL,
        WEBHOOK_SECRET,
        False,
    )
    database = Monitor.objects.get(project=empty, name="Database")
    assert (database.enabled, database.status) == (False, "paused")
    backup = Monitor.objects.get(project=empty, name="Nightly backup")
    assert (
        backup.heartbeat_key
        and backup.heartbeat_key
        != Monitor.objects.get(project=source, name="Nightly backup").heartbeat_key
    )
    window = MaintenanceWindow.objects.get(project=empty)
    assert sorted(m.name for m in window.monitors.all()) == ["Admin API", "Shop"]

    # The second import, and one without the environment (references keep
    # the stored secrets), change nothing.
    before = _snapshot(empty)
    assert "No changes." in _import(empty, path)
    for name in SECRET_ENV:
        monkeypatch.delenv(name)
    assert "No changes." in _import(empty, path)
    assert _snapshot(empty) == before


def test_dry_run_diffs_and_writes_nothing_and_prune_deletes(source, tmp_path) -> None:
    document = yaml.safe_load(_export(source, tmp_path))
    shop = next(m for m in document["monitors"] if m["name"] == "Shop")
    shop["interval_seconds"] = 120
    shop["channels"] = []
    document["monitors"] = [m for m in document["monitors"] if m["name"] != "MX"]
    document["channels"].append(
        {
            "name": "Status hook",
            "kind": "webhook",
            "target": "https://hooks.example.com/x",
        }
    )
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(document))
    before = _snapshot(source)

    output = _import(source, path, "--dry-run", "--prune")
    assert "~ monitors: Shop" in output
    assert "interval_seconds: 30 -> 120" in output
    assert 'channels: ["Ops Slack"] -> []' in output
    assert "+ channels: Status hook (create)" in output
    assert "- monitors: MX (delete)" in output
    assert "Dry run: nothing was applied." in output
    assert _snapshot(source) == before

    # Without --prune nothing is deleted.
    output = _import(source, path)
    assert "MX" not in output
    assert Monitor.objects.filter(project=source, name="MX").exists()
    assert Monitor.objects.get(project=source, name="Shop").interval_seconds == 120
    assert Channel.objects.filter(project=source, name="Status hook").exists()

    output = _import(source, path, "--prune")
    assert output.splitlines()[0] == "- monitors: MX (delete)"
    assert not Monitor.objects.filter(project=source, name="MX").exists()
    assert "No changes." in _import(source, path, "--prune")


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"interval_seconds": 0}, "monitors[1].interval_seconds"),
        ({"url": "ftp://x.example/"}, "monitors[1].url"),
        ({"channels": ["Nope"]}, "monitors[1].channels[0]"),
        ({"colour": "red"}, "monitors[1].colour"),
        ({"dns_record_type": "MX"}, "monitors[1].dns_record_type"),
        ({"auth_password": "${UPTIME_SECRET_UNSET}"}, "monitors[1].auth_password"),
    ],
)
def test_a_bad_item_names_its_path_and_nothing_is_applied(
    empty, tmp_path, change, where
) -> None:
    document = {
        "version": 1,
        "monitors": [
            {"name": "First", "url": "https://first.example/"},
            {"name": "Second", "url": "https://second.example/", **change},
        ],
    }
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(CommandError) as caught:
        _import(empty, path)
    assert str(caught.value).startswith(f"{where}: ")
    assert not Monitor.objects.filter(project=empty).exists()


def test_a_document_without_a_section_leaves_it_alone(source, tmp_path) -> None:
    path = tmp_path / "only.yaml"
    path.write_text(yaml.safe_dump({"maintenance_windows": []}))
    output = _import(source, path, "--prune")
    assert output.splitlines()[0] == "- maintenance_windows: Weekend upgrades (delete)"
    assert Monitor.objects.filter(project=source).count() == 5
    assert Channel.objects.filter(project=source).count() == 3


def test_a_member_below_admin_may_not_import(source, tmp_path) -> None:
    member = User.objects.create_user("carol", "carol@example.com", "pw-carol-123!")
    source.memberships.create(user=member, role="member")
    path = tmp_path / "doc.yaml"
    path.write_text(yaml.safe_dump({"monitors": []}))
    with pytest.raises(CommandError, match="admin role"):
        call_command(
            "monitors",
            "import",
            str(path),
            "--project",
            source.slug,
            "--user",
            member.username,
        )
