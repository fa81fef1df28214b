"""Monitoring the monitor: /healthz, /healthz/pipeline and /metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from monitors import runner, scheduler
from monitors.dashboard.context import CACHE_KEY
from monitors.models import Monitor, Region
from tests.targets import Target, free_port, respond
from uptime import metrics

TOKEN = "metrics-token-for-tests"


@pytest.fixture(autouse=True)
def fresh_metrics() -> Iterator[None]:
    """Shared counters live in Redis and outlive a test: each starts clean."""
    metrics.client.cache_clear()
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(match=f"{metrics.PREFIX}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
    yield
    metrics.client.cache_clear()


@pytest.fixture
def metrics_token(settings) -> str:
    settings.UPTIME_METRICS_TOKEN = TOKEN
    return TOKEN


def _scrape(token: str = TOKEN) -> tuple[int, str]:
    resp = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    return resp.status_code, resp.content.decode()


def _sample(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{line_start} not in:\n{text}")


def _check_now(monitor: Monitor, region: Region) -> None:
    at = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
    runner.run_checks(
        region_code=region.code, scheduled_at=at, monitor_ids=[monitor.pk]
    )


def test_healthz_says_ok_when_database_and_broker_answer(db) -> None:
    resp = Client().get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_is_503_naming_the_broker_when_redis_is_gone(db, settings) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    metrics.client.cache_clear()
    resp = Client().get("/healthz")
    assert resp.status_code == 503
    assert resp.json() == {
        "status": "unavailable",
        "database": "ok",
        "broker": "unavailable",
    }


def test_metrics_do_not_exist_without_a_token_and_refuse_a_wrong_one(
    db, settings
) -> None:
    settings.UPTIME_METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    settings.UPTIME_METRICS_TOKEN = TOKEN
    assert Client().get("/metrics").status_code == 401
    assert _scrape("wrong")[0] == 401


def test_metrics_count_checks_by_region_and_status_and_their_start_lag(
    allow_private, make_monitor, regions, target: Target, metrics_token: str
) -> None:
    target.routes["/up"] = respond(200)
    target.routes["/down"] = respond(500)
    eu = regions[0]
    up = make_monitor(name="up", url=target.url("/up"), regions=[eu])
    down = make_monitor(name="down", url=target.url("/down"), regions=[eu])
    for _ in range(2):
        at = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
        runner.run_checks(
            region_code=eu.code, scheduled_at=at, monitor_ids=[up.pk, down.pk]
        )
        time.sleep(1)

    status, text = _scrape()
    assert status == 200, text
    region = f'region="{eu.code}"'
    assert _sample(text, f'uptime_checks_total{{{region},status="up"}}') == 2
    assert _sample(text, f'uptime_checks_total{{{region},status="down"}}') == 2
    assert _sample(text, f"uptime_check_start_lag_seconds_count{{{region}}}") == 4
    # Each batch started about a second after its slot (it was sent late).
    assert (
        _sample(text, f'uptime_check_start_lag_seconds_bucket{{le="0.5",{region}}}')
        == 0
    )
    assert (
        _sample(text, f'uptime_check_start_lag_seconds_bucket{{le="+Inf",{region}}}')
        == 4
    )
    assert _sample(text, 'uptime_monitors{status="up"}') == 1
    assert _sample(text, 'uptime_monitors{status="failing"}') == 1
    assert 'uptime_queue_depth{queue="alerts"}' in text
    assert 'uptime_queue_depth{queue="dispatch"}' in text
    assert _sample(text, f"uptime_region_healthy{{{region}}}") == 1
    assert "uptime_notifications" in text


def test_pipeline_is_unhealthy_until_dispatch_runs_and_every_region_reports(
    allow_private, make_monitor, regions, target: Target
) -> None:
    target.routes["/"] = respond(200)
    monitor = make_monitor(url=target.url("/"), interval_seconds=30)

    resp = Client().get("/healthz/pipeline")
    assert resp.status_code == 503
    problems = " ".join(resp.json()["problems"])
    assert "Dispatch has not run" in problems
    assert all(f"region {r.code}" in problems for r in regions)

    scheduler.dispatch_due(send=lambda *args: None)
    for region in regions[:-1]:
        _check_now(monitor, region)
    body = Client().get("/healthz/pipeline").json()
    assert body["status"] == "unhealthy"
    assert body["problems"] == [
        f"No checks stored from region {regions[-1].code}: "
        "are its check workers running?"
    ]
    assert body["dispatch_age_seconds"] < 5

    _check_now(monitor, regions[-1])
    resp = Client().get("/healthz/pipeline")
    assert resp.status_code == 200, resp.json()
    assert resp.json()["regions"][regions[0].code]["shortest_interval_seconds"] == 30


def test_a_region_whose_last_batch_is_old_is_reported_silent(
    make_monitor, regions
) -> None:
    make_monitor(interval_seconds=60, regions=regions[:1])
    recorder = metrics.Recorder()
    recorder.stamp("dispatch")
    recorder.stamp(f"region:{regions[0].code}", time.time() - 2 * 60 - 30)
    recorder.send()
    body = Client().get("/healthz/pipeline").json()
    assert body["problems"] == [
        f"No checks stored from region {regions[0].code}: "
        "are its check workers running?"
    ]
    # Regions without enabled monitors are never "silent".
    assert body["regions"][regions[1].code]["shortest_interval_seconds"] is None


def test_a_backed_up_queue_is_a_problem(db, settings) -> None:
    settings.UPTIME_PIPELINE_MAX_QUEUE = 2
    recorder = metrics.Recorder()
    recorder.stamp("dispatch")
    recorder.send()
    client = metrics.client()
    queue = "alerts"
    client.rpush(queue, "x", "y", "z")
    try:
        body = Client().get("/healthz/pipeline").json()
    finally:
        client.delete(queue)
    # At least our three (a previous test may have left tasks there too).
    assert any(p.startswith("Queue alerts is backing up (") for p in body["problems"])


def test_the_dashboard_shows_a_banner_while_the_pipeline_is_unhealthy(
    owner_client, make_monitor, regions
) -> None:
    make_monitor(regions=regions[:1])
    page = owner_client.get("/").content.decode()
    assert "Monitoring itself is unhealthy" in page
    assert "Dispatch has not run for a while" in page
    assert f"No checks stored from region {regions[0].code}" in page

    recorder = metrics.Recorder()
    recorder.stamp("dispatch")
    recorder.stamp(f"region:{regions[0].code}")
    recorder.send()
    cache.delete(CACHE_KEY)
    assert (
        "Monitoring itself is unhealthy" not in owner_client.get("/").content.decode()
    )


def test_signed_out_pages_show_no_pipeline_banner(db) -> None:
    page = Client().get("/accounts/login/").content.decode()
    assert "Monitoring itself is unhealthy" not in page
