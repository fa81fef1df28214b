from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from monitors.admin import ProjectScopedAdmin
from monitors.models import Role

from .models import (
    CHANNEL_SETTINGS,
    Channel,
    ChannelKind,
    Notification,
    NotificationStatus,
)
from .services import channel_send_test, notification_retry


class ChannelForm(forms.ModelForm):
    class Meta:
        model = Channel
        fields = (
            "project",
            *CHANNEL_SETTINGS,
        )
        widgets = {"secret": forms.PasswordInput(render_value=False)}
        help_texts = {
            "secret": "Webhooks: whsec_... (Standard Webhooks). Leave empty to "
            "keep the current one; a new webhook gets a generated one.",
        }

    def clean(self) -> dict:
        data = super().clean()
        # An empty password field means "unchanged", not "remove the secret".
        if not data.get("secret") and self.instance.pk:
            data["secret"] = self.instance.secret
        return data


@admin.action(description="Send a test message")
def send_test(
    modeladmin: ProjectScopedAdmin, request: HttpRequest, qs: QuerySet
) -> None:
    for channel in modeladmin.writable(request, qs):
        result = channel_send_test(channel=channel)
        if result.status == NotificationStatus.SENT:
            modeladmin.message_user(request, f"{channel}: test sent.")
        else:
            modeladmin.message_user(
                request, f"{channel}: {result.last_error}", level=messages.ERROR
            )


@admin.register(Channel)
class ChannelAdmin(ProjectScopedAdmin):
    change_role = Role.ADMIN
    form = ChannelForm
    list_display = (
        "name",
        "kind",
        "shown_target",
        "project",
        "enabled",
        "is_default",
        "last_notified_at",
        "last_error",
    )
    list_filter = ("kind", "enabled", "is_default")
    search_fields = ("name", "project__name")
    list_select_related = ("project",)
    filter_horizontal = ("monitors",)
    readonly_fields = ("last_notified_at", "last_error", "last_error_at", "created_at")
    actions = (send_test,)

    @admin.display(description="target")
    def shown_target(self, obj: Channel) -> str:
        return obj.masked_target

    def save_model(self, request, obj: Channel, form, change: bool) -> None:  # type: ignore[no-untyped-def]
        if obj.kind == ChannelKind.WEBHOOK and not obj.secret:
            from .models import generate_secret

            obj.secret = generate_secret()
            messages.info(
                request,
                f"Signing secret for {obj.name} (shown once): {obj.secret}",
            )
        super().save_model(request, obj, form, change)


@admin.action(description="Retry delivery")
def retry(modeladmin: ProjectScopedAdmin, request: HttpRequest, qs: QuerySet) -> None:
    count = sum(
        notification_retry(notification=n) for n in modeladmin.writable(request, qs)
    )
    modeladmin.message_user(request, f"{count} notification(s) queued again.")


@admin.register(Notification)
class NotificationAdmin(ProjectScopedAdmin):
    project_path = "channel__project"
    change_role = Role.ADMIN
    list_display = (
        "id",
        "event",
        "channel",
        "incident",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    )
    list_filter = ("status", "event", "channel__kind")
    search_fields = ("=incident__id", "channel__name")
    list_select_related = ("channel", "incident")
    raw_id_fields = ("channel", "incident", "monitor")
    show_full_result_count = False
    actions = (retry,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return [f.name for f in Notification._meta.fields]
