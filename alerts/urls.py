from __future__ import annotations

from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("channels/", views.channel_list, name="channels"),
    path("channels/new/", views.channel_add, name="channel_create"),
    path("channels/<int:pk>/edit/", views.channel_edit, name="channel_edit"),
    path("channels/<int:pk>/delete/", views.channel_delete, name="channel_delete"),
    path("channels/<int:pk>/test/", views.channel_test, name="channel_test"),
    path(
        "channels/<int:pk>/confirmation/",
        views.channel_confirmation_resend,
        name="channel_confirmation_resend",
    ),
    # Public: the signed acknowledge link in every alert of an open incident.
    path(
        "incidents/acknowledge/<str:token>/",
        views.incident_acknowledge_by_link,
        name="incident_acknowledge",
    ),
    path("escalation/", views.policy_list, name="policies"),
    path("escalation/new/", views.policy_add, name="policy_create"),
    path("escalation/<int:pk>/edit/", views.policy_edit, name="policy_edit"),
    # Public: the link mailed to an email channel's address.
    path(
        "channels/confirm/<str:token>/",
        views.channel_confirm,
        name="channel_confirm",
    ),
]
