from __future__ import annotations

from rest_framework.routers import DefaultRouter

from .maintenance import MaintenanceWindowViewSet
from .views import IncidentViewSet, MonitorViewSet, RegionViewSet

router = DefaultRouter()
router.register("monitors", MonitorViewSet, basename="monitor")
router.register("incidents", IncidentViewSet, basename="incident")
router.register("regions", RegionViewSet, basename="region")
router.register("maintenance", MaintenanceWindowViewSet, basename="maintenance")

urlpatterns = router.urls
