"""The Celery app, as Celery documents it for Django projects."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uptime.settings")

app = Celery("uptime")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
