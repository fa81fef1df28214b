"""Form helpers every app's dashboard forms share."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class DescribedErrorsMixin:
    """Tie each field's error list to its input for screen readers, and show
    a service's errors on the form.

    Django links help text with aria-describedby; the error list (rendered by
    templates/dashboard/_field.html with id ``<id>_error``) is added here.
    """

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        self._describe_errors()

    def add_service_errors(self, exc: ValidationError) -> None:
        """Show a service's ``ValidationError({field: messages})`` by field;
        errors about fields the form does not have go on top of the form."""
        for field, messages in exc.message_dict.items():
            known = field in self.fields  # type: ignore[attr-defined]
            self.add_error(field if known else None, messages)  # type: ignore[attr-defined]
        self._describe_errors()

    def _describe_errors(self) -> None:
        for name in self.errors:  # type: ignore[attr-defined]
            if name not in self.fields:  # type: ignore[attr-defined]
                continue
            bound = self[name]  # type: ignore[index]
            ids = [f"{bound.auto_id}_error"]
            if bound.help_text:
                ids.append(f"{bound.auto_id}_helptext")
            bound.field.widget.attrs["aria-describedby"] = " ".join(ids)
