from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("monitors.api.urls")),
    path("api/", include("alerts.api.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("monitors.dashboard.urls")),
]
