from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator

from ..forms import CheckOptionsFormMixin
from ..models import Monitor, MonitorKind, Project, Region, Role
from ..projects import role_can_manage
from ..validators import monitor_settings_errors


class DescribedErrorsMixin:
    """Tie each field's error list to its input for screen readers.

    Django links help text with aria-describedby; the error list (rendered by
    templates/dashboard/_field.html with id ``<id>_error``) is added here.
    """

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        for name in self.errors:  # type: ignore[attr-defined]
            if name not in self.fields:  # type: ignore[attr-defined]
                continue
            bound = self[name]  # type: ignore[index]
            ids = [f"{bound.auto_id}_error"]
            if bound.help_text:
                ids.append(f"{bound.auto_id}_helptext")
            bound.field.widget.attrs["aria-describedby"] = " ".join(ids)


# Option fields that fall back to the monitor's value (or the model default)
# when a post leaves them out or empty.
_OPTION_DEFAULTED = (
    "kind",
    "http_method",
    "accepted_status_codes",
    "max_redirects",
    "keyword_mode",
    "dns_record_type",
    "heartbeat_grace_seconds",
)


class MonitorForm(DescribedErrorsMixin, CheckOptionsFormMixin, forms.ModelForm):
    """Add and edit a monitor: the same rules as the API serializer.

    A plain ModelForm so that check kinds can add their fields (kind, options)
    by extending ``Meta.fields``.
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
            "show_on_status_page",
            # Check options (monitors/checks/): HTTP(S), then DNS, heartbeat.
            "degraded_threshold_ms",
            "http_method",
            "http_headers",
            "http_body",
            "auth_username",
            "auth_password",
            "accepted_status_codes",
            "follow_redirects",
            "max_redirects",
            "verify_tls",
            "keyword",
            "keyword_mode",
            "json_path",
            "dns_record_type",
            "dns_expected",
            "dns_resolver",
            "heartbeat_grace_seconds",
        )
        labels = {
            "url": "URL",
            "interval_seconds": "Check every (seconds)",
            "timeout_seconds": "Timeout (seconds)",
            "failure_threshold": "Failures before alerting",
            "recovery_threshold": "Successes before recovery",
            "region_quorum": "Regions that must agree",
            "show_on_status_page": "Show on the status page",
            "kind": "Check type",
            "degraded_threshold_ms": "Degraded above (ms)",
            "http_method": "HTTP method",
            "http_headers": "Request headers (JSON)",
            "http_body": "Request body",
            "auth_username": "Basic auth user",
            "auth_password": "Basic auth password",
            "accepted_status_codes": "Accepted status codes",
            "max_redirects": "Maximum redirects",
            "verify_tls": "Verify the TLS certificate",
            "keyword_mode": "Keyword must be",
            "json_path": "JSON assertion",
            "dns_record_type": "DNS record type",
            "dns_expected": "Expected DNS value",
            "dns_resolver": "DNS resolver",
            "heartbeat_grace_seconds": "Heartbeat grace (seconds)",
        }
        help_texts = {
            "url": "What to check: an http(s) URL; host:port for TCP; a domain "
            "name for DNS; leave empty for a heartbeat.",
            "http_headers": 'A JSON object, e.g. {"X-Token": "abc"}.',
            "keyword": "Text to look for in the response body.",
            "dns_expected": "One of the answers must equal this (optional).",
            "heartbeat_grace_seconds": "How late a ping may be before the "
            "monitor is down (on top of the interval).",
            "failure_threshold": "Consecutive failed checks in a region.",
            "recovery_threshold": "Consecutive good checks in a region.",
            "region_quorum": "Leave empty for a majority of the chosen regions.",
        }
        widgets = {
            # Text, not URL: TCP and DNS targets are not URLs.
            "url": forms.TextInput(attrs={"placeholder": "https://example.com/"}),
            "http_body": forms.Textarea(attrs={"rows": 3}),
            "http_headers": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The API's bounds (serializer extra_kwargs), enforced and shown.
        for name in ("failure_threshold", "recovery_threshold"):
            self.fields[name].validators.append(MaxValueValidator(100))
            self.fields[name].widget.attrs.update(min=1, max=100)
        self.fields["region_quorum"].validators.append(MinValueValidator(1))
        self.fields["region_quorum"].widget.attrs["min"] = 1
        self.fields["timeout_seconds"].widget.attrs["step"] = "any"
        if self.instance.pk is None and not self.is_bound:
            self.initial.setdefault("regions", list(self.fields["regions"].queryset))
        # Options have model defaults: a post that leaves one out keeps it.
        for name in _OPTION_DEFAULTED:
            self.fields[name].required = False
        # The "remove password" box right under the password field.
        order = list(self.Meta.fields)
        order.insert(order.index("auth_password") + 1, "clear_auth_password")
        self.order_fields(order)

    def clean_url(self) -> str:
        # What the target must be depends on the kind: checked in clean().
        return (self.cleaned_data.get("url") or "").strip()

    def _clean_check_options(self, data: dict[str, Any]) -> None:
        """Kind, target and options, with the API's rules and messages."""
        for name in _OPTION_DEFAULTED:
            if data.get(name) in (None, "") and name not in self.errors:
                data[name] = getattr(self.instance, name)
        if "kind" not in self.data:
            # A post without the check section (an older page, a script):
            # an absent checkbox there means "unchanged", not "off".
            for name in ("follow_redirects", "verify_tls", "show_on_status_page"):
                data[name] = getattr(self.instance, name)
        values = self.clean_check_options(data)
        if values["kind"] == MonitorKind.HEARTBEAT and data.get("regions"):
            # Evaluated from the database: one region is enough (as the API).
            data["regions"] = list(data["regions"].order_by("code")[:1])
            data["region_quorum"] = None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
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
        self.fields["role"].choices = [
            (value, label)
            for value, label in Role.choices
            if role_can_manage(actor_role=actor_role, role=value)
        ]


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
