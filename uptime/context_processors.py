from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    """Install-wide switches the page templates need (the sign-up links)."""
    return {"registration_open": settings.REGISTRATION_OPEN}
