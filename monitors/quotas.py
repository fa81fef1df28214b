"""Quotas: one tenant cannot take the whole box, nor aim it at a third party.

Limits come from settings (``UPTIME_QUOTA_*``, and the per-host request rate
``UPTIME_MAX_REQUESTS_PER_MINUTE_PER_HOST`` across every project). Each is a
rate a monitor's settings imply (checks per minute = regions x 60 /
interval), so it is checked when a monitor is saved, never on the hot check
path. They bind tenants; the operator working in the Django admin (with the
model permission) is not bound.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet

from .checks.options import url_host
from .models import Invitation, Membership, Monitor, MonitorKind, Project

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    class _RegionCount(TypedDict):
        n_regions: int

    CountedMonitor = WithAnnotations[Monitor, _RegionCount]


class QuotaExceeded(ValidationError):
    """A save over a limit; ``message_dict`` names the field and the limit,
    ``index`` which of the monitors planned together passed it."""

    index = 0


def is_operator(user: object) -> bool:
    """The install's operator: a superuser, who runs the Django admin for
    every project and is held to no quota. Other staff act through their
    roles like anyone else."""
    return bool(getattr(user, "is_superuser", False))


def members_quota_check(*, project: Project, actor: object) -> None:
    """Raise QuotaExceeded when one more invitation would pass
    ``UPTIME_QUOTA_MEMBERS``: members and pending invitations both count, so
    a project cannot invite past it and have them all accept later. The
    caller holds the project row locked."""
    if is_operator(actor):
        return
    limit = settings.UPTIME_QUOTA_MEMBERS
    members = Membership.objects.filter(project=project).count()
    pending = Invitation.objects.pending().filter(project=project).count()
    if members + pending >= limit:
        raise QuotaExceeded(
            {
                "invitee": f"This project has {members} members and {pending} "
                f"pending invitations, the most it may have "
                f"(UPTIME_QUOTA_MEMBERS={limit})."
            }
        )


def _per_minute(interval_seconds: int, regions: int) -> float:
    return regions * 60 / max(interval_seconds, 1)


def _rates(monitors: Iterable[CountedMonitor]) -> float:
    return sum(_per_minute(m.interval_seconds, m.n_regions) for m in monitors)


def monitor_host(kind: str, url: str) -> str:
    """The host an HTTP or TCP monitor sends requests to ('' for others)."""
    return url_host(url) if kind in (MonitorKind.HTTP, MonitorKind.TCP) else ""


def _others(
    monitor: Monitor | None,
) -> QuerySet[CountedMonitor]:
    queryset = Monitor.objects.filter(enabled=True).annotate(n_regions=Count("regions"))
    return queryset.exclude(pk=monitor.pk) if monitor is not None else queryset


def monitor_quota_check(
    *,
    project: Project,
    monitor: Monitor | None,
    kind: str,
    url: str,
    interval_seconds: int,
    regions: int,
    enabled: bool,
) -> None:
    """Raise QuotaExceeded when saving this monitor would pass a limit.

    ``monitor`` is the stored row being changed (None on create); the other
    arguments are the settings it would have.
    """
    monitors_quota_check(
        project=project,
        monitor=monitor,
        planned=[Planned(kind, url, interval_seconds, regions, enabled)],
    )


@dataclass(frozen=True)
class Planned:
    """The settings a monitor about to be saved would have."""

    kind: str
    url: str
    interval_seconds: int
    regions: int
    enabled: bool


def _host_pattern(host: str) -> str:
    return rf"^[a-z0-9+.-]+://([^/@]*@)?\[?{re.escape(host)}\]?(:[0-9]+)?([/?#]|$)"


def monitors_quota_check(
    *, project: Project, monitor: Monitor | None, planned: Sequence[Planned]
) -> None:
    """Raise QuotaExceeded when saving ``planned`` (new monitors, or the new
    settings of ``monitor``) would pass a limit; ``index`` names the first
    one past it. The stored monitors are read once, whatever the number
    planned (a bulk create of 1,000 is not 1,000 scans)."""
    others = _others(monitor)
    count = Monitor.objects.filter(project=project).count() if monitor is None else 0
    used = _rates(others.filter(project=project))
    by_host: dict[str, float] = {}
    for index, item in enumerate(planned):
        errors: dict[str, str] = {}
        if monitor is None:
            if count >= settings.UPTIME_QUOTA_MONITORS:
                errors["__all__"] = (
                    f"This project has {count} monitors, the most it may have "
                    f"(UPTIME_QUOTA_MONITORS={settings.UPTIME_QUOTA_MONITORS})."
                )
            count += 1
        if item.enabled:
            errors.update(_rate_errors(item, used, by_host, others))
            used += _per_minute(item.interval_seconds, item.regions)
        if errors:
            exc = QuotaExceeded(errors)
            exc.index = index
            raise exc


def _rate_errors(
    item: Planned,
    used: float,
    by_host: dict[str, float],
    others: QuerySet[CountedMonitor],
) -> dict[str, str]:
    """The rate limits ``item`` would pass; counts it into ``by_host``."""
    errors: dict[str, str] = {}
    mine = _per_minute(item.interval_seconds, item.regions)
    limit = settings.UPTIME_QUOTA_CHECKS_PER_MINUTE
    if used + mine > limit:
        errors["interval_seconds"] = (
            f"This project would make {used + mine:.0f} checks a minute; "
            f"the limit is {limit} (UPTIME_QUOTA_CHECKS_PER_MINUTE). "
            "Use a longer interval or fewer regions."
        )
    host = monitor_host(item.kind, item.url)
    if host:
        if host not in by_host:
            same_host = others.filter(
                kind__in=(MonitorKind.HTTP, MonitorKind.TCP),
                url__iregex=_host_pattern(host),
            )
            by_host[host] = _rates(same_host)
        limit = settings.UPTIME_MAX_REQUESTS_PER_MINUTE_PER_HOST
        if by_host[host] + mine > limit:
            errors["url"] = (
                f"{host} would get {by_host[host] + mine:.0f} requests a minute "
                f"from all monitors here; the limit is {limit} "
                "(UPTIME_MAX_REQUESTS_PER_MINUTE_PER_HOST)."
            )
        by_host[host] += mine
    return errors
