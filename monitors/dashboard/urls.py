from __future__ import annotations

from django.urls import path

from . import maintenance_views, project_views, views

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
    path(
        "incidents/<int:pk>/acknowledge/",
        views.incident_acknowledge,
        name="incident_acknowledge",
    ),
    path(
        "incidents/<int:pk>/resolve/", views.incident_resolve, name="incident_resolve"
    ),
    path(
        "incidents/<int:pk>/updates/",
        views.incident_update_create,
        name="incident_update",
    ),
    path("maintenance/", maintenance_views.maintenance_list, name="maintenance"),
    path(
        "maintenance/new/",
        maintenance_views.maintenance_create,
        name="maintenance_create",
    ),
    path(
        "maintenance/<int:pk>/edit/",
        maintenance_views.maintenance_edit,
        name="maintenance_edit",
    ),
    path(
        "maintenance/<int:pk>/delete/",
        maintenance_views.maintenance_delete,
        name="maintenance_delete",
    ),
    path("project/", project_views.project_settings, name="project"),
    path("project/switch/", project_views.project_switch, name="project_switch"),
    path("project/new/", project_views.project_create, name="project_create"),
    path("project/leave/", project_views.project_leave, name="project_leave"),
    path("project/delete/", project_views.project_delete, name="project_delete"),
    path(
        "project/invitations/",
        project_views.invitation_create,
        name="invitation_create",
    ),
    path(
        "project/invitations/<int:pk>/revoke/",
        project_views.invitation_revoke,
        name="invitation_revoke",
    ),
    path(
        "project/members/<int:pk>/role/",
        project_views.membership_role,
        name="membership_role",
    ),
    path(
        "project/members/<int:pk>/remove/",
        project_views.membership_remove,
        name="membership_remove",
    ),
    path("invitations/", project_views.invitation_list, name="invitations"),
    path(
        "invitations/<int:pk>/accept/",
        project_views.invitation_respond,
        {"answer": "accept"},
        name="invitation_accept",
    ),
    path(
        "invitations/<int:pk>/decline/",
        project_views.invitation_respond,
        {"answer": "decline"},
        name="invitation_decline",
    ),
    path("invite/<str:token>/", project_views.invite_accept, name="invite"),
    # Under /accounts/ next to django.contrib.auth's pages (login, reset, ...).
    path("accounts/signup/", views.signup, name="signup"),
    # Public, no login: the status page (off by default) and badges.
    path("status/<slug:slug>/", views.status_page, name="status_page"),
    path("badge/<str:key>/status.svg", views.badge_status, name="badge_status"),
    path("badge/<str:key>/uptime.svg", views.badge_uptime, name="badge_uptime"),
]
