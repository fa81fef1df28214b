"""Form helpers every app's dashboard forms share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError

if TYPE_CHECKING:
    from django.forms import BaseForm as _FormBase
else:
    _FormBase = object  # a mixin: the form it is mixed into comes later


class DescribedErrorsMixin(_FormBase):
    """Tie each field's error list to its input for screen readers, and show
    a service's errors on the form.

    Django links help text with aria-describedby; the error list (rendered by
    templates/dashboard/_field.html with id ``<id>_error``) is added here.
    """

    def full_clean(self) -> None:
        super().full_clean()
        self._describe_errors()

    def add_service_errors(self, exc: ValidationError) -> None:
        """Show a service's ``ValidationError({field: messages})`` by field;
        errors about fields the form does not have go on top of the form."""
        for field, messages in exc.message_dict.items():
            known = field in self.fields
            self.add_error(field if known else None, messages)
        self._describe_errors()

    def _describe_errors(self) -> None:
        for name in self.errors:
            if name not in self.fields:
                continue
            bound = self[name]
            ids = [f"{bound.auto_id}_error"]
            if bound.help_text:
                ids.append(f"{bound.auto_id}_helptext")
            bound.field.widget.attrs["aria-describedby"] = " ".join(ids)
