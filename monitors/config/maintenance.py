"""The ``maintenance_windows`` section: the document's ``name`` is the
window's title; written by ``monitors.maintenance``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from ..maintenance import (
    maintenance_window_create,
    maintenance_window_delete,
    maintenance_window_errors,
    maintenance_window_update,
)
from ..models import MaintenanceWindow, Project, Recurrence
from .document import Context, register_section
from .errors import ConfigError

FIELDS = ("name", "starts_at", "ends_at", "recurrence", "weekdays", "monitors")


def _moment(value: Any, path: str) -> datetime:
    moment = value if isinstance(value, datetime) else None
    if isinstance(value, str):
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            moment = None
    if moment is None:
        raise ConfigError(path, "An ISO 8601 date and time, e.g. 2026-01-31T22:00Z.")
    if moment.tzinfo is None:
        raise ConfigError(path, "Give the UTC offset (Z or +01:00).")
    return moment


class MaintenanceSection:
    key = "maintenance_windows"
    order = 30  # after monitors: a window names its monitors
    secret_fields: frozenset[str] = frozenset()

    def stored(self, project: Project) -> dict[str, MaintenanceWindow]:
        found: dict[str, MaintenanceWindow] = {}
        for window in (
            MaintenanceWindow.objects.filter(project=project)
            .prefetch_related("monitors")
            .order_by("id")
        ):
            found.setdefault(window.title, window)
        return found

    def export(self, project: Project) -> list[dict[str, Any]]:
        windows = MaintenanceWindow.objects.filter(project=project).prefetch_related(
            "monitors"
        )
        out = []
        for window in sorted(windows, key=lambda w: (w.title, w.pk)):
            current = self.current(window)
            item: dict[str, Any] = {
                "name": window.title,
                "starts_at": window.starts_at.isoformat(),
                "ends_at": window.ends_at.isoformat(),
            }
            if window.recurrence:
                item["recurrence"] = window.recurrence
                item["weekdays"] = current["weekdays"]
            if current["monitors"]:
                item["monitors"] = current["monitors"]
            out.append(item)
        return out

    def current(self, obj: MaintenanceWindow) -> dict[str, Any]:
        return {
            "name": obj.title,
            "starts_at": obj.starts_at,
            "ends_at": obj.ends_at,
            "recurrence": obj.recurrence,
            "weekdays": sorted(obj.weekdays),
            "monitors": sorted(m.name for m in obj.monitors.all()),
        }

    def _monitors(self, item: Mapping[str, Any], path: str, ctx: Context) -> list[str]:
        names = item.get("monitors") or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"{path}.monitors", "A list of monitor names.")
        known = ctx.names.get("monitors", set())
        for index, name in enumerate(names):
            if name not in known:
                raise ConfigError(f"{path}.monitors[{index}]", f"No monitor {name!r}.")
        return sorted(set(names))

    def desired(
        self,
        item: Mapping[str, Any],
        *,
        stored: MaintenanceWindow | None,
        path: str,
        ctx: Context,
    ) -> dict[str, Any]:
        unknown = sorted(set(item) - set(FIELDS))
        if unknown:
            raise ConfigError(f"{path}.{unknown[0]}", "Not a maintenance window field.")
        if len(str(item["name"]).strip()) > 200:
            raise ConfigError(f"{path}.name", "At most 200 characters.")
        weekdays = item.get("weekdays") or []
        if not isinstance(weekdays, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) for d in weekdays
        ):
            raise ConfigError(f"{path}.weekdays", "A list of days, 0 (Monday) to 6.")
        recurrence = item.get("recurrence") or Recurrence.NONE
        values = {
            "title": item["name"],
            "starts_at": _moment(item.get("starts_at"), f"{path}.starts_at"),
            "ends_at": _moment(item.get("ends_at"), f"{path}.ends_at"),
            "recurrence": recurrence,
            "weekdays": weekdays,
        }
        errors = maintenance_window_errors(values, ctx.project)
        if errors:
            name, message = next(iter(errors.items()))
            raise ConfigError(f"{path}.{'name' if name == 'title' else name}", message)
        weekly = recurrence == Recurrence.WEEKLY
        return {
            "name": str(item["name"]).strip(),
            "starts_at": values["starts_at"],
            "ends_at": values["ends_at"],
            "recurrence": recurrence,
            "weekdays": sorted(set(weekdays)) if weekly else [],
            "monitors": self._monitors(item, path, ctx),
        }

    def _fields(self, values: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
        fields = {k: v for k, v in values.items() if k not in ("name", "monitors")}
        if "name" in values:
            fields["title"] = values["name"]
        if "monitors" in values:
            fields["monitors"] = ctx.objects("monitors", values["monitors"])
        return fields

    def create(self, values: dict[str, Any], ctx: Context) -> None:
        maintenance_window_create(
            user=ctx.user, project=ctx.project, fields=self._fields(values, ctx)
        )

    def update(
        self, obj: MaintenanceWindow, changes: dict[str, Any], ctx: Context
    ) -> None:
        maintenance_window_update(
            user=ctx.user, window=obj, fields=self._fields(changes, ctx)
        )

    def delete(self, obj: MaintenanceWindow, ctx: Context) -> None:
        maintenance_window_delete(user=ctx.user, window=obj)


register_section(MaintenanceSection())
