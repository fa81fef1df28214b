from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from monitors.dashboard.forms import DescribedErrorsMixin
from monitors.models import Monitor, Project

from .models import CHANNEL_SETTINGS, Channel, ChannelKind
from .services import channel_validate


class ChannelForm(DescribedErrorsMixin, forms.ModelForm):
    """Add and edit a channel, with the API's rules (``channel_validate``).

    The target of a Slack or webhook channel carries its credentials, so an
    edit shows it masked and keeps it unless a new one is typed.
    """

    monitors = forms.ModelMultipleChoiceField(
        queryset=Monitor.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="The monitors whose incidents this channel hears about.",
    )

    class Meta:
        model = Channel
        fields = CHANNEL_SETTINGS
        labels = {
            "kind": "Type",
            "target": "Send to",
            "secret": "Signing secret (webhooks)",
            "notify_down": "When an incident opens",
            "notify_up": "When an incident resolves",
            "notify_degraded": "When a monitor turns slow, and fast again",
            "reminder_minutes": "Remind every (minutes)",
            "is_default": "Add new monitors to this channel",
        }
        help_texts = {
            "target": "An email address, a Slack incoming-webhook URL or a "
            "webhook URL.",
            "secret": "Optional: whsec_… (Standard Webhooks). Left empty, one is "
            "generated and shown once.",
        }
        widgets = {"secret": forms.PasswordInput(render_value=False)}

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project
        self.fields["monitors"].queryset = Monitor.objects.filter(
            project=project
        ).order_by("name", "id")
        self.fields["secret"].required = False
        self.fields["reminder_minutes"].widget.attrs.update(min=1, max=10080)
        if self.instance.pk:
            self.fields["kind"].disabled = True
            self.fields["kind"].help_text = "Fixed once created."
            if self.instance.kind != ChannelKind.EMAIL:
                self.fields["target"].required = False
                self.fields[
                    "target"
                ].help_text = (
                    f"Now {self.instance.masked_target}. Leave empty to keep it."
                )
                self.initial["target"] = ""
            self.fields["secret"].help_text = "Leave empty to keep the current one."
        elif not self.is_bound:
            self.initial.setdefault("kind", ChannelKind.EMAIL)
            self.initial.setdefault("monitors", list(self.fields["monitors"].queryset))

    def clean_reminder_minutes(self) -> int | None:
        value = self.cleaned_data.get("reminder_minutes")
        if value is not None and not 1 <= value <= 10080:
            raise ValidationError("Between 1 and 10080 minutes (a week).")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.instance.pk:
            data["kind"] = self.instance.kind
            if not data.get("target"):
                data["target"] = self.instance.target
            if not data.get("secret"):
                data["secret"] = self.instance.secret
        kind = data.get("kind")
        if kind and "target" not in self.errors:
            try:
                channel_validate(
                    kind=kind,
                    target=(data.get("target") or "").strip(),
                    secret=data.get("secret") or None,
                )
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    if field in self.fields and field not in self.errors:
                        self.add_error(field, messages)
                    elif field not in self.fields:
                        self.add_error(None, messages)
        if data.get("target"):
            data["target"] = data["target"].strip()
        return data
