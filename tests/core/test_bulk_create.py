"""Creating many monitors: the bulk endpoint, and monitors joining the grid.

A new monitor's first check lands on the next whole second, so monitors
created together share one batch per region instead of each being a batch of
one. ``dispatch_due``'s ``send`` is replaced by a list: it stands in for the
broker, nothing else.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from monitors import services
from monitors.models import Monitor, Project, Region, Role
from monitors.scheduler import dispatch_due
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

Sent = list[tuple[str, datetime, list[int]]]


def _dispatch(now: datetime, on_commit) -> Sent:
    sent: Sent = []
    with on_commit(execute=True):  # the batches are sent once the claim commits
        dispatch_due(
            now=now, send=lambda code, at, ids, _: sent.append((code, at, ids))
        )
    return sent


def _item(n: int, **extra: object) -> dict[str, object]:
    return {"name": f"m{n}", "url": f"https://93.184.215.{n % 250 + 1}/", **extra}


def _bulk(api: APIClient, body: object):
    return api.post("/api/monitors/bulk/", body, format="json")


# --- the grid ----------------------------------------------------------------------


def test_monitors_created_together_share_one_batch_per_region(
    owner: User, regions: list[Region], django_capture_on_commit_callbacks
) -> None:
    started = timezone.now()
    for n in range(30):
        services.monitor_create(user=owner, fields=_item(n))
    ended = timezone.now()

    slots = {s for s in Monitor.objects.values_list("next_check_at", flat=True) if s}
    assert len(slots) >= 1
    # The next whole second after each save: checked within a second or so.
    assert all(s.microsecond == 0 for s in slots)
    assert started < min(slots) and max(slots) <= ended + timedelta(seconds=1)
    assert len(slots) <= (ended - started).total_seconds() + 2

    sent = _dispatch(max(slots), django_capture_on_commit_callbacks)
    # One batch per region per shared second, not one per monitor (30 x 3).
    assert len(sent) == len(regions) * len(slots)
    assert sorted(i for _, _, ids in sent for i in ids) == sorted(
        list(Monitor.objects.values_list("pk", flat=True)) * len(regions)
    )


def test_a_bulk_create_is_one_batch_per_region(
    api: APIClient, regions: list[Region], django_capture_on_commit_callbacks
) -> None:
    response = _bulk(api, [_item(n) for n in range(40)])
    assert response.status_code == 201, response.json()

    (slot,) = set(Monitor.objects.values_list("next_check_at", flat=True))
    assert slot is not None and slot.microsecond == 0
    assert timezone.now() < slot + timedelta(seconds=1)
    sent = _dispatch(slot, django_capture_on_commit_callbacks)
    assert sorted(code for code, _, _ in sent) == sorted(r.code for r in regions)
    assert {len(ids) for _, _, ids in sent} == {40}


# --- the bulk endpoint -------------------------------------------------------------


def test_it_creates_a_valid_set_and_returns_them(
    api: APIClient, project: Project, regions: list[Region]
) -> None:
    items = [_item(n) for n in range(3)]
    items[1]["interval_seconds"] = 120
    items[2]["http_headers"] = {"X-Api-Key": "a-long-secret-value"}

    response = _bulk(api, items)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert [m["name"] for m in body] == ["m0", "m1", "m2"]
    assert body[1]["interval_seconds"] == 120
    assert body[0]["status"] == "pending"
    assert sorted(body[0]["regions"]) == sorted(r.code for r in regions)
    # The same rules as a single create: this request's own header is shown.
    assert body[2]["http_headers"] == {"X-Api-Key": "a-long-secret-value"}
    assert Monitor.objects.filter(project=project).count() == 3


def test_it_also_takes_an_object_with_a_monitors_list(
    api: APIClient, regions: list[Region]
) -> None:
    response = _bulk(api, {"monitors": [_item(1), _item(2)]})
    assert response.status_code == 201
    assert Monitor.objects.count() == 2


def test_one_bad_item_creates_nothing_and_names_every_bad_index(
    api: APIClient, regions: list[Region]
) -> None:
    items = [_item(n) for n in range(5)]
    items[1]["url"] = "ftp://x"
    items[3]["interval_seconds"] = "soon"
    items[4] = "not an object"  # type: ignore[call-overload]

    response = _bulk(api, items)

    assert response.status_code == 400
    errors = response.json()["monitors"]
    assert sorted(errors) == ["1", "3", "4"]
    assert "url" in errors["1"]
    assert "interval_seconds" in errors["3"]
    assert "non_field_errors" in errors["4"]
    assert not Monitor.objects.exists()


@pytest.mark.parametrize("body", [[], {}, {"monitors": "x"}, "x", {"other": []}])
def test_a_body_that_is_no_list_is_a_400(
    api: APIClient, regions: list[Region], body: object
) -> None:
    response = _bulk(api, body)
    assert response.status_code == 400
    assert "monitors" in response.json()


def test_more_than_a_thousand_is_a_400(api: APIClient, regions: list[Region]) -> None:
    response = _bulk(api, [_item(n) for n in range(1001)])
    assert response.status_code == 400
    assert "At most 1000" in response.json()["monitors"]
    assert not Monitor.objects.exists()


def test_quotas_hold_for_the_whole_set(
    settings, api: APIClient, regions: list[Region]
) -> None:
    settings.UPTIME_QUOTA_MONITORS = 3
    services.monitor_create(user=User.objects.get(username="alice"), fields=_item(100))

    response = _bulk(api, [_item(n) for n in range(3)])

    assert response.status_code == 400
    errors = response.json()["monitors"]
    assert list(errors) == ["2"]  # the third of the set passes the limit
    assert "UPTIME_QUOTA_MONITORS" in str(errors["2"]["non_field_errors"])
    assert Monitor.objects.count() == 1  # the set is not half-created


def test_checks_per_minute_count_the_whole_set(
    settings, api: APIClient, regions: list[Region]
) -> None:
    # Three regions at 60 s: 3 checks a minute each; 10 allowed.
    settings.UPTIME_QUOTA_CHECKS_PER_MINUTE = 10
    response = _bulk(api, [_item(n) for n in range(4)])
    assert response.status_code == 400
    assert "UPTIME_QUOTA_CHECKS_PER_MINUTE" in str(
        response.json()["monitors"]["3"]["interval_seconds"]
    )
    assert not Monitor.objects.exists()


def test_another_project_is_refused_and_nothing_is_created(
    api: APIClient, outsider: User, regions: list[Region]
) -> None:
    theirs = Project.objects.get(owner=outsider)
    response = _bulk(api, [_item(1), _item(2, project=theirs.pk)])
    assert response.status_code == 400
    assert "project" in response.json()["monitors"]["1"]
    assert not Monitor.objects.exists()


def test_a_viewer_cannot_bulk_create(
    make_member, project: Project, regions: list[Region]
) -> None:
    viewer = api_client_for(make_member(Role.VIEWER))
    response = _bulk(viewer, [_item(1, project=project.pk)])
    assert response.status_code == 403
    assert not Monitor.objects.exists()


def test_a_thousand_monitors_are_created_in_one_request(
    settings, api: APIClient, regions: list[Region]
) -> None:
    settings.UPTIME_MAX_REQUESTS_PER_MINUTE_PER_HOST = 10**6
    response = _bulk(api, [_item(n) for n in range(1000)])
    assert response.status_code == 201, str(response.json())[:500]
    assert len(response.json()) == 1000
    assert Monitor.objects.count() == 1000
