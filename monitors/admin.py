from __future__ import annotations

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

from .models import Incident, Monitor, Project, Region, Tick


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
        monitor.pause()


@admin.action(description="Resume selected monitors")
def resume_monitors(
    modeladmin: admin.ModelAdmin, request: HttpRequest, qs: QuerySet
) -> None:
    for monitor in qs:
        monitor.resume()


@admin.register(Monitor)
class MonitorAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "url",
        "project",
        "status",
        "interval_seconds",
        "last_checked_at",
    )
    list_filter = ("status", "enabled", "regions")
    search_fields = ("name", "url")
    list_select_related = ("project",)
    filter_horizontal = ("regions",)
    readonly_fields = (
        "status",
        "last_checked_at",
        "last_response_time_ms",
        "created_at",
    )
    actions = (pause_monitors, resume_monitors)

    def save_model(
        self, request: HttpRequest, obj: Monitor, form, change: bool
    ) -> None:  # type: ignore[no-untyped-def]
        from django.utils import timezone

        if not change or {"url", "interval_seconds", "enabled"} & set(
            form.changed_data
        ):
            obj.next_check_at = timezone.now() if obj.enabled else None
        super().save_model(request, obj, form, change)

    def get_form(self, request, obj=None, **kwargs):  # type: ignore[no-untyped-def]
        form = super().get_form(request, obj, **kwargs)
        from .validators import validate_target_url

        form.base_fields["url"].validators.append(validate_target_url)
        return form


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
        return [f.name for f in Tick._meta.fields]


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("monitor", "status", "started_at", "resolved_at", "cause")
    list_filter = ("status",)
    search_fields = ("monitor__name", "cause")
    raw_id_fields = ("monitor",)
    list_select_related = ("monitor",)
    show_full_result_count = False
