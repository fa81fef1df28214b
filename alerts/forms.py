from __future__ import annotations

from typing import Any, cast

from django import forms

from monitors.models import Monitor, Project
from uptime.forms import DescribedErrorsMixin

from .models import CHANNEL_SETTINGS, Channel, ChannelKind
from .services import REMINDER_MINUTES_MAX


class ChannelForm(DescribedErrorsMixin, forms.ModelForm):
    """Add and edit a channel. It parses and renders; the view hands the
    values to ``channel_create``/``channel_update``, which hold the rules
    and whose errors the view shows here (``add_service_errors``).

    The target of a Slack or webhook channel carries its credentials, so an
    edit shows it masked, and an empty one keeps it.
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
        monitors = cast(forms.ModelMultipleChoiceField, self.fields["monitors"])
        monitors.queryset = Monitor.objects.filter(project=project).order_by(
            "name", "id"
        )
        self.fields["secret"].required = False
        self.fields["reminder_minutes"].widget.attrs.update(
            min=1, max=REMINDER_MINUTES_MAX
        )
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
            self.initial.setdefault("monitors", list(monitors.queryset))
