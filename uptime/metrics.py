"""Self-monitoring plumbing: shared counters and the Prometheus endpoint.

The figures come from several processes (check workers, the dispatcher,
web), so counters live in Redis, where each process adds to them with one
pipelined round trip, and ``/metrics`` reads them at scrape time. Gauges
(monitors by status, queue depths, notifications) are read from the database
and the broker at scrape time by collectors the apps register, so this module
knows no app's models.

Recording never raises: a Redis hiccup costs a figure, never a tick.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache

import redis
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

PREFIX = "uptime:metrics"
# Upper bounds (seconds) of the check start-lag histogram.
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Labels = tuple[tuple[str, str], ...]


@lru_cache(maxsize=1)
def client() -> redis.Redis:
    """One connection pool per process, with short timeouts: metrics wait
    for nobody."""
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        **settings.REDIS_CONNECTION_OPTIONS,
    )


def _field(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _labels(field: str) -> Labels:
    return tuple(
        (k, v) for k, _, v in (part.partition("=") for part in field.split(",") if part)
    )


class Recorder:
    """Counter increments and timestamps gathered, then sent in one round trip."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], float] = {}
        self.stamps: dict[str, float] = {}

    def add(self, name: str, labels: Mapping[str, str], amount: float = 1) -> None:
        key = (name, _field(labels))
        self.counts[key] = self.counts.get(key, 0) + amount

    def observe_lag(self, region: str, seconds: float) -> None:
        bucket = next((str(b) for b in LAG_BUCKETS if seconds <= b), "+Inf")
        self.add("check_start_lag_seconds_bucket", {"region": region, "le": bucket})
        self.add("check_start_lag_seconds_sum", {"region": region}, max(seconds, 0))
        self.add("check_start_lag_seconds_count", {"region": region})

    def stamp(self, name: str, when: float | None = None) -> None:
        self.stamps[name] = time.time() if when is None else when

    def send(self) -> None:
        if not self.counts and not self.stamps:
            return
        try:
            pipe = client().pipeline(transaction=False)
            for (name, field), amount in self.counts.items():
                pipe.hincrbyfloat(f"{PREFIX}:{name}", field, amount)
            for name, when in self.stamps.items():
                pipe.set(f"{PREFIX}:stamp:{name}", when)
            pipe.execute()
        except redis.RedisError:
            log.debug("metrics not recorded", exc_info=True)


def counters(name: str) -> dict[Labels, float]:
    """A shared counter's values by label set."""
    raw: dict[bytes, bytes] = client().hgetall(f"{PREFIX}:{name}")  # type: ignore[assignment]  # the sync client returns the dict itself
    return {_labels(k.decode()): float(v) for k, v in raw.items()}


def stamps(names: Iterable[str]) -> dict[str, float | None]:
    """When each named event last happened (epoch seconds), or None."""
    names = list(names)
    if not names:
        return {}
    values = client().mget([f"{PREFIX}:stamp:{n}" for n in names])
    return {
        n: float(v) if v is not None else None
        for n, v in zip(names, values, strict=True)
    }


# --- collectors ---------------------------------------------------------------

CollectorFn = Callable[[], Iterable[Metric]]
_collectors: list[CollectorFn] = []


def register_collector(collect: CollectorFn) -> None:
    """Apps add gauges read at scrape time (called from AppConfig.ready)."""
    if collect not in _collectors:
        _collectors.append(collect)


def _shared_counters() -> Iterator[Metric]:
    checks = CounterMetricFamily(
        "uptime_checks",
        "Checks run, by region and tick status (missed: the slot was not checked).",
        labels=["region", "status"],
    )
    for labels, value in sorted(counters("checks_total").items()):
        d = dict(labels)
        checks.add_metric([d.get("region", ""), d.get("status", "")], value)
    yield checks

    lag = HistogramMetricFamily(
        "uptime_check_start_lag_seconds",
        "How late each check started after its slot.",
        labels=["region"],
    )
    buckets = counters("check_start_lag_seconds_bucket")
    sums = counters("check_start_lag_seconds_sum")
    regions = sorted({dict(labels)["region"] for labels in buckets})
    for region in regions:
        cumulative = 0.0
        points = []
        for bound in [*(str(b) for b in LAG_BUCKETS), "+Inf"]:
            cumulative += buckets.get((("le", bound), ("region", region)), 0)
            points.append((bound, cumulative))
        lag.add_metric([region], points, sums.get((("region", region),), 0.0))
    yield lag


class _Collector(Collector):
    def collect(self) -> Iterator[Metric]:
        try:
            yield from _shared_counters()
        except redis.RedisError:
            log.warning("metrics: Redis unreachable, shared counters left out")
        for collect in _collectors:
            try:
                yield from collect()
            except Exception:
                log.exception("metrics collector %s failed", collect.__qualname__)
        up = GaugeMetricFamily(
            "uptime_metrics_scrape_ok", "1 when every collector answered."
        )
        up.add_metric([], 1)
        yield up


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for a scraper holding UPTIME_METRICS_TOKEN.

    Without a configured token the endpoint does not exist (404), so an
    install never exposes its figures by accident.
    """
    token = settings.UPTIME_METRICS_TOKEN
    if not token:
        raise Http404
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        value.strip().encode(), token.encode()
    ):
        response = HttpResponse("A bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector())
    return HttpResponse(
        generate_latest(registry),
        content_type="text/plain; version=0.0.4; charset=utf-8",
    )
