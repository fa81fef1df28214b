from __future__ import annotations

from django.urls import path
from django.views.generic import RedirectView

app_name = "dashboard"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/"), name="overview"),
    path("monitors/<int:pk>/", RedirectView.as_view(url="/admin/"), name="monitor"),
    path("incidents/<int:pk>/", RedirectView.as_view(url="/admin/"), name="incident"),
]
