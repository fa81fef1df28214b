from __future__ import annotations

from rest_framework.routers import DefaultRouter

from .api import StatusPageViewSet

router = DefaultRouter()
router.register("status-pages", StatusPageViewSet, basename="status-page")

urlpatterns = router.urls
