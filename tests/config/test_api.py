"""``GET/PUT /api/config/``: the document over the API."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User

from alerts.models import Channel
from monitors.models import Monitor, Project, Region, Role
from monitors.services import project_create
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

SLACK_URL = "https://hooks.slack.example/services/T1/B2/kept-secret"

DOCUMENT = {
    "version": 1,
    "channels": [{"name": "Ops", "kind": "slack", "target": SLACK_URL}],
    "monitors": [
        {
            "name": "Shop",
            "url": "https://shop.example/",
            "interval_seconds": 30,
            "auth_username": "ops",
            "auth_password": "basic-pass-1",
            "channels": ["Ops"],
        }
    ],
}


def _url(project: Project, **flags: str) -> str:
    query = "".join(f"&{name}={value}" for name, value in flags.items())
    return f"/api/config/?project={project.pk}{query}"


def test_put_dry_run_then_apply_then_get_as_viewer(
    api, project: Project, regions: list[Region], make_member
) -> None:
    response = api.put(_url(project, dry_run="1"), DOCUMENT, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "applied": False,
        "changes": [
            {"section": "channels", "name": "Ops", "action": "create"},
            {"section": "monitors", "name": "Shop", "action": "create"},
        ],
    }
    assert not Monitor.objects.filter(project=project).exists()

    response = api.put(_url(project), DOCUMENT, format="json")
    assert response.json()["applied"] is True
    shop = Monitor.objects.get(project=project, name="Shop")
    assert [c.name for c in shop.channels.all()] == ["Ops"]

    viewer = api_client_for(make_member(Role.VIEWER))
    exported = viewer.get(_url(project)).json()
    assert exported["channels"][0]["target"] == "${UPTIME_SECRET_CHANNEL_OPS_TARGET}"
    assert exported["monitors"][0]["auth_password"] == (
        "${UPTIME_SECRET_MONITOR_SHOP_PASSWORD}"
    )
    as_yaml = viewer.get(_url(project), HTTP_ACCEPT="application/yaml")
    assert as_yaml["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(as_yaml.content) == exported
    assert SLACK_URL not in as_yaml.content.decode()

    # The export PUT back (references keep the stored secrets): no change,
    # also as YAML.
    again = api.put(
        _url(project),
        yaml.safe_dump(exported),
        content_type="application/yaml",
    )
    assert again.status_code == 200, again.json()
    assert again.json() == {"applied": True, "changes": []}
    assert Channel.objects.get(project=project).target == SLACK_URL
    assert Monitor.objects.get(pk=shop.pk).auth_password == "basic-pass-1"


def test_a_reference_never_reads_the_server_environment(
    api, project: Project, regions: list[Region], monkeypatch
) -> None:
    monkeypatch.setenv("UPTIME_SECRET_STOLEN", "https://hooks.example/from-env")
    document = {
        "channels": [
            {"name": "Leak", "kind": "webhook", "target": "${UPTIME_SECRET_STOLEN}"}
        ]
    }
    response = api.put(_url(project), document, format="json")
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["channels[0].target"]
    assert "give the value in clear" in body["channels[0].target"][0]
    assert not Channel.objects.filter(project=project).exists()


def test_a_changed_secret_shows_in_the_diff_but_not_its_value(
    api, project: Project, regions: list[Region]
) -> None:
    api.put(_url(project), DOCUMENT, format="json")
    changed = json.loads(json.dumps(DOCUMENT))
    changed["monitors"][0]["auth_password"] = "new-basic-pass"
    response = api.put(_url(project, dry_run="1"), changed, format="json")
    change = response.json()["changes"][0]
    assert change["fields"] == {"auth_password": {"from": "<secret>", "to": "<secret>"}}
    assert "new-basic-pass" not in response.content.decode()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER])
def test_only_admins_put(project: Project, make_member, role: str) -> None:
    client = api_client_for(make_member(role))
    response = client.put(_url(project), {"monitors": []}, format="json")
    assert response.status_code == 403


def test_bad_documents_are_400s_by_path(api, project: Project, regions) -> None:
    cases = [
        (
            {"monitors": [{"name": "A", "interval_seconds": "often"}]},
            "monitors[0].interval_seconds",
        ),
        ({"monitors": [{"url": "https://x.example/"}]}, "monitors[0].name"),
        ({"monitors": {"name": "A"}}, "monitors"),
        ({"robots": []}, "robots"),
        ({"status_pages": [{"title": "No slug"}]}, "status_pages[0].slug"),
        ({"status_pages": [{"slug": "s", "public": "yes"}]}, "status_pages[0].public"),
        (
            {"status_pages": [{"slug": "s", "title": "T", "groups": "Web"}]},
            "status_pages[0].groups",
        ),
        (
            {"escalation_policies": [{"name": "P", "steps": [{"channels": "Ops"}]}]},
            "escalation_policies[0].steps[0].channels",
        ),
        (
            {"escalation_policies": [{"name": "P", "steps": [{"delay_minutes": -1}]}]},
            "escalation_policies[0].steps[0].delay_minutes",
        ),
        (
            {"monitors": [{"name": "A", "url": "https://a.example/", "depends_on": 3}]},
            "monitors[0].depends_on",
        ),
        ({"version": 2}, "version"),
    ]
    for document, where in cases:
        response = api.put(_url(project), document, format="json")
        assert response.status_code == 400, (document, response.content)
        assert list(response.json()) == [where], response.json()
    broken = api.put(_url(project), "monitors: [", content_type="application/yaml")
    assert broken.status_code == 400


def test_another_projects_config_is_a_404(
    outsider_api, project: Project, outsider: User
) -> None:
    assert outsider_api.get(_url(project)).status_code == 404
    assert outsider_api.put(_url(project), {}, format="json").status_code == 404
    assert outsider_api.get("/api/config/?project=abc").status_code == 400


def test_over_long_and_deeply_nested_values_are_400s(
    api, project: Project, regions: list[Region]
) -> None:
    long_name = {
        "channels": [{"name": "x" * 101, "kind": "email", "target": "a@b.example"}]
    }
    response = api.put(_url(project), long_name, format="json")
    assert response.json() == {"channels[0].name": ["At most 100 characters."]}
    window = {
        "maintenance_windows": [
            {
                "name": "w" * 201,
                "starts_at": "2026-01-01T00:00:00Z",
                "ends_at": "2026-01-01T01:00:00Z",
            }
        ]
    }
    response = api.put(_url(project), window, format="json")
    assert response.json() == {
        "maintenance_windows[0].name": ["At most 200 characters."]
    }
    too_long = [
        ({"escalation_policies": [{"name": "p" * 101}]}, "escalation_policies[0].name"),
        (
            {"status_pages": [{"slug": "s", "title": "t" * 201}]},
            "status_pages[0].title",
        ),
        (
            {
                "status_pages": [
                    {"slug": "s", "title": "T", "logo_url": "https://x/" + "l" * 500}
                ]
            },
            "status_pages[0].logo_url",
        ),
        (
            {
                "status_pages": [
                    {"slug": "s", "title": "T", "groups": [{"name": "g" * 101}]}
                ]
            },
            "status_pages[0].groups[0].name",
        ),
    ]
    for document, where in too_long:
        response = api.put(_url(project), document, format="json")
        assert response.status_code == 400, (document, response.content)
        assert list(response.json()) == [where], response.json()
        assert response.json()[where][0].startswith("At most ")
    nested = "monitors: " + "[" * 5000 + "]" * 5000
    response = api.put(_url(project), nested, content_type="application/yaml")
    assert response.status_code == 400


def test_policies_dependencies_and_pages_over_the_api(
    api, project: Project, regions: list[Region], owner: User
) -> None:
    page: dict[str, Any] = {
        "slug": "api-shop",
        "title": "Shop",
        "groups": [{"name": "Web", "monitors": [{"monitor": "Shop"}]}],
    }
    document = {
        "channels": [{"name": "Ops", "kind": "slack", "target": SLACK_URL}],
        "escalation_policies": [
            {"name": "Page", "steps": [{"delay_minutes": 0, "channels": ["Ops"]}]}
        ],
        "monitors": [
            {"name": "Shop", "url": "https://shop.example/", "depends_on": "LB"},
            {"name": "LB", "url": "https://lb.example/", "escalation_policy": "Page"},
        ],
        "status_pages": [page],
    }
    response = api.put(_url(project), document, format="json")
    assert response.status_code == 200, response.json()
    exported = api.get(_url(project)).json()
    assert exported["status_pages"] == document["status_pages"]
    assert exported["escalation_policies"] == document["escalation_policies"]
    again = api.put(_url(project), exported, format="json")
    assert again.json() == {"applied": True, "changes": []}

    # The slug is another project's now: a 400 at its path, nothing applied.
    other = project_create(owner=owner, name="Other")
    page["title"] = "Renamed"
    taken = api.put(f"/api/config/?project={other.pk}", document, format="json")
    assert taken.status_code == 400
    assert list(taken.json()) == ["status_pages[0].slug"]
    assert not Monitor.objects.filter(project=other).exists()
