from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from monitors.admin import ProjectScopedAdmin
from monitors.models import Role

from . import services
from .models import (
    StatusPage,
    StatusPageGroup,
    StatusPageMonitor,
    StatusPageSubscriber,
    SubscriberMessage,
)


class StatusPageAdminForm(forms.ModelForm):
    logo_url = forms.URLField(required=False, max_length=500, assume_scheme="https")

    class Meta:
        model = StatusPage
        fields = ("project", *services.PAGE_FIELDS)

    def clean(self) -> dict[str, Any]:
        super().clean()
        errors = services.status_page_errors(self.cleaned_data, page=self.instance)
        for field, message in errors.items():
            self.add_error(field if field in self.fields else None, message)
        return self.cleaned_data

    def _post_clean(self) -> None:
        pass  # the services' rules (clean above) stand for the model's


class GroupInline(admin.TabularInline):
    model = StatusPageGroup
    extra = 0
    show_change_link = True


@admin.register(StatusPage)
class StatusPageAdmin(ProjectScopedAdmin):
    form = StatusPageAdminForm
    change_role = Role.ADMIN
    list_display = ("title", "slug", "project", "custom_domain", "public")
    search_fields = ("title", "slug", "custom_domain")
    list_select_related = ("project",)
    inlines = (GroupInline,)

    def get_readonly_fields(self, request, obj=None):
        return ("project",) if obj is not None else ()

    def save_form(self, request, form, change: bool) -> StatusPage:
        """Through the services, as the API and dashboard write; the groups
        inline is saved by the admin afterwards."""
        values = {name: form.cleaned_data.get(name) for name in services.PAGE_FIELDS}
        if change:
            return services.status_page_update(
                user=request.user, page=form.instance, fields=values
            )
        return services.status_page_create(
            user=request.user, project=form.cleaned_data["project"], fields=values
        )

    def save_model(self, request, obj, form, change: bool) -> None:
        pass  # save_form has saved it

    def save_related(self, request, form, formsets, change: bool) -> None:
        # No many-to-many on the form; the groups inline is saved here.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


class EntryInline(admin.TabularInline):
    model = StatusPageMonitor
    extra = 1
    raw_id_fields = ("monitor",)


@admin.register(StatusPageGroup)
class StatusPageGroupAdmin(ProjectScopedAdmin):
    project_path = "page__project"
    change_role = Role.ADMIN
    list_display = ("name", "page", "order")
    list_select_related = ("page",)
    raw_id_fields = ("page",)
    inlines = (EntryInline,)


@admin.register(StatusPageSubscriber)
class StatusPageSubscriberAdmin(ProjectScopedAdmin):
    """Read-only but deletable: people subscribe and confirm themselves."""

    project_path = "page__project"
    change_role = Role.ADMIN
    list_display = ("id", "page", "kind", "masked_target", "confirmed_at", "created_at")
    list_filter = ("kind",)
    list_select_related = ("page",)
    fields = ("page", "kind", "masked_target", "confirmed_at", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(SubscriberMessage)
class SubscriberMessageAdmin(ProjectScopedAdmin):
    project_path = "subscriber__page__project"
    change_role = Role.ADMIN
    list_display = ("id", "event", "subscriber", "status", "attempts", "last_error")
    list_filter = ("status", "event")
    list_select_related = ("subscriber",)
    raw_id_fields = ("subscriber", "incident")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in SubscriberMessage._meta.fields]
