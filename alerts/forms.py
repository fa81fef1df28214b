from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.forms import BoundField

from monitors.models import Monitor, Project
from uptime.forms import DescribedErrorsMixin

from .models import CHANNEL_SETTINGS, Channel, ChannelKind
from .services import REMINDER_MINUTES_MAX
from .transports import REGISTRY


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
            "secret": "Signing secret",
            "notify_down": "When an incident opens",
            "notify_up": "When an incident resolves",
            "notify_degraded": "When a monitor turns slow, and fast again",
            "reminder_minutes": "Remind every (minutes)",
            "is_default": "Add new monitors to this channel",
        }
        help_texts = {
            "target": "An email address, a Slack incoming-webhook URL, a "
            "webhook URL or an Apprise URL.",
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
        # The page's script shows the chosen kind's section and target
        # wording only; without it all sections and the general wording show.
        self.fields["kind"].widget.attrs["data-kind-select"] = ""
        if not self.instance.pk:
            self.fields["target"].widget.attrs["data-kind-text"] = json.dumps(
                {
                    name: [transport.target_label, transport.target_help]
                    for name, transport in REGISTRY.items()
                }
            )
        self.fields["reminder_minutes"].widget.attrs.update(
            min=1, max=REMINDER_MINUTES_MAX
        )
        if self.instance.pk:
            self.fields["kind"].disabled = True
            self.fields["target"].label = REGISTRY[self.instance.kind].target_label
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

    def sections(self) -> list[tuple[str, str, list[BoundField]]]:
        """(legend, kind, fields): the channel's own settings first (no
        legend), then one fieldset per kind with fields of its own, as the
        transports declare them; an edit shows its own kind's only (the kind
        is fixed once created)."""
        kinds = dict(ChannelKind.choices)
        editing = self.instance.pk is not None
        own = {
            name: transport.options
            for name, transport in REGISTRY.items()
            if transport.options and (not editing or self.instance.kind == name)
        }
        placed = {field for t in REGISTRY.values() for field in t.options}
        general = [self[name] for name in self.fields if name not in placed]
        return [
            ("", "", general),
            *(
                (kinds[name], name, [self[field] for field in fields])
                for name, fields in own.items()
            ),
        ]


class PolicyForm(DescribedErrorsMixin, forms.Form):
    name = forms.CharField(max_length=100)


class StepForm(forms.Form):
    """One step of a policy; a row left without channels is no step."""

    delay_minutes = forms.IntegerField(
        min_value=0,
        max_value=10080,
        required=False,
        label="After (minutes unacknowledged)",
        help_text="0: with the opening alert.",
    )
    repeat_every_minutes = forms.IntegerField(
        min_value=1,
        max_value=10080,
        required=False,
        label="Repeat every (minutes)",
        help_text="Empty: once.",
    )
    channels = forms.ModelMultipleChoiceField(
        queryset=Channel.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Notify",
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        channels = cast(forms.ModelMultipleChoiceField, self.fields["channels"])
        channels.queryset = Channel.objects.filter(project=project).order_by("name")

    def step(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not data.get("channels"):
            return None
        return {
            "delay_minutes": data.get("delay_minutes") or 0,
            "repeat_every_minutes": data.get("repeat_every_minutes"),
            "channels": list(data["channels"]),
        }


StepFormSet = forms.formset_factory(StepForm, extra=0, max_num=10, absolute_max=10)


class AckForm(forms.Form):
    """The acknowledge link's page: who (without an account, a name) and a note."""

    name = forms.CharField(
        max_length=150,
        required=False,
        label="Your name",
        help_text="Shown on the incident's timeline.",
    )
    note = forms.CharField(
        max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
