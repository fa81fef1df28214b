"""Reads of ticks by id and tick lists carry a bound on ``scheduled_at``: with
40 day partitions kept, the API list, the API and dashboard tick pages and
the admin list and change page open (and lock) a few days' partitions, not
all of them, and return the same rows; links without the slot still work
for recent ticks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, timedelta
from typing import Any
from urllib.parse import unquote

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from monitors import partitions, tickslots
from monitors.models import Monitor, Region, Tick

from ..conftest import api_client_for, client_for

DAYS = 40
# Yesterday, today and the days prepared ahead: what a recent window opens.
RECENT = 2 + partitions.DAYS_AHEAD
# The fallback for a link without its slot: its days and the days ahead.
LOOKUP = tickslots.LOOKUP_DAYS + 1 + partitions.DAYS_AHEAD

pytestmark = pytest.mark.django_db(transaction=True)


def _tick_partitions_locked() -> int:
    """Day partitions of the tick table this session has read (and keeps
    locked until its transaction ends)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(DISTINCT c.oid) FROM pg_locks l
            JOIN pg_class c ON c.oid = l.relation
            WHERE l.pid = pg_backend_pid() AND c.relname LIKE 'monitors_tick_p%%'
              AND c.relkind = 'r' AND l.mode = 'AccessShareLock'
            """
        )
        return cursor.fetchone()[0]


def _reading(client: Client, url: str, **extra: Any) -> tuple[Any, int]:
    """The response to ``url`` and how many day partitions it read."""
    with transaction.atomic():
        response = client.get(url, **extra)
        return response, _tick_partitions_locked()


@pytest.fixture
def forty_days() -> Iterator[None]:
    """40 days of day partitions, committed (as in production), dropped
    after the test."""
    partitions.tick_partitions_ensure()
    today = timezone.now().astimezone(UTC).date()
    made = []
    with connection.cursor() as cursor:
        have = partitions.day_partitions(cursor)
        for n in range(2, DAYS + 2):
            day = today - timedelta(days=n)
            if day not in have:
                with transaction.atomic():
                    made.append(partitions.create_day(cursor, day))
    yield
    with connection.cursor() as cursor:
        for name in made:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")


@pytest.fixture
def ticks(forty_days, make_monitor, regions: list[Region]) -> dict[str, Tick]:
    """A monitor's failed checks: two recent, one 3 days old (within the
    lookup of a link without slot), one 10 and one 29 days old."""
    monitor = make_monitor()
    now = timezone.now()
    ages = {
        "now": timedelta(minutes=2),
        "recent": timedelta(minutes=5),
        "days3": timedelta(days=3),
        "days10": timedelta(days=10),
        "days29": timedelta(days=29),
    }
    out = {}
    for name, age in ages.items():
        at = now - age
        out[name] = Tick.objects.create(
            monitor=monitor,
            region=regions[0],
            scheduled_at=at,
            checked_at=at,
            status="down",
            error="http_status",
            message=f"HTTP 503 {name}",
            status_code=503,
            details={"resolved_ip": "203.0.113.7", "body": f"evidence-{name}"},
        )
    assert _where(out["days29"]) != partitions.DEFAULT
    return out


def _where(tick: Tick) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM monitors_tick WHERE id = %s",
            [tick.pk],
        )
        return cursor.fetchone()[0]


def test_a_read_by_id_alone_opens_every_day(ticks) -> None:
    """The yardstick the other tests' bounds are measured against."""
    with transaction.atomic():
        assert Tick.objects.filter(pk=ticks["now"].pk).first() is not None
        assert _tick_partitions_locked() >= DAYS


# --- API -----------------------------------------------------------------------


def _ids(rows: list[dict[str, Any]]) -> list[int]:
    return [row["id"] for row in rows]


def test_the_api_tick_list_defaults_to_the_last_24_hours(ticks, owner: User) -> None:
    api = api_client_for(owner)
    monitor = ticks["now"].monitor
    url = f"/api/monitors/{monitor.pk}/ticks/"
    response, opened = _reading(api, url)
    assert response.status_code == 200
    assert _ids(response.json()["results"]) == [ticks["now"].pk, ticks["recent"].pk]
    assert opened <= RECENT
    # The same rows as asking for the window.
    since = tickslots.slot_text(timezone.now() - timedelta(hours=24))
    assert (
        api.get(url, {"since": since}).json()["results"] == (response.json()["results"])
    )
    # Pages keep the first page's window: the next link carries it.
    first = api.get(url, {"page_size": 1}).json()
    assert _ids(first["results"]) == [ticks["now"].pk]
    assert "since=" in first["next"]
    second, opened = _reading(api, first["next"])
    assert _ids(second.json()["results"]) == [ticks["recent"].pk]
    assert opened <= RECENT
    # An explicit since still reaches back: every tick, newest first.
    response = api.get(
        url, {"since": tickslots.slot_text(timezone.now() - timedelta(days=DAYS))}
    )
    assert _ids(response.json()["results"]) == [t.pk for t in ticks.values()]
    # until alone: the 24 hours before it.
    until = ticks["days3"].scheduled_at + timedelta(seconds=1)
    response, opened = _reading(api, f"{url}?until={tickslots.slot_text(until)}")
    assert _ids(response.json()["results"]) == [ticks["days3"].pk]
    assert opened <= 2


def test_the_api_tick_detail_reads_its_slot_s_day(ticks, owner: User) -> None:
    api = api_client_for(owner)
    old = ticks["days29"]
    url = f"/api/monitors/{old.monitor_id}/ticks/{old.pk}/"
    response, opened = _reading(
        api, f"{url}?at={tickslots.slot_text(old.scheduled_at)}"
    )
    assert response.status_code == 200
    assert response.json()["id"] == old.pk
    assert response.json()["details"]["body"] == "evidence-days29"
    assert opened == 1
    # The slot in another notation (an offset) is the same moment.
    offset = old.scheduled_at.astimezone(timezone.get_fixed_timezone(-300))
    assert api.get(url, {"at": offset.isoformat()}).json()["id"] == old.pk
    # Without the slot: found only within the last days, a 404 past them.
    assert api.get(url).status_code == 404
    recent = ticks["days3"]
    url = f"/api/monitors/{recent.monitor_id}/ticks/{recent.pk}/"
    response, opened = _reading(api, url)
    assert response.status_code == 200
    assert response.json()["id"] == recent.pk
    assert opened <= LOOKUP
    # A wrong slot falls back to the same search; a malformed one is a 400.
    wrong = tickslots.slot_text(recent.scheduled_at - timedelta(days=20))
    assert api.get(url, {"at": wrong}).json()["id"] == recent.pk
    response = api.get(url, {"at": "yesterday"})
    assert response.status_code == 400
    assert "at" in response.json()


def test_another_monitor_s_tick_is_a_404_even_with_its_slot(
    ticks, owner: User, outsider: User, make_monitor
) -> None:
    tick = ticks["now"]
    at = {"at": tickslots.slot_text(tick.scheduled_at)}
    other = make_monitor(name="Other")
    api = api_client_for(owner)
    assert api.get(f"/api/monitors/{other.pk}/ticks/{tick.pk}/", at).status_code == 404
    outsider_api = api_client_for(outsider)
    url = f"/api/monitors/{tick.monitor_id}/ticks/{tick.pk}/"
    assert outsider_api.get(url, at).status_code == 404


# --- dashboard -----------------------------------------------------------------


def test_the_evidence_links_carry_the_slot_and_open_one_day(ticks, owner: User) -> None:
    client = client_for(owner)
    monitor: Monitor = ticks["now"].monitor
    body = client.get(monitor.get_absolute_url()).content.decode()
    links = re.findall(r'href="(/monitors/\d+/ticks/\d+/[^"]*)"', body)
    assert links, "the monitor page links its failed checks' evidence"
    tick = ticks["now"]
    link = (
        reverse("dashboard:tick", args=[monitor.pk, tick.pk])
        + f"?at={tickslots.slot_text(tick.scheduled_at)}"
    )
    assert link in links
    response, opened = _reading(client, link)
    assert response.status_code == 200
    assert "evidence-now" in response.content.decode()
    assert opened == 1


def test_an_old_dashboard_link_without_slot_still_resolves(
    ticks, owner: User, outsider: User
) -> None:
    client = client_for(owner)
    recent = ticks["days3"]
    url = reverse("dashboard:tick", args=[recent.monitor_id, recent.pk])
    response, opened = _reading(client, url)
    assert response.status_code == 200
    assert "evidence-days3" in response.content.decode()
    assert opened <= LOOKUP
    # Past the lookup's days only the link with its slot finds it.
    old = ticks["days10"]
    url = reverse("dashboard:tick", args=[old.monitor_id, old.pk])
    assert client.get(url).status_code == 404
    at = {"at": tickslots.slot_text(old.scheduled_at)}
    assert "evidence-days10" in client.get(url, at).content.decode()
    # A slot the parser cannot read is no 500: the search without it.
    assert client.get(url, {"at": "2026-13-45T99:00:00"}).status_code == 404
    assert client_for(outsider).get(url, at).status_code == 404


# --- admin ---------------------------------------------------------------------


@pytest.fixture
def admin_client(db) -> Client:
    User.objects.create_superuser("root", "root@example.com", "pw-root-123!")
    client = Client()
    client.login(username="root", password="pw-root-123!")
    return client


def _admin_rows(body: str) -> list[str]:
    return re.findall(r'href="(/admin/monitors/tick/\d+/change/[^"]*)"', body)


def test_the_admin_tick_list_shows_the_last_24_hours_by_default(
    ticks, admin_client: Client
) -> None:
    response, opened = _reading(admin_client, "/admin/monitors/tick/")
    assert response.status_code == 200
    rows = _admin_rows(response.content.decode())
    assert [int(r.split("/")[4]) for r in rows] == [
        ticks["now"].pk,
        ticks["recent"].pk,
    ]
    assert opened <= RECENT
    # Longer windows are a filter away; never all of the days.
    response, opened = _reading(admin_client, "/admin/monitors/tick/?scheduled=7d")
    assert len(_admin_rows(response.content.decode())) == 3
    assert opened <= 7 + RECENT
    body = admin_client.get("/admin/monitors/tick/?scheduled=30d").content.decode()
    assert len(_admin_rows(body)) == 5
    assert "Last 30 days" in body
    # A value the filter does not know is the default.
    body = admin_client.get("/admin/monitors/tick/?scheduled=all").content.decode()
    assert len(_admin_rows(body)) == 2


def test_the_admin_change_page_reads_its_slot_s_day(
    ticks, admin_client: Client
) -> None:
    body = admin_client.get("/admin/monitors/tick/?scheduled=30d").content.decode()
    old = ticks["days29"]
    (link,) = [
        r.replace("&amp;", "&")
        for r in _admin_rows(body)
        if r.startswith(f"/admin/monitors/tick/{old.pk}/")
    ]
    assert f"at={tickslots.slot_text(old.scheduled_at)}" in unquote(link)
    response, opened = _reading(admin_client, link)
    assert response.status_code == 200
    assert "evidence-days29" in response.content.decode()
    assert opened == 1
    # An old change link without the slot: recent ticks still open.
    recent = ticks["days3"]
    response, opened = _reading(
        admin_client, f"/admin/monitors/tick/{recent.pk}/change/"
    )
    assert response.status_code == 200
    assert "evidence-days3" in response.content.decode()
    assert opened <= LOOKUP
    # Past the lookup's days, the admin's "does not exist" (a redirect).
    response = admin_client.get(f"/admin/monitors/tick/{old.pk}/change/")
    assert response.status_code == 302
    response = admin_client.get(f"/admin/monitors/tick/{old.pk}/change/?at=junk")
    assert response.status_code == 302


def test_the_schema_documents_the_default_window_and_the_slot(db) -> None:
    spec = json.loads(
        Client().get("/api/schema/", HTTP_ACCEPT="application/json").content
    )
    listing = spec["paths"]["/api/monitors/{id}/ticks/"]["get"]["parameters"]
    (since,) = [p for p in listing if p["name"] == "since"]
    assert "24 hours" in since["description"]
    detail = spec["paths"]["/api/monitors/{id}/ticks/{tick_id}/"]["get"]
    (at,) = [p for p in detail["parameters"] if p["name"] == "at"]
    assert at["in"] == "query" and at["schema"]["format"] == "date-time"
