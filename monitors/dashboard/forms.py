from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.forms import BoundField

from uptime.forms import DescribedErrorsMixin

from ..checks import REGISTRY, option_fields, option_names
from ..dependencies import dependency_error
from ..forms import CheckOptionsFormMixin, kind_sections
from ..models import (
    EscalationPolicy,
    IncidentUpdateStatus,
    Monitor,
    Project,
    Region,
    Role,
)
from ..projects import role_can_manage
from ..validators import monitor_settings_errors


class SecondsInput(forms.NumberInput):
    """Shows ``10``, not ``10.0``; fractions stay (``2.5``)."""

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, float):
            return f"{value:g}"
        return super().format_value(value)


class MonitorForm(DescribedErrorsMixin, CheckOptionsFormMixin, forms.ModelForm):
    """Add and edit a monitor: the same rules as the API serializer.

    The check options, their labels and sections come from the check kinds'
    declarations (``monitors.checks``).
    """

    regions = forms.ModelMultipleChoiceField(
        queryset=Region.objects.filter(active=True).order_by("code"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Where the checks run from.",
    )

    class Meta:
        model = Monitor
        fields = (
            "name",
            "kind",
            "url",
            "interval_seconds",
            "timeout_seconds",
            "regions",
            "failure_threshold",
            "recovery_threshold",
            "region_quorum",
            "depends_on",
            "show_on_status_page",
            "escalation_policy",
            *option_names(),
        )
        labels = {
            "url": "URL",
            "interval_seconds": "Check every (seconds)",
            "timeout_seconds": "Timeout (seconds)",
            "failure_threshold": "Failures before alerting",
            "recovery_threshold": "Successes before recovery",
            "region_quorum": "Regions that must agree",
            "show_on_status_page": "Show on the status page",
            "depends_on": "Depends on",
            "kind": "Check type",
            **{option.name: option.label for option in option_fields()},
        }
        help_texts = {
            "url": "What to check: an http(s) URL; host:port for TCP; a domain "
            "name for DNS; leave empty for a heartbeat.",
            "failure_threshold": "Consecutive failed checks in a region.",
            "recovery_threshold": "Consecutive good checks in a region.",
            "region_quorum": "Leave empty for a majority of the chosen regions.",
            "escalation_policy": "Who is alerted, and when, while nobody "
            "acknowledges. Empty: this monitor's channels, at once.",
            "depends_on": "The monitor this one sits behind (its load balancer, "
            "say): while that one is down, this one's incidents are recorded "
            "but alert nobody, and that one's alert names this one.",
            **{
                option.name: option.help_text
                for option in option_fields()
                if option.help_text
            },
        }
        widgets = {
            # Text, not URL: TCP and DNS targets are not URLs.
            "url": forms.TextInput(attrs={"placeholder": "https://example.com/"}),
            **{
                option.name: forms.Textarea(attrs={"rows": 3})
                for option in option_fields()
                if option.multiline
            },
        }

    def __init__(
        self, *args: Any, project: Project | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # Only the project's own policies (new monitor: the page's project).
        if project is None and self.instance.pk is not None:
            project = self.instance.project
        policy = cast(forms.ModelChoiceField, self.fields["escalation_policy"])
        policy.queryset = (
            EscalationPolicy.objects.filter(project=project)
            if project is not None
            else EscalationPolicy.objects.none()
        )
        policy.empty_label = "None: the monitor's channels, at once"
        # Depends on: another monitor of the same project.
        self.project = project or (
            self.instance.project if self.instance.project_id else None
        )
        parents = cast(forms.ModelChoiceField, self.fields["depends_on"])
        parents.queryset = (
            Monitor.objects.filter(project=self.project).exclude(pk=self.instance.pk)
            if self.project is not None
            else Monitor.objects.none()
        )
        parents.empty_label = "Nothing (alerts on its own)"
        # The API's bounds (serializer extra_kwargs), enforced and shown.
        for name in ("failure_threshold", "recovery_threshold"):
            self.fields[name].validators.append(MaxValueValidator(100))
            self.fields[name].widget.attrs.update(min=1, max=100)
        self.fields["region_quorum"].validators.append(MinValueValidator(1))
        self.fields["region_quorum"].widget.attrs["min"] = 1
        self.fields["timeout_seconds"].widget = SecondsInput(attrs={"step": "any"})
        # The page's script shows the chosen kind's section only.
        self.fields["kind"].widget.attrs["data-kind-select"] = ""
        self.fields["url"].widget.attrs["data-kind-text"] = json.dumps(
            {
                name: [kind.target_label, kind.target_help]
                for name, kind in REGISTRY.items()
            }
        )
        if not self.instance.auth_password:
            # Nothing to remove: no "remove the password" box on a new
            # monitor, or on one without a password.
            del self.fields["clear_auth_password"]
        if self.instance.pk is None and not self.is_bound:
            regions = cast(forms.ModelMultipleChoiceField, self.fields["regions"])
            self.initial.setdefault("regions", list(regions.queryset))
        # Options have model defaults: a post that leaves one out (or empty)
        # keeps the monitor's value rather than failing as "required".
        self._defaulted = [
            name
            for name in ("kind", *option_names())
            if name in self.fields and self.fields[name].required
        ]
        for name in self._defaulted:
            self.fields[name].required = False

    def sections(self) -> list[tuple[str, str, list[BoundField]]]:
        """(legend, kind, fields): the monitor's own settings first (no
        legend), then one fieldset per check kind that has options."""
        by_kind = kind_sections(self.fields)
        placed = {name for _kind, names in by_kind for name in names}
        general = [self[name] for name in self.fields if name not in placed]
        return [
            ("", "", general),
            *(
                (kind.label, kind.name, [self[name] for name in names])
                for kind, names in by_kind
            ),
        ]

    def clean_url(self) -> str:
        # What the target must be depends on the kind: checked in clean().
        return (self.cleaned_data.get("url") or "").strip()

    def _clean_check_options(self, data: dict[str, Any]) -> None:
        """Kind, target and options, with the API's rules and messages."""
        for name in self._defaulted:
            if data.get(name) in (None, "") and name not in self.errors:
                data[name] = getattr(self.instance, name)
        if "kind" not in self.data:
            # A post without the check section (an older page, a script):
            # an absent checkbox there means "unchanged", not "off".
            for name in ("show_on_status_page", *option_names()):
                if isinstance(self.fields.get(name), forms.BooleanField):
                    data[name] = getattr(self.instance, name)
        self.clean_check_options(data)

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns self.cleaned_data, typed as optional
        data = self.cleaned_data
        regions = data.get("regions")
        errors = monitor_settings_errors(
            interval_seconds=data.get("interval_seconds"),
            timeout_seconds=data.get("timeout_seconds"),
            region_count=None if regions is None else len(regions),
            region_quorum=data.get("region_quorum"),
        )
        for name, message in errors.items():
            if name not in self.errors:
                self.add_error(name, message)
        if "depends_on" not in self.data and self.instance.pk:
            # A post without the field (an older page, a script) keeps it.
            data["depends_on"] = self.instance.depends_on
        error = dependency_error(
            monitor=self.instance if self.instance.pk else None,
            project_id=self.project.pk if self.project is not None else None,
            parent=data.get("depends_on"),
        )
        if error and "depends_on" not in self.errors:
            self.add_error("depends_on", error)
        self._clean_check_options(data)
        return data


class SignupForm(DescribedErrorsMixin, UserCreationForm):
    email = forms.EmailField(
        required=True, help_text="For password resets and alert emails."
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise ValidationError("An account with this email already exists.")
        return email


class ProjectForm(DescribedErrorsMixin, forms.ModelForm):
    class Meta:
        model = Project
        fields = ("name", "status_page_enabled", "status_page_show_details")
        labels = {
            "status_page_enabled": "Public status page",
            "status_page_show_details": "Show URLs and error messages on it",
        }
        help_texts = {
            "status_page_enabled": "Anyone with the link sees the current status "
            "and 90-day uptime of this project's active monitors.",
            "status_page_show_details": "Off: visitors see names, status and "
            "uptime only.",
        }


class NewProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ("name",)


class InviteForm(DescribedErrorsMixin, forms.Form):
    invitee = forms.CharField(
        label="Username or email",
        max_length=254,
        help_text="They join only when they accept: from the emailed link or "
        "their dashboard.",
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)

    def __init__(self, *args: Any, actor_role: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Offer only the roles this inviter may grant.
        cast(forms.ChoiceField, self.fields["role"]).choices = [
            (value, label)
            for value, label in Role.choices
            if role_can_manage(actor_role=actor_role, role=value)
        ]


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class IncidentUpdateForm(DescribedErrorsMixin, forms.Form):
    """Parses; ``monitors.incident_updates`` checks and writes."""

    status = forms.ChoiceField(choices=IncidentUpdateStatus.choices)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        label="Update",
        help_text="Shown on the status pages that list this monitor and sent "
        "to their subscribers.",
    )
