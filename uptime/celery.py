"""The Celery app, as Celery documents it for Django projects."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import beat_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uptime.settings")

app = Celery("uptime")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@beat_init.connect
def sync_regions_on_start(**kwargs: object) -> None:
    """Regions follow UPTIME_REGIONS on start too, not only on migrate."""
    from monitors.services import regions_sync

    regions_sync()


@worker_ready.connect
def heartbeat_checked_regions(sender: object, **kwargs: object) -> None:
    """A worker that consumes checks.<region> queues heartbeats those
    regions from a small thread (monitors/regionhealth.py)."""
    from monitors.regionhealth import HeartbeatThread
    from uptime.queues import CHECKS_PREFIX

    queues = getattr(sender.app.amqp.queues, "consume_from", None) or {}  # type: ignore[attr-defined]
    codes = [
        name.removeprefix(CHECKS_PREFIX)
        for name in queues
        if name.startswith(CHECKS_PREFIX)
    ]
    if codes:
        hostname = getattr(sender, "hostname", "") or ""
        HeartbeatThread(worker=hostname, region_codes=codes).start()
