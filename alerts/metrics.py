"""What alerts adds to ``/metrics``: the notification outbox by status."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric

from .models import Notification


def collect() -> Iterator[Metric]:
    gauge = GaugeMetricFamily(
        "uptime_notifications",
        "Notifications in the outbox, by status (failed: given up).",
        labels=["status"],
    )
    for row in Notification.objects.values("status").annotate(n=Count("id")):
        gauge.add_metric([row["status"]], row["n"])
    yield gauge
