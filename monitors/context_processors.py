from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .models import Region


def region_health(request: HttpRequest) -> dict[str, Any]:
    """The unhealthy regions, for the banner on every dashboard page.

    Every signed-in user owns at least their personal project, and a sick
    region holds the incidents of their monitors too, so all of them see
    which region; the reason (worker silence, lag) is for superusers.
    Lazy: the one small query runs only when a page shows the banner.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "unhealthy_regions": SimpleLazyObject(
            lambda: list(
                Region.objects.filter(active=True, healthy=False).order_by("code")
            )
        ),
        "show_region_reasons": bool(user.is_superuser),
    }
