from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from monitors.admin import ProjectScopedAdmin
from monitors.models import EscalationPolicy, Role
from uptime.auth import signed_in_user

from .models import (
    CHANNEL_SETTINGS,
    Channel,
    ChannelKind,
    EscalationStep,
    Notification,
    OperatorNotification,
    mask_url,
)
from .services import (
    SendsThrottled,
    channel_clean,
    channel_create,
    channel_delete,
    channel_send_test,
    channel_update,
    notification_retry,
)


class ChannelForm(forms.ModelForm):
    """Parses the admin's input; the channel services hold the rules."""

    # Who is saving (set by ChannelAdmin.get_form): quotas bind them unless
    # they are a superuser, and a quota error must show here, not at save.
    user: Any = None

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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.kind != ChannelKind.EMAIL:
            # A Slack or webhook URL carries its credentials: shown masked,
            # and an empty field keeps it, as on the dashboard.
            target = self.fields["target"]
            target.required = False
            target.help_text = (
                f"Now {self.instance.masked_target}. Leave empty to keep it."
            )
            self.initial["target"] = ""

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns self.cleaned_data, typed as optional
        data = self.cleaned_data
        # Here rather than at save, so that errors show by their fields.
        channel = self.instance if self.instance.pk else None
        project = channel.project if channel else data.get("project")
        if project is not None:
            try:
                channel_clean(
                    project=project,
                    channel=channel,
                    values=_settings(data),
                    user=self.user,
                )
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, messages)
        return data


def _settings(data: dict[str, Any]) -> dict[str, Any]:
    return {name: data[name] for name in CHANNEL_SETTINGS if name in data}


@admin.action(description="Send a test message")
def send_test(
    modeladmin: ProjectScopedAdmin, request: HttpRequest, qs: QuerySet
) -> None:
    # Queued for the alerts worker; the results show under Notifications.
    for channel in modeladmin.writable(request, qs):
        try:
            channel_send_test(channel=channel, user=signed_in_user(request))
        except SendsThrottled as exc:
            modeladmin.message_user(request, str(exc), level=messages.ERROR)
            return
        modeladmin.message_user(request, f"{channel}: test message queued.")


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
        "confirmed",
        "is_default",
        "last_notified_at",
        "last_error",
    )
    list_filter = ("kind", "enabled", "confirmed", "is_default")
    search_fields = ("name", "project__name")
    list_select_related = ("project",)
    filter_horizontal = ("monitors",)
    readonly_fields = (
        "confirmed",
        "last_notified_at",
        "last_error",
        "last_error_at",
        "created_at",
    )
    actions = (send_test,)

    @admin.display(description="target")
    def shown_target(self, obj: Channel) -> str:
        return obj.masked_target

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    def get_readonly_fields(self, request, obj=None):
        fixed = ("kind", "project") if obj is not None else ()
        return (*self.readonly_fields, *fixed)

    def save_form(self, request, form, change: bool) -> Channel:
        """Write through the channel services (the admin saves what this
        returns), so the admin keeps the API's and the dashboard's rules."""
        values = _settings(form.cleaned_data)
        if change:
            return channel_update(
                channel=form.instance, user=signed_in_user(request), **values
            )
        channel = channel_create(
            project=form.cleaned_data["project"], user=signed_in_user(request), **values
        )
        if channel.kind == ChannelKind.WEBHOOK and not values.get("secret"):
            messages.info(
                request,
                f"Signing secret for {channel.name} (shown once): {channel.secret}",
            )
        return channel

    def save_model(self, request, obj: Channel, form, change: bool) -> None:
        pass  # save_form has saved it

    def save_related(self, request, form, formsets, change: bool) -> None:
        # The monitors were set by the service; only inline formsets remain.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request: HttpRequest, obj: Channel) -> None:
        channel_delete(channel=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for channel in queryset:
            channel_delete(channel=channel)


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

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Notification._meta.fields]


@admin.register(OperatorNotification)
class OperatorNotificationAdmin(admin.ModelAdmin):
    """Region health messages to the install's operator: superusers only,
    read-only (written by the health recorder, sent by the alerts worker)."""

    list_display = ("id", "event", "kind", "shown_target", "status", "attempts")
    list_filter = ("status", "kind")
    fields = (
        "event",
        "kind",
        "shown_target",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    )
    readonly_fields = fields

    @admin.display(description="target")
    def shown_target(self, obj: OperatorNotification) -> str:
        # A webhook URL's path is its secret.
        return obj.target if obj.kind == ChannelKind.EMAIL else mask_url(obj.target)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class EscalationStepInline(admin.TabularInline):
    model = EscalationStep
    extra = 1
    filter_horizontal = ("channels",)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        # Only the policy's own project's channels (its id is in the URL of
        # a change page; a new policy's steps are checked on save).
        policy_id = request.resolver_match.kwargs.get("object_id")
        if policy_id is not None:
            project = EscalationPolicy.objects.filter(pk=policy_id).values("project")
            kwargs["queryset"] = Channel.objects.filter(project__in=project)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(ProjectScopedAdmin):
    """Policies route alerts to channels: admins and owners, as channels."""

    change_role = Role.ADMIN
    list_display = ("name", "project", "created_at")
    search_fields = ("name", "project__name")
    list_select_related = ("project",)
    inlines = (EscalationStepInline,)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        policy = form.instance
        foreign = Channel.objects.filter(escalation_steps__policy=policy).exclude(
            project=policy.project_id
        )
        if foreign.exists():
            # Another project's channels would hear of this project's
            # incidents: dropped, and said so.
            for step in policy.steps.all():
                step.channels.remove(*foreign)
            self.message_user(
                request,
                "Channels of another project were removed from the steps.",
                level=messages.WARNING,
            )
