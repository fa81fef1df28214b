"""What the dashboard's and the admin's monitor forms share."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator

from .checks import (
    REGISTRY,
    CheckKind,
    OptionField,
    check_fields,
    clean_options,
    option_fields,
)
from .models import Monitor
from .secrets import headers_masked, monitor_secrets_after_edit


def kind_sections(available: Collection[str]) -> list[tuple[CheckKind, list[str]]]:
    """Each kind's inputs as its declaration orders them: its options (a
    write-only one followed by its "clear" box), then the read-only
    attributes it shows. Only names in ``available``; kinds with none left
    out; an option two kinds share is placed once."""
    sections: list[tuple[CheckKind, list[str]]] = []
    placed: set[str] = set()
    for kind in REGISTRY.values():
        names: list[str] = []
        for option in kind.options:
            names.append(option.name)
            if option.write_only:
                names.append(f"clear_{option.name}")
        names.extend(kind.shown)
        names = [n for n in names if n in available and n not in placed]
        placed.update(names)
        if names:
            sections.append((kind, names))
    return sections


def _bound(field: forms.Field, option: OptionField) -> None:
    """The declared range replaces the model's own (shown and enforced)."""
    if option.min_value is None and option.max_value is None:
        return
    field.validators = [
        v
        for v in field.validators
        if not isinstance(v, MinValueValidator | MaxValueValidator)
    ]
    if option.min_value is not None:
        field.validators.append(MinValueValidator(option.min_value))
        field.widget.attrs["min"] = option.min_value
    if option.max_value is not None:
        field.validators.append(MaxValueValidator(option.max_value))
        field.widget.attrs["max"] = option.max_value


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
    """The write-only password, masked header values and the kind/target/option
    rules of the API.

    Mix into a ModelForm over Monitor; call ``clean_check_options(data)``
    from ``clean()``. Returns the values checked.
    """

    instance: Monitor  # set by the ModelForm this is mixed into

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
        for option in option_fields():
            if option.name in self.fields:
                _bound(self.fields[option.name], option)
        instance = self.instance
        if instance.pk and instance.http_headers:
            # Shown masked; a masked value posted back keeps the stored one.
            self.initial["http_headers"] = headers_masked(instance.http_headers)

    def _clean_secrets(self, data: dict[str, Any]) -> None:
        instance = self.instance
        password: str | None = ""
        if not data.get("clear_auth_password"):
            # An empty password input means "keep", never "remove".
            password = data.get("auth_password") or None
        # The textarea is always posted (empty means no headers); a post
        # without it at all (a script, an older page) keeps them.
        posted = "http_headers" in self.data
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
            self.add_error("http_headers", str(exc))
        # Set it here too: construct_instance() skips a field with a default
        # that the POST left out, which an empty password input always is.
        instance.auth_password = data.get("auth_password") or ""

    def clean_check_options(self, data: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        self._clean_secrets(data)
        values = {
            name: data.get(name, getattr(instance, name, None))
            for name in check_fields()
        }
        cleaned, errors = clean_options(
            values, allow_private=settings.UPTIME_ALLOW_PRIVATE_TARGETS
        )
        for name, message in errors.items():
            if name not in self.errors:
                target = name if name in self.fields else None
                self.add_error(target, message)
        for name, value in cleaned.items():
            if name not in self.errors:
                data[name] = value
        return values
