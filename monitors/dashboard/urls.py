from __future__ import annotations

from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("monitors/new/", views.monitor_create, name="monitor_create"),
    path("monitors/<int:pk>/", views.monitor_detail, name="monitor"),
    path("monitors/<int:pk>/ticks/<int:tick_id>/", views.tick_detail, name="tick"),
    path("monitors/<int:pk>/edit/", views.monitor_edit, name="monitor_edit"),
    path("monitors/<int:pk>/delete/", views.monitor_delete, name="monitor_delete"),
    path("monitors/<int:pk>/pause/", views.monitor_pause, name="monitor_pause"),
    path("monitors/<int:pk>/resume/", views.monitor_resume, name="monitor_resume"),
    path("monitors/<int:pk>/check/", views.monitor_check_now, name="monitor_check"),
    path("incidents/", views.incident_list, name="incidents"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident"),
    path("project/", views.project_settings, name="project"),
    path("project/switch/", views.project_switch, name="project_switch"),
    path("project/new/", views.project_create, name="project_create"),
    path("invite/<str:token>/", views.invite_accept, name="invite"),
    # Under /accounts/ next to django.contrib.auth's pages (login, reset, ...).
    path("accounts/signup/", views.signup, name="signup"),
    # Public, no login: the status page (off by default) and badges.
    path("status/<slug:slug>/", views.status_page, name="status_page"),
    path("badge/<str:key>/status.svg", views.badge_status, name="badge_status"),
    path("badge/<str:key>/uptime.svg", views.badge_uptime, name="badge_uptime"),
]
