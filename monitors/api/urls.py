from __future__ import annotations

from django.urls import path
from rest_framework.routers import DefaultRouter

from .config import ConfigView
from .maintenance import MaintenanceWindowViewSet
from .views import IncidentViewSet, MonitorViewSet, RegionViewSet

router = DefaultRouter()
router.register("monitors", MonitorViewSet, basename="monitor")
router.register("incidents", IncidentViewSet, basename="incident")
router.register("regions", RegionViewSet, basename="region")
router.register("maintenance", MaintenanceWindowViewSet, basename="maintenance")

urlpatterns = [
    path("config/", ConfigView.as_view(), name="config"),
    *router.urls,
]
