"""The Celery app, as Celery documents it for Django projects."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import beat_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uptime.settings")

app = Celery("uptime")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@beat_init.connect
def sync_regions_on_start(**kwargs: object) -> None:
    """Regions follow UPTIME_REGIONS on start too, not only on migrate."""
    from monitors.services import regions_sync

    regions_sync()
