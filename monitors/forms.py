"""What the dashboard's and the admin's monitor forms share."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from .checks.options import CHECK_FIELDS, clean_options
from .models import Monitor


def monitor_form_values(form: forms.ModelForm) -> dict[str, Any]:
    """The settings a valid monitor form writes, for the monitor services.

    Plain fields are read from the form's instance, where validation put
    them: a field the post left out keeps its stored (or default) value
    there, as ModelForm.save() would keep it, while cleaned_data reports it
    empty. Many-to-many fields (regions) come from cleaned_data.
    """
    values: dict[str, Any] = {}
    for field in Monitor._meta.get_fields():
        if field.name not in form.cleaned_data:
            continue  # not on this form, or not a model field (a checkbox)
        if field.many_to_many:
            values[field.name] = form.cleaned_data[field.name]
        elif field.concrete:
            values[field.name] = getattr(form.instance, field.name)
    return values


class CheckOptionsFormMixin(forms.Form):
    """The write-only password and the kind/target/option rules of the API.

    Mix into a ModelForm over Monitor; call ``clean_check_options(data)``
    from ``clean()``. Returns the values checked.
    """

    # Write-only: never rendered back; empty on edit keeps the stored one.
    auth_password = forms.CharField(
        required=False,
        strip=False,
        label="Basic auth password",
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only. Leave empty to keep the current password.",
    )
    clear_auth_password = forms.BooleanField(
        required=False, label="Remove the basic-auth password"
    )

    def clean_check_options(self, data: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance  # type: ignore[attr-defined]
        if data.get("clear_auth_password"):
            data["auth_password"] = ""
        elif not data.get("auth_password") and instance.pk:
            # An empty password input means "keep", never "remove".
            data["auth_password"] = instance.auth_password
        # Set it here too: construct_instance() skips a field with a default
        # that the POST left out, which an empty password input always is.
        instance.auth_password = data.get("auth_password") or ""
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
