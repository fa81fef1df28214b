from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from uptime.auth import signed_in_user

from . import members, tickslots
from .checks import option_names, shown_names
from .dependencies import dependency_error
from .forms import CheckOptionsFormMixin, kind_sections, monitor_form_values
from .maintenance import (
    WINDOW_FIELDS,
    maintenance_window_create,
    maintenance_window_errors,
    maintenance_window_update,
)
from .models import (
    EscalationPolicy,
    Incident,
    IncidentUpdate,
    Invitation,
    MaintenanceWindow,
    Membership,
    Monitor,
    MonitorPause,
    Project,
    Region,
    RegionHealthEvent,
    Role,
    Tick,
    WorkerHeartbeat,
)
from .projects import project_role, projects_for, role_at_least
from .services import (
    monitor_create,
    monitor_delete,
    monitor_pause,
    monitor_resume,
    monitor_update,
)

if TYPE_CHECKING:
    from django.contrib.admin.filters import _ListFilterChoices
    from django.contrib.admin.options import _FieldOpts, _FieldsetSpec


class NoCountPaginator(Paginator):
    """The tick table is huge: count at most CAP rows for the change list.

    ``COUNT(*)`` over a ``LIMIT`` subquery stops after CAP index entries, so
    the page stays fast; deeper history is reached with filters.
    """

    CAP = 10_000
    object_list: QuerySet[Any]  # ModelAdmin pages over a queryset

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.CAP].count()


class ProjectScopedAdmin(admin.ModelAdmin):
    """Staff who are not superusers see only their projects' rows, and may
    change (or delete) a row only with ``change_role`` (``delete_role``) in
    its project. Superusers see and change everything, as before.

    ``project_path`` is the lookup from the model to its Project ("pk" for
    Project itself). Foreign keys to projects, monitors, channels and
    incidents offer only rows of projects where the role allows the change.
    """

    project_path = "project"
    change_role: str = Role.MEMBER
    delete_role: str | None = None

    def _project_id(self, obj: Any) -> int:
        if self.project_path == "pk":
            return obj.pk
        *hops, last = self.project_path.split("__")
        for hop in hops:
            obj = getattr(obj, hop)
        return getattr(obj, f"{last}_id")

    def _may(self, request: HttpRequest, obj: Any, role: str) -> bool:
        if request.user.is_superuser or obj is None:
            return True
        found = project_role(user=request.user, project=self._project_id(obj))
        return role_at_least(found, role)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(
            **{f"{self.project_path}__in": projects_for(user=request.user)}
        )

    def writable(self, request: HttpRequest, qs: QuerySet) -> QuerySet:
        """The rows of ``qs`` the user may change (for bulk actions)."""
        if request.user.is_superuser:
            return qs
        allowed = projects_for(user=request.user, min_role=self.change_role)
        return qs.filter(**{f"{self.project_path}__in": allowed})

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._may(
            request, obj, self.change_role
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        role = self.delete_role or self.change_role
        return super().has_delete_permission(request, obj) and self._may(
            request, obj, role
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        super().delete_queryset(request, self.writable(request, queryset))

    def _scoped(self, request: HttpRequest, model: Any) -> QuerySet | None:
        if request.user.is_superuser:
            return None
        allowed = projects_for(user=request.user, min_role=self.change_role)
        paths = {
            Project: "pk",
            Monitor: "project",
            Incident: "monitor__project",
            EscalationPolicy: "project",
        }
        channel = Monitor._meta.get_field("channels").related_model
        paths[channel] = "project"
        if model not in paths:
            return None
        return model._default_manager.filter(**{f"{paths[model]}__in": allowed})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        scoped = self._scoped(request, db_field.related_model)
        if scoped is not None:
            kwargs["queryset"] = scoped
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        scoped = self._scoped(request, db_field.related_model)
        if scoped is not None:
            kwargs["queryset"] = scoped
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class MembershipInline(admin.TabularInline):
    """Read-only: people join by accepting an invitation, never from here."""

    model = Membership
    fields = ("user", "role", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("user")


@admin.register(Project)
class ProjectAdmin(ProjectScopedAdmin):
    project_path = "pk"
    change_role = Role.ADMIN
    delete_role = Role.OWNER
    list_display = (
        "name",
        "slug",
        "owner",
        "personal",
        "status_page_enabled",
        "created_at",
    )
    search_fields = ("name", "slug", "owner__username")
    raw_id_fields = ("owner",)
    inlines = (MembershipInline,)

    def get_readonly_fields(self, request, obj=None):
        # The owner of a saved project changes through roles, not here.
        return ("personal",) if obj is None else ("owner", "personal")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Staff create projects in the dashboard, where they become owner.
        return request.user.is_superuser and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not members.project_deletable(obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        super().delete_queryset(request, queryset.filter(personal=False))

    def save_model(self, request, obj: Project, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            Membership.objects.get_or_create(
                project=obj, user=obj.owner, defaults={"role": Role.OWNER}
            )


@admin.action(description="Revoke selected invitations")
def revoke_invitations(
    modeladmin: InvitationAdmin, request: HttpRequest, qs: QuerySet
) -> None:
    members.invitations_revoke(invitations=modeladmin.writable(request, qs))


@admin.register(Invitation)
class InvitationAdmin(ProjectScopedAdmin):
    change_role = Role.ADMIN
    list_display = (
        "project",
        "invitee",
        "role",
        "created_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    )
    list_select_related = ("project", "user", "created_by")
    list_filter = ("role",)
    search_fields = ("email", "user__username", "project__name")
    actions = (revoke_invitations,)
    exclude = ("token_hash",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Invitations carry a link shown once: they are made in the dashboard.
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Invitation._meta.fields if f.name != "token_hash"]


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "active", "healthy", "health_reason")
    list_filter = ("active", "healthy")
    readonly_fields = ("healthy", "health_reason", "health_changed_at")


class _OperatorReadOnly(admin.ModelAdmin):
    """The install's own health rows: shown to superusers, written only by
    the workers and the health recorder."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(_OperatorReadOnly):
    list_display = (
        "worker",
        "region",
        "last_seen_at",
        "last_batch_at",
        "last_lag_ms",
        "started_at",
    )
    list_filter = ("region",)


@admin.register(RegionHealthEvent)
class RegionHealthEventAdmin(_OperatorReadOnly):
    list_display = ("region", "healthy", "reason", "created_at")
    list_filter = ("region", "healthy")


@admin.action(description="Pause selected monitors")
def pause_monitors(
    modeladmin: ProjectScopedAdmin, request: HttpRequest, qs: QuerySet
) -> None:
    for monitor in modeladmin.writable(request, qs):
        monitor_pause(user=signed_in_user(request), monitor=monitor)


@admin.action(description="Resume selected monitors")
def resume_monitors(
    modeladmin: ProjectScopedAdmin, request: HttpRequest, qs: QuerySet
) -> None:
    for monitor in modeladmin.writable(request, qs):
        monitor_resume(user=signed_in_user(request), monitor=monitor)


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
    "escalation_policy",
    "depends_on",
)

_STATE_FIELDS = (
    "status",
    "consecutive_failures",
    "flapping",
    "flapping_since",
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
        super().clean()  # returns self.cleaned_data, typed as optional
        data = self.cleaned_data
        self.clean_check_options(data)
        policy = data.get("escalation_policy")
        project = data.get("project")
        if policy is not None and project is not None and policy.project != project:
            self.add_error(
                "escalation_policy", "The policy belongs to another project."
            )
        project = data.get("project")
        error = dependency_error(
            monitor=self.instance if self.instance.pk else None,
            project_id=project.pk if project is not None else None,
            parent=data.get("depends_on"),
        )
        if error and "depends_on" not in self.errors:
            self.add_error("depends_on", error)
        return data


@admin.register(Monitor)
class MonitorAdmin(ProjectScopedAdmin):
    form = MonitorAdminForm
    list_display = (
        "name",
        "kind",
        "url",
        "project",
        "shown_status",
        "interval_seconds",
        "last_checked_at",
        "cert_expires_at",
    )
    list_filter = (
        "status",
        "flapping",
        "kind",
        "enabled",
        "show_on_status_page",
        "regions",
    )
    search_fields = ("name", "url")
    list_select_related = ("project",)
    filter_horizontal = ("regions",)
    raw_id_fields = ("depends_on",)
    readonly_fields = (*_STATE_FIELDS, *shown_names())

    @admin.display(description="status", ordering="status")
    def shown_status(self, obj: Monitor) -> str:
        return obj.status_label

    def get_fieldsets(
        self, request: HttpRequest, obj: Monitor | None = None
    ) -> _FieldsetSpec:
        # One section per check kind, from its declaration; read when shown,
        # so a kind added to the registry needs no change here.
        available = {*self.form.base_fields, *self.readonly_fields}
        sections: list[tuple[str | None, _FieldOpts]] = [
            (kind.label, {"fields": tuple(names)})
            for kind, names in kind_sections(available)
        ]
        return (
            (None, {"fields": _GENERAL_FIELDS}),
            *sections,
            ("State", {"fields": _STATE_FIELDS}),
        )

    actions = (pause_monitors, resume_monitors)

    def delete_model(self, request: HttpRequest, obj: Monitor) -> None:
        monitor_delete(user=signed_in_user(request), monitor=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for monitor in self.writable(request, queryset):
            monitor_delete(user=signed_in_user(request), monitor=monitor)

    def save_model(
        self, request: HttpRequest, obj: Monitor, form, change: bool
    ) -> None:
        values = monitor_form_values(form)
        if change:
            monitor_update(user=signed_in_user(request), monitor=obj, fields=values)
        else:
            obj.pk = monitor_create(user=signed_in_user(request), fields=values).pk
        # The admin logs and redirects with ``obj``: make it the stored row.
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        # The services set the regions (a heartbeat keeps one); the form's
        # save_m2m() would write the posted ones back over them.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


class TickRecentFilter(admin.SimpleListFilter):
    """Ticks scheduled within a recent window, the last 24 hours unless
    another is picked. There is no "All": without a lower bound on
    ``scheduled_at`` the list would open every day partition of the tick
    table kept (``monitors.tickslots``)."""

    title = "scheduled"
    parameter_name = "scheduled"
    WINDOWS = {
        "24h": ("Last 24 hours", tickslots.LIST_WINDOW),
        "7d": ("Last 7 days", timedelta(days=7)),
        "30d": ("Last 30 days", timedelta(days=30)),
    }
    DEFAULT = "24h"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _) in self.WINDOWS.items()]

    def _current(self) -> str:
        value = self.value()
        return value if value in self.WINDOWS else self.DEFAULT

    def choices(self, changelist: ChangeList) -> Iterator[_ListFilterChoices]:
        for key, label in self.lookup_choices:
            yield {
                "selected": key == self._current(),
                "query_string": changelist.get_query_string({self.parameter_name: key}),
                "display": label,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        window = self.WINDOWS[self._current()][1]
        return queryset.filter(scheduled_at__gte=timezone.now() - window)


class TickChangeList(ChangeList):
    def url_for_result(self, result: Model) -> str:
        # The change page then finds the row in its own day partition.
        assert isinstance(result, Tick)  # the tick admin's change list
        slot = tickslots.slot_text(result.scheduled_at)
        return f"{super().url_for_result(result)}?{tickslots.SLOT_PARAM}={slot}"


@admin.register(Tick)
class TickAdmin(ProjectScopedAdmin):
    project_path = "monitor__project"
    list_display = (
        "monitor",
        "region",
        "scheduled_at",
        "status",
        "response_time_ms",
        "error",
    )
    # Filters on indexed, low-cardinality columns only; no date hierarchy.
    list_filter = (TickRecentFilter, "status", "region")
    search_fields = ("=monitor__id",)
    raw_id_fields = ("monitor",)
    list_select_related = ("monitor", "region")
    paginator = NoCountPaginator
    show_full_result_count = False
    ordering = ("-scheduled_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_changelist(
        self, request: HttpRequest, **kwargs: Any
    ) -> type[TickChangeList]:
        return TickChangeList

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Tick | None:
        """The tick in the day of the link's ``?at=`` slot; a link without
        it is looked up in recent days only (``tickslots.tick_find``)."""
        if from_field is not None:
            return super().get_object(request, object_id, from_field)
        try:
            tick_id = int(object_id)
        except ValueError:
            return None
        at = tickslots.parse_slot(request.GET.get(tickslots.SLOT_PARAM))
        return tickslots.tick_find(self.get_queryset(request), tick_id, at)

    def get_readonly_fields(self, request, obj=None):
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
class IncidentAdmin(ProjectScopedAdmin):
    project_path = "monitor__project"
    list_display = (
        "monitor",
        "status",
        "started_at",
        "resolved_at",
        "cause",
        "suppressed",
    )
    list_filter = ("status", "suppressed")
    search_fields = ("monitor__name", "cause")
    raw_id_fields = ("monitor", "suppressed_by")
    list_select_related = ("monitor",)
    show_full_result_count = False
    # Acknowledged and resolved by hand through the dashboard or the API
    # (monitors.services), which stop escalation and send the alerts.
    readonly_fields = (
        "acknowledged_at",
        "acknowledged_by",
        "acknowledged_by_name",
        "ack_note",
        "resolved_by_hand",
        "resolved_by",
        "resolve_note",
    )


class MaintenanceWindowAdminForm(forms.ModelForm):
    class Meta:
        model = MaintenanceWindow
        fields = ("project", *WINDOW_FIELDS)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        project = data.get("project") or getattr(self.instance, "project", None)
        if project is None:
            return data
        errors = maintenance_window_errors(data, project)
        for field, message in errors.items():
            self.add_error(field if field in self.fields else None, message)
        return data

    def _post_clean(self) -> None:
        # The rules are the services' (clean above); the model's check
        # constraint would repeat the end-after-start error.
        pass


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(ProjectScopedAdmin):
    form = MaintenanceWindowAdminForm
    list_display = ("title", "project", "starts_at", "ends_at", "recurrence")
    list_filter = ("recurrence",)
    search_fields = ("title", "project__name")
    list_select_related = ("project",)
    filter_horizontal = ("monitors",)

    def get_readonly_fields(self, request, obj=None):
        return ("project",) if obj is not None else ()

    def save_form(self, request, form, change: bool) -> MaintenanceWindow:
        """Write through the window services, as the API and dashboard do."""
        values = {name: form.cleaned_data.get(name) for name in WINDOW_FIELDS}
        if change:
            return maintenance_window_update(
                user=request.user, window=form.instance, fields=values
            )
        return maintenance_window_create(
            user=request.user, project=form.cleaned_data["project"], fields=values
        )

    def save_model(self, request, obj, form, change: bool) -> None:
        pass  # save_form has saved it

    def save_related(self, request, form, formsets, change: bool) -> None:
        # The monitors were set by the service.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


@admin.register(MonitorPause)
class MonitorPauseAdmin(ProjectScopedAdmin):
    """Read-only: pauses are written by pausing and resuming monitors."""

    project_path = "monitor__project"
    list_display = ("monitor", "started_at", "ended_at")
    list_select_related = ("monitor",)
    raw_id_fields = ("monitor",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IncidentUpdate)
class IncidentUpdateAdmin(ProjectScopedAdmin):
    """Read-only here (a wrong one may be deleted): updates are posted on
    the incident page or through the API, which tell the subscribers."""

    project_path = "incident__monitor__project"
    list_display = ("incident", "status", "author", "created_at")
    list_filter = ("status",)
    search_fields = ("body", "=incident__id")
    list_select_related = ("incident", "author")
    raw_id_fields = ("incident", "author")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super(ProjectScopedAdmin, self).has_delete_permission(
            request, obj
        ) and self._may(request, obj, Role.MEMBER)
