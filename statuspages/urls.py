from __future__ import annotations

from django.urls import path

from . import dashboard_views, views

app_name = "statuspages"

urlpatterns = [
    path("status/<slug:slug>/", views.page_view, name="page"),
    path("status/<slug:slug>/feed.rss", views.rss_feed, name="feed_rss"),
    path("status/<slug:slug>/feed.atom", views.atom_feed, name="feed_atom"),
    path("status/<slug:slug>/subscribe/", views.subscribe, name="subscribe"),
    path(
        "status/<slug:slug>/subscribe/confirm/<str:token>/",
        views.confirm,
        name="confirm",
    ),
    path(
        "status/<slug:slug>/unsubscribe/<str:token>/",
        views.unsubscribe,
        name="unsubscribe",
    ),
]

# Managing pages: signed in, the project's admins and owners.
urlpatterns += [
    path("status-pages/", dashboard_views.page_list, name="manage_list"),
    path("status-pages/new/", dashboard_views.page_create, name="manage_create"),
    path("status-pages/<int:pk>/edit/", dashboard_views.page_edit, name="manage_edit"),
    path(
        "status-pages/<int:pk>/delete/",
        dashboard_views.page_delete,
        name="manage_delete",
    ),
]
