from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path

from monitors.heartbeat import ping as heartbeat_ping

urlpatterns = [
    path("admin/", admin.site.urls),
    # Heartbeat pings: public, secret key in the URL; the slash is optional
    # because cron lines are written by hand (a POST cannot follow a redirect).
    path("ping/<str:key>/", heartbeat_ping, name="heartbeat-ping"),
    re_path(r"^ping/(?P<key>[^/]{1,100})$", heartbeat_ping),
    path("api/", include("monitors.api.urls")),
    path("api/", include("alerts.api.urls")),
    # Before django.contrib.auth.urls: it overrides the password change page.
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("monitors.dashboard.urls")),
    path("", include("alerts.urls")),
]
