from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from monitors.health import pipeline_view
from monitors.heartbeat import ping as heartbeat_ping

from .health import healthz
from .metrics import metrics_view
from .throttling import limit_logins, limit_password_resets

# A database or broker outage answers 503 (JSON under /api/), never an HTML 500.
handler500 = "uptime.errors.server_error"

urlpatterns = [
    # Rate-limited ahead of the admin's and django.contrib.auth's own routes
    # to the same views (see uptime.throttling).
    path("admin/login/", limit_logins(admin.site.login)),
    path("admin/", admin.site.urls),
    # Self-monitoring: load balancers, dead man's switches, Prometheus.
    path("healthz", healthz, name="healthz"),
    path("healthz/pipeline", pipeline_view, name="healthz-pipeline"),
    path("metrics", metrics_view, name="metrics"),
    # Heartbeat pings: public, secret key in the URL; the slash is optional
    # because cron lines are written by hand (a POST cannot follow a redirect).
    path("ping/<str:key>/", heartbeat_ping, name="heartbeat-ping"),
    re_path(r"^ping/(?P<key>[^/]{1,100})$", heartbeat_ping),
    # The API's own description: OpenAPI 3, Swagger UI and Redoc.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="api-schema"),
        name="api-redoc",
    ),
    path("api/", include("monitors.api.urls")),
    path("api/", include("alerts.api.urls")),
    path("api/", include("statuspages.api_urls")),
    path(
        "accounts/login/",
        limit_logins(auth_views.LoginView.as_view()),
        name="login",
    ),
    path(
        "accounts/password_reset/",
        limit_password_resets(auth_views.PasswordResetView.as_view()),
        name="password_reset",
    ),
    # Before django.contrib.auth.urls: it overrides the password change page.
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    # Before the dashboard's: a status page's /status/<slug>/ wins over the
    # project page at the same address (which it falls back to).
    path("", include("statuspages.urls")),
    path("", include("monitors.dashboard.urls")),
    path("", include("alerts.urls")),
]
