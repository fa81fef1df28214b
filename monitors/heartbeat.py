"""Heartbeat monitors: the user's job calls a secret ping URL.

The ping records ``last_ping_at``; the heartbeat check (monitors/checks/
heartbeat.py) turns a missing ping into a DOWN tick through the same tick,
incident and alert pipeline as every other kind.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .models import Monitor, MonitorKind, MonitorStatus

log = logging.getLogger(__name__)

_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def heartbeat_ping(*, key: str, now: datetime | None = None) -> bool:
    """Record a ping; False when no heartbeat monitor has this key.

    One indexed UPDATE per ping (heartbeat_key is unique), so a job that
    pings in a tight loop costs little and never races with itself.
    """
    now = now or timezone.now()
    monitors = Monitor.objects.filter(heartbeat_key=key, kind=MonitorKind.HEARTBEAT)
    if not monitors.update(last_ping_at=now):
        return False
    # A DOWN heartbeat that pings again is re-checked at once, so recovery
    # does not wait for the next slot.
    monitors.filter(enabled=True, status=MonitorStatus.DOWN).update(next_check_at=now)
    return True


def _text(body: str, status: int) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt  # called by scripts and cron jobs; the key in the URL is the secret
@never_cache
@require_http_methods(["GET", "POST", "HEAD"])
def ping(request: HttpRequest, key: str) -> HttpResponse:
    if not _KEY.match(key):
        return _text("not found\n", 404)
    try:
        found = heartbeat_ping(key=key)
    except DatabaseError:
        log.exception("heartbeat ping could not be stored")
        return _text("try again\n", 503)
    if not found:
        return _text("not found\n", 404)
    return _text("OK\n", 200)
