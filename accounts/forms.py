from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.models import User

from monitors.models import Project
from monitors.projects import projects_for
from uptime.forms import DescribedErrorsMixin

_ACCESS = (("read", "Read only"), ("write", "Read and write"))


class ApiKeyForm(DescribedErrorsMixin, forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What uses it, e.g. “deploy script”."
    )
    project = forms.ModelChoiceField(
        queryset=Project.objects.none(),
        required=False,
        empty_label="All my projects",
        help_text="A key for one project sees nothing of the others.",
    )
    access = forms.ChoiceField(
        choices=_ACCESS,
        initial="read",
        widget=forms.RadioSelect,
        help_text="Read-only keys are refused every change (403).",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        project = cast(forms.ModelChoiceField, self.fields["project"])
        project.queryset = projects_for(user=user).order_by("name", "id")

    def key_settings(self) -> dict[str, Any]:
        """The cleaned values as api_key_create() takes them."""
        return {
            "name": self.cleaned_data["name"],
            "project": self.cleaned_data["project"],
            "read_only": self.cleaned_data["access"] != "write",
        }


class PasswordChangeWithKeysForm(DescribedErrorsMixin, PasswordChangeForm):
    revoke_api_keys = forms.BooleanField(
        required=False,
        label="Revoke my API keys",
        help_text="Also revokes the token made with drf_create_token. Do this if "
        "someone else may have known the old password.",
    )
