"""Account pages: API keys, and the password change that can revoke them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import PasswordChangeView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from uptime.auth import signed_in_user
from uptime.pages import render_page

from .forms import ApiKeyForm, PasswordChangeWithKeysForm
from .models import ApiKey
from .services import api_key_create, api_key_revoke, api_keys_revoke_all


@never_cache
@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None, user=signed_in_user(request))
    if request.method == "POST" and form.is_valid():
        key, raw = api_key_create(user=signed_in_user(request), **form.key_settings())
        # Rendered, not redirected: the key must not travel in a message
        # cookie or sit in the history. It is shown this once.
        return render_page(
            request, "accounts/api_key_created.html", {"key": key, "raw_key": raw}
        )
    keys = ApiKey.objects.filter(
        user=signed_in_user(request), revoked_at__isnull=True
    ).select_related("project")
    return render_page(
        request,
        "accounts/api_keys.html",
        {"form": form, "keys": list(keys)},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def api_key_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    # Another user's key is a 404, as everywhere in the dashboard.
    key = get_object_or_404(ApiKey, pk=pk, user=request.user)
    api_key_revoke(key=key)
    messages.success(request, f"API key “{key.name}” revoked.")
    return redirect("accounts:api_keys")


class PasswordChangeWithKeys(PasswordChangeView):
    form_class = PasswordChangeWithKeysForm

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        if form.cleaned_data.get("revoke_api_keys"):
            api_keys_revoke_all(user=form.user)
            messages.success(self.request, "Your API keys were revoked.")
        return response
