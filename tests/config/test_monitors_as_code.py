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
from alerts.services import channel_create, policy_save
from monitors.maintenance import maintenance_window_create
from monitors.models import (
    EscalationPolicy,
    MaintenanceWindow,
    Monitor,
    Project,
    Region,
)
from monitors.services import monitor_create, monitor_update, project_create
from statuspages.models import StatusPage
from statuspages.services import status_page_create, status_page_delete

pytestmark = pytest.mark.django_db

WEBHOOK_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="
SLACK_URL = "https://hooks.slack.example/services/T1/B2/slack-path-secret"
HOOK_URL = "https://hooks.example.com/incidents/hook-path-secret"
PASSWORD = "basic-auth-password-1"
API_KEY = "api-key-value-123456"
APPRISE_URL = "jsons://hooks.example.com/apprise/apprise-path-secret"

# What the export's references stand for, as the operator would set them.
SECRET_ENV = {
    "UPTIME_SECRET_CHANNEL_OPS_SLACK_TARGET": SLACK_URL,
    "UPTIME_SECRET_CHANNEL_DEPLOY_HOOK_TARGET": HOOK_URL,
    "UPTIME_SECRET_CHANNEL_DEPLOY_HOOK_SECRET": WEBHOOK_SECRET,
    "UPTIME_SECRET_MONITOR_ADMIN_API_PASSWORD": PASSWORD,
    "UPTIME_SECRET_MONITOR_ADMIN_API_HEADER_X_API_KEY": API_KEY,
    "UPTIME_SECRET_CHANNEL_APPRISE_OPS_TARGET": APPRISE_URL,
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
    oncall = channel_create(
        project=project,
        user=user,
        name="On-call",
        kind="email",
        target="oncall@example.com",
        is_default=True,
    )
    apprise = channel_create(
        project=project,
        user=user,
        name="Apprise ops",
        kind="apprise",
        target=APPRISE_URL,
    )
    policy = policy_save(
        project=project,
        name="Escalate",
        steps=[
            {
                "delay_minutes": 15,
                "repeat_every_minutes": 30,
                "channels": [slack, apprise],
            },
            {"delay_minutes": 0, "channels": [oncall]},
        ],
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
            "escalation_policy": policy,
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
    database = monitor_create(
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
    # "Admin API" comes before "Shop" in the document: a forward reference.
    monitor_update(user=user, monitor=api, fields={"depends_on": shop})
    monitor_update(user=user, monitor=database, fields={"depends_on": api})
    status_page_create(
        user=user,
        project=project,
        fields={
            "slug": "example-status",
            "title": "Example status",
            "logo_url": "https://cdn.example/logo.png",
            "custom_domain": "status.example.com",
            "show_details": True,
        },
        layout=[
            {
                "name": "Web",
                "monitors": [
                    {"monitor": shop, "display_name": "Storefront"},
                    {"monitor": api, "display_name": ""},
                ],
            },
            {"name": "Back office", "monitors": [{"monitor": database}]},
        ],
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
    for m in Monitor.objects.filter(project=project).order_by("name"):
        rows.append(("links", m.pk, m.depends_on_id, m.escalation_policy_id))
    for p in EscalationPolicy.objects.filter(project=project):
        for step in p.steps.all():
            channels = sorted(c.pk for c in step.channels.all())
            rows.append(("step", p.pk, step.pk, step.delay_minutes, channels))
    for page in StatusPage.objects.filter(project=project).order_by("slug"):
        rows.append(("page", page.pk, page.title, page.custom_domain))
        for group in page.groups.all():
            for entry in group.entries.all():
                rows.append(("entry", group.pk, entry.pk, entry.display_name))
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
    assert "apprise-path-secret" not in text
    document = yaml.safe_load(text)
    hook = next(c for c in document["channels"] if c["name"] == "Deploy hook")
    assert hook["target"] == "${UPTIME_SECRET_CHANNEL_DEPLOY_HOOK_TARGET}"
    assert hook["secret"] == "${UPTIME_SECRET_CHANNEL_DEPLOY_HOOK_SECRET}"
    apprise = next(c for c in document["channels"] if c["name"] == "Apprise ops")
    assert apprise["target"] == "${UPTIME_SECRET_CHANNEL_APPRISE_OPS_TARGET}"
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
    assert shop["escalation_policy"] == "Escalate"
    assert api["depends_on"] == "Shop"
    # Sections in apply order; steps in delay order, a step's default left out.
    assert list(document) == [
        "version",
        "channels",
        "escalation_policies",
        "monitors",
        "maintenance_windows",
        "status_pages",
    ]
    assert document["escalation_policies"] == [
        {
            "name": "Escalate",
            "steps": [
                {"delay_minutes": 0, "channels": ["On-call"]},
                {
                    "delay_minutes": 15,
                    "repeat_every_minutes": 30,
                    "channels": ["Apprise ops", "Ops Slack"],
                },
            ],
        }
    ]
    assert document["status_pages"] == [
        {
            "slug": "example-status",
            "title": "Example status",
            "logo_url": "https://cdn.example/logo.png",
            "custom_domain": "status.example.com",
            "show_details": True,
            "groups": [
                {
                    "name": "Web",
                    "monitors": [
                        {"monitor": "Shop", "display_name": "Storefront"},
                        {"monitor": "Admin API"},
                    ],
                },
                {"name": "Back office", "monitors": [{"monitor": "Database"}]},
            ],
        }
    ]
    assert yaml.safe_load(_export(source, tmp_path, "json")) == document


def test_export_then_import_into_an_empty_project_is_the_same(
    source, empty, tmp_path, monkeypatch
) -> None:
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    text = _export(source, tmp_path)
    path = tmp_path / "config.yaml"
    path.write_text(text)
    # A page's slug and domain are unique across the site: the copy takes
    # them over once the source page is gone (as when moving a project).
    status_page_delete(user=source.owner, page=StatusPage.objects.get(project=source))

    output = _import(empty, path)
    assert "+ monitors: Shop (create)" in output
    assert "+ escalation_policies: Escalate (create)" in output
    assert "+ status_pages: example-status (create)" in output
    assert "Applied 12 change(s)." in output

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
    apprise = Channel.objects.get(project=empty, name="Apprise ops")
    assert apprise.target == APPRISE_URL
    shop = Monitor.objects.get(project=empty, name="Shop")
    assert shop.escalation_policy is not None
    assert shop.escalation_policy.project == empty
    assert [
        (
            s.delay_minutes,
            s.repeat_every_minutes,
            sorted(c.name for c in s.channels.all()),
        )
        for s in shop.escalation_policy.steps.all()
    ] == [(0, None, ["On-call"]), (15, 30, ["Apprise ops", "Ops Slack"])]
    assert api.depends_on == shop
    assert Monitor.objects.get(project=empty, name="Database").depends_on == api
    page = StatusPage.objects.get(project=empty)
    assert [
        (g.name, [(e.monitor, e.display_name) for e in g.entries.all()])
        for g in page.groups.all()
    ] == [
        ("Web", [(shop, "Storefront"), (api, "")]),
        ("Back office", [(database, "")]),
    ]

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
    assert Channel.objects.filter(project=source).count() == 4
    assert EscalationPolicy.objects.filter(project=source).count() == 1
    assert StatusPage.objects.filter(project=source).count() == 1


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


def test_policies_dependencies_and_pages_diff_apply_and_prune(source, tmp_path) -> None:
    document = yaml.safe_load(_export(source, tmp_path))
    [policy] = document["escalation_policies"]
    policy["steps"][1]["delay_minutes"] = 20
    document["escalation_policies"].append(
        {"name": "Quiet", "steps": [{"delay_minutes": 5, "channels": ["On-call"]}]}
    )
    monitors = {m["name"]: m for m in document["monitors"]}
    # The dependency turns round, and Shop (now on Admin API) is applied
    # first: setting it before Admin API's is cleared would be a cycle.
    del monitors["Admin API"]["depends_on"]
    monitors["Shop"]["depends_on"] = "Admin API"
    monitors["Shop"]["escalation_policy"] = "Quiet"
    document["monitors"] = [monitors["Shop"]] + [
        m for m in document["monitors"] if m["name"] != "Shop"
    ]
    document["status_pages"] = [
        {
            "slug": "backend-status",
            "title": "Backend",
            "public": False,
            "groups": [{"name": "All", "monitors": [{"monitor": "Database"}]}],
        }
    ]
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    before = _snapshot(source)

    output = _import(source, path, "--dry-run", "--prune")
    assert "~ escalation_policies: Escalate" in output
    assert '"delay_minutes": 20' in output
    assert "+ escalation_policies: Quiet (create)" in output
    assert 'depends_on: null -> "Admin API"' in output
    assert 'escalation_policy: "Escalate" -> "Quiet"' in output
    assert 'depends_on: "Shop" -> null' in output
    assert "+ status_pages: backend-status (create)" in output
    assert "- status_pages: example-status (delete)" in output
    assert _snapshot(source) == before

    _import(source, path, "--prune")
    shop = Monitor.objects.get(project=source, name="Shop")
    api = Monitor.objects.get(project=source, name="Admin API")
    assert (shop.depends_on, api.depends_on) == (api, None)
    assert shop.escalation_policy is not None
    assert shop.escalation_policy.name == "Quiet"
    escalate = EscalationPolicy.objects.get(project=source, name="Escalate")
    assert [s.delay_minutes for s in escalate.steps.all()] == [0, 20]
    assert list(
        StatusPage.objects.filter(project=source).values_list("slug", "public")
    ) == [("backend-status", False)]
    assert "No changes." in _import(source, path, "--prune")

    # A policy left out of the document goes with --prune; the monitors that
    # named it (none listed here do) fall back to their own channels.
    document["escalation_policies"] = [policy]
    monitors["Shop"]["escalation_policy"] = "Escalate"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    output = _import(source, path, "--prune")
    assert output.splitlines()[-2:] == [
        "- escalation_policies: Quiet (delete)",
        "Applied 2 change(s).",
    ]
    assert not EscalationPolicy.objects.filter(project=source, name="Quiet").exists()


def _valid_document() -> dict[str, Any]:
    return {
        "version": 1,
        "channels": [{"name": "Ops", "kind": "email", "target": "ops@example.com"}],
        "escalation_policies": [
            {
                "name": "Page",
                "steps": [
                    {"delay_minutes": 0, "channels": ["Ops"]},
                    {"delay_minutes": 10, "channels": ["Ops"]},
                ],
            }
        ],
        "monitors": [
            {"name": "A", "url": "https://a.example/", "escalation_policy": "Page"},
            {"name": "B", "url": "https://b.example/", "depends_on": "C"},
            {"name": "C", "url": "https://c.example/"},
        ],
        "status_pages": [
            {
                "slug": "errors",
                "title": "Errors",
                "groups": [
                    {"name": "G", "monitors": [{"monitor": "A"}, {"monitor": "B"}]}
                ],
            }
        ],
    }


def _cycle(document: dict[str, Any]) -> None:
    document["monitors"][0]["depends_on"] = "B"
    document["monitors"][2]["depends_on"] = "A"


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (
            lambda d: d["escalation_policies"][0]["steps"][1].update(
                channels=["Ops", "Nope"]
            ),
            "escalation_policies[0].steps[1].channels[1]",
            "No channel 'Nope'.",
        ),
        (
            lambda d: d["escalation_policies"][0].update(steps=[]),
            "escalation_policies[0].steps",
            "A policy needs at least one step.",
        ),
        (
            lambda d: d["escalation_policies"][0]["steps"][0].update(
                repeat_every_minutes=0
            ),
            "escalation_policies[0].steps[0].repeat_every_minutes",
            "From 1 to 10080 minutes.",
        ),
        (
            lambda d: d["monitors"][0].update(escalation_policy="Other"),
            "monitors[0].escalation_policy",
            "No escalation policy 'Other'.",
        ),
        (
            lambda d: d["monitors"][1].update(depends_on="Z"),
            "monitors[1].depends_on",
            "No monitor 'Z'.",
        ),
        (
            _cycle,
            "monitors[0].depends_on",
            "A dependency cycle: A -> B -> C -> A.",
        ),
        (
            lambda d: d["monitors"][2].update(depends_on="C"),
            "monitors[2].depends_on",
            "A monitor cannot depend on itself.",
        ),
        (
            lambda d: d["status_pages"][0]["groups"][0]["monitors"].append(
                {"monitor": "Gone"}
            ),
            "status_pages[0].groups[0].monitors[2].monitor",
            "No monitor 'Gone'.",
        ),
        (
            lambda d: d["status_pages"][0].update(slug="taken"),
            "status_pages[0].slug",
            "The slug 'taken' is taken by another project's status page; "
            "slugs are unique across the site.",
        ),
        (
            lambda d: d["status_pages"][0].update(logo_url="http://x.example/a.png"),
            "status_pages[0].logo_url",
            "An https:// URL of an image.",
        ),
        (
            lambda d: d["status_pages"][0].pop("slug"),
            "status_pages[0].slug",
            "Every item needs a slug.",
        ),
    ],
)
def test_policy_dependency_and_page_errors_name_their_path(
    owner, empty, tmp_path, change, where, message
) -> None:
    other = project_create(owner=owner, name="Other")
    status_page_create(
        user=owner, project=other, fields={"slug": "taken", "title": "Taken"}
    )
    document = _valid_document()
    change(document)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(CommandError) as caught:
        _import(empty, path)
    # The command adds the item's name (a page's slug) when it has one.
    assert str(caught.value).startswith(f"{where}: {message}")
    if where.startswith("status_pages") and "slug" not in where:
        assert str(caught.value).endswith("(item 'errors')")
    assert not Channel.objects.filter(project=empty).exists()
    assert not Monitor.objects.filter(project=empty).exists()
    assert not EscalationPolicy.objects.filter(project=empty).exists()
    assert not StatusPage.objects.filter(project=empty).exists()


def test_the_valid_document_of_the_error_cases_applies_twice(empty, tmp_path) -> None:
    """The error cases start from a document that is itself fine."""
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump(_valid_document()))
    assert "Applied 6 change(s)." in _import(empty, path)
    b = Monitor.objects.get(project=empty, name="B")
    assert b.depends_on == Monitor.objects.get(project=empty, name="C")
    assert "No changes." in _import(empty, path)
