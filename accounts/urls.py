from __future__ import annotations

from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
    # Ahead of django.contrib.auth.urls in uptime/urls.py: the same address,
    # with a "revoke my API keys" box.
    path(
        "password_change/",
        views.PasswordChangeWithKeys.as_view(),
        name="password_change",
    ),
]
