"""Durations and states in the words every page uses: ``54 s``, ``3 min``,
``2 h 5 min``, ``6 s ago``, "No data yet" (never Django's "0 minutes")."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

from ..dashboard.rows import ago as _ago
from ..dashboard.rows import duration_text
from ..tickslots import slot_text

register = template.Library()

_STATE_WORDS = {"nodata": "No data yet", "pending": "Pending"}


@register.filter
def ago(moment: datetime | None) -> str:
    """``6 s ago``, ``3 min ago``; ``never`` for no moment."""
    return _ago(moment, timezone.now())


@register.filter
def duration(start: datetime | None, end: datetime | None = None) -> str:
    """The time from ``start`` to ``end`` (default: now), e.g. ``2 h 5 min``."""
    if start is None:
        return ""
    return duration_text(max(((end or timezone.now()) - start).total_seconds(), 0))


@register.filter
def seconds(value: float | None) -> str:
    """A configured number of seconds, exactly: ``10 s``, ``2.5 s``,
    ``1 min 30 s``, ``5 min``, ``1 h``."""
    if value is None:
        return ""
    if value < 60:
        return f"{value:g} s"
    whole = round(value)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{n} {unit}" for n, unit in ((hours, "h"), (minutes, "min"), (secs, "s")) if n
    ]
    return " ".join(parts)


@register.filter
def state_word(status: str) -> str:
    """A state as a label: ``Up``, ``No data yet``."""
    return _STATE_WORDS.get(status, status.capitalize())


@register.filter
def slot(moment: datetime) -> str:
    """A tick's slot for its link's ``?at=`` (``monitors.tickslots``): the
    page then reads one day partition of the tick table, not all of them."""
    return slot_text(moment)
