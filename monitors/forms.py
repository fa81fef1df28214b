"""What the dashboard's and the admin's monitor forms share."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from .checks.options import CHECK_FIELDS, clean_options
from .secrets import headers_masked, monitor_secrets_after_edit


class CheckOptionsFormMixin(forms.Form):
    """The write-only password, masked header values and the kind/target/option
    rules of the API.

    Mix into a ModelForm over Monitor; call ``clean_check_options(data)``
    from ``clean()``. Returns the values checked.
    """

    # Write-only: never rendered back; empty on edit keeps the stored one.
    auth_password = forms.CharField(
        required=False,
        strip=False,
        label="Basic auth password",
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only. Leave empty to keep the current password. "
        "Moving the URL to another site removes it and the header values.",
    )
    clear_auth_password = forms.BooleanField(
        required=False, label="Remove the basic-auth password"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance  # type: ignore[attr-defined]
        if instance.pk and instance.http_headers:
            # Shown masked; a masked value posted back keeps the stored one.
            self.initial["http_headers"] = headers_masked(instance.http_headers)

    def _clean_secrets(self, data: dict[str, Any]) -> None:
        instance = self.instance  # type: ignore[attr-defined]
        password: str | None = ""
        if not data.get("clear_auth_password"):
            # An empty password input means "keep", never "remove".
            password = data.get("auth_password") or None
        # The textarea is always posted (empty means no headers); a post
        # without it at all (a script, an older page) keeps them.
        posted = "http_headers" in self.data  # type: ignore[attr-defined]
        headers = (data.get("http_headers") or {}) if posted else None
        try:
            data.update(
                monitor_secrets_after_edit(
                    instance if instance.pk else None,
                    url=data.get("url") or "",
                    password=password,
                    headers=headers,
                )
            )
        except ValueError as exc:
            self.add_error("http_headers", str(exc))  # type: ignore[attr-defined]
        # Set it here too: construct_instance() skips a field with a default
        # that the POST left out, which an empty password input always is.
        instance.auth_password = data.get("auth_password") or ""

    def clean_check_options(self, data: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance  # type: ignore[attr-defined]
        self._clean_secrets(data)
        values = {
            name: data.get(name, getattr(instance, name, None)) for name in CHECK_FIELDS
        }
        cleaned, errors = clean_options(
            values, allow_private=settings.UPTIME_ALLOW_PRIVATE_TARGETS
        )
        for name, message in errors.items():
            if name not in self.errors:  # type: ignore[attr-defined]
                target = name if name in self.fields else None  # type: ignore[attr-defined]
                self.add_error(target, message)  # type: ignore[attr-defined]
        for name, value in cleaned.items():
            if name not in self.errors:  # type: ignore[attr-defined]
                data[name] = value
        return values
