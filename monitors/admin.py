from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.html import format_html

from .checks import option_names, shown_names
from .forms import CheckOptionsFormMixin, kind_sections, monitor_form_values
from .models import Incident, Monitor, Project, Region, Tick
from .services import (
    monitor_create,
    monitor_delete,
    monitor_pause,
    monitor_resume,
    monitor_update,
)


class NoCountPaginator(Paginator):
    """The tick table is huge: count at most CAP rows for the change list.

    ``COUNT(*)`` over a ``LIMIT`` subquery stops after CAP index entries, so
    the page stays fast; deeper history is reached with filters.
    """

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.CAP].count()


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "owner", "status_page_enabled", "created_at")
    search_fields = ("name", "slug", "owner__username")
    filter_horizontal = ("members",)
    raw_id_fields = ("owner",)


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "active")
    list_filter = ("active",)


@admin.action(description="Pause selected monitors")
def pause_monitors(
    modeladmin: admin.ModelAdmin, request: HttpRequest, qs: QuerySet
) -> None:
    for monitor in qs:
        monitor_pause(user=request.user, monitor=monitor)


@admin.action(description="Resume selected monitors")
def resume_monitors(
    modeladmin: admin.ModelAdmin, request: HttpRequest, qs: QuerySet
) -> None:
    for monitor in qs:
        monitor_resume(user=request.user, monitor=monitor)


# The monitor's own settings (the check kinds' options follow, per kind).
_GENERAL_FIELDS = (
    "project",
    "name",
    "kind",
    "url",
    "enabled",
    "show_on_status_page",
    "interval_seconds",
    "timeout_seconds",
    "degraded_threshold_ms",
    "regions",
    "failure_threshold",
    "recovery_threshold",
    "region_quorum",
)

_STATE_FIELDS = (
    "status",
    "last_checked_at",
    "last_response_time_ms",
    "cert_expires_at",
    "cert_issuer",
    "created_at",
)


class MonitorAdminForm(CheckOptionsFormMixin, forms.ModelForm):
    """Kind-aware validation shared with the API (the kinds' declarations in
    monitors/checks/); the basic-auth password is write-only."""

    class Meta:
        model = Monitor
        fields = tuple(dict.fromkeys((*_GENERAL_FIELDS, *option_names())))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self.clean_check_options(data)
        return data


@admin.register(Monitor)
class MonitorAdmin(admin.ModelAdmin):
    form = MonitorAdminForm
    list_display = (
        "name",
        "kind",
        "url",
        "project",
        "status",
        "interval_seconds",
        "last_checked_at",
        "cert_expires_at",
    )
    list_filter = ("status", "kind", "enabled", "show_on_status_page", "regions")
    search_fields = ("name", "url")
    list_select_related = ("project",)
    filter_horizontal = ("regions",)
    readonly_fields = (*_STATE_FIELDS, *shown_names())

    def get_fieldsets(
        self, request: HttpRequest, obj: Monitor | None = None
    ) -> tuple[tuple[str | None, dict[str, Any]], ...]:
        # One section per check kind, from its declaration; read when shown,
        # so a kind added to the registry needs no change here.
        available = {*self.form.base_fields, *self.readonly_fields}
        return (
            (None, {"fields": _GENERAL_FIELDS}),
            *(
                (kind.label, {"fields": tuple(names)})
                for kind, names in kind_sections(available)
            ),
            ("State", {"fields": _STATE_FIELDS}),
        )

    actions = (pause_monitors, resume_monitors)

    def delete_model(self, request: HttpRequest, obj: Monitor) -> None:
        monitor_delete(user=request.user, monitor=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for monitor in queryset:
            monitor_delete(user=request.user, monitor=monitor)

    def save_model(
        self, request: HttpRequest, obj: Monitor, form, change: bool
    ) -> None:  # type: ignore[no-untyped-def]
        values = monitor_form_values(form)
        if change:
            monitor_update(user=request.user, monitor=obj, fields=values)
        else:
            obj.pk = monitor_create(user=request.user, fields=values).pk
        # The admin logs and redirects with ``obj``: make it the stored row.
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):  # type: ignore[no-untyped-def]
        # The services set the regions (a heartbeat keeps one); the form's
        # save_m2m() would write the posted ones back over them.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


@admin.register(Tick)
class TickAdmin(admin.ModelAdmin):
    list_display = (
        "monitor",
        "region",
        "scheduled_at",
        "status",
        "response_time_ms",
        "error",
    )
    # Filters on indexed, low-cardinality columns only; no date hierarchy.
    list_filter = ("status", "region")
    search_fields = ("=monitor__id",)
    raw_id_fields = ("monitor",)
    list_select_related = ("monitor", "region")
    paginator = NoCountPaginator
    show_full_result_count = False
    ordering = ("-scheduled_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        names = [f.name for f in Tick._meta.fields if f.name != "details"]
        return [*names, "evidence"]

    @admin.display(description="Evidence")
    def evidence(self, tick: Tick) -> str:
        # format_html escapes the JSON: a target's body is never markup here.
        if not tick.details:
            return "-"
        text = json.dumps(tick.details, indent=2, ensure_ascii=False)
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', text)


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("monitor", "status", "started_at", "resolved_at", "cause")
    list_filter = ("status",)
    search_fields = ("monitor__name", "cause")
    raw_id_fields = ("monitor",)
    list_select_related = ("monitor",)
    show_full_result_count = False
