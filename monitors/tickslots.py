"""Reads of single ticks and tick lists with a bound on ``scheduled_at``.

The tick table is partitioned by day (``monitors.partitions``). A query
without a constant bound on ``scheduled_at`` makes the planner open, and
lock, every day partition kept (hundreds: 100-250 ms and thousands of locks
a query), even to find one row by id. So a tick's links carry its slot
(``?at=<scheduled_at>``), which prunes the lookup to one day; a link without
it (an old bookmark) is looked up in the last ``LOOKUP_DAYS`` days only; and
lists default to the last ``LIST_WINDOW``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import Tick

# How far back a tick link without its slot is looked for (the evidence
# links of the monitor page point at its latest checks).
LOOKUP_DAYS = 7
# The tick lists (API, admin) without a lower bound of their own.
LIST_WINDOW = timedelta(hours=24)
# The query parameter that carries a tick's slot in its links.
SLOT_PARAM = "at"


def slot_text(at: datetime) -> str:
    """``at`` exactly, in UTC, as a query value with nothing to escape
    (``Z``, not ``+00:00``: a ``+`` in a query string reads as a space)."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_slot(raw: str | None) -> datetime | None:
    """A date-time given as a slot, in UTC; None for anything else."""
    if not raw:
        return None
    try:
        value = parse_datetime(raw.strip())
    except (ValueError, OverflowError):
        return None
    if value is None:
        return None
    if timezone.is_naive(value):
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def window_start(end: datetime) -> datetime:
    """The start of the default list window ending at ``end`` (no earlier
    than the first representable moment: ``until`` may be year 1)."""
    earliest = datetime.min.replace(tzinfo=UTC)
    return max(end, earliest + LIST_WINDOW) - LIST_WINDOW


def tick_find(
    ticks: QuerySet[Tick],
    tick_id: int | str,
    at: datetime | None,
    *,
    now: datetime | None = None,
) -> Tick | None:
    """The tick ``tick_id`` of ``ticks``: in its slot's day when ``at`` is
    given (one partition), else, or if the slot does not match, among the
    last ``LOOKUP_DAYS`` days' ticks (a handful of partitions); None when
    not found there."""
    if at is not None:
        found = ticks.filter(pk=tick_id, scheduled_at=at).first()
        if found is not None:
            return found
    since = (now or timezone.now()) - timedelta(days=LOOKUP_DAYS)
    return ticks.filter(pk=tick_id, scheduled_at__gte=since).first()
