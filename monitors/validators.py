from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError

from uptime import outbound


def validate_target_url(url: str) -> None:
    """The URL rules the API, the dashboard and the admin share."""
    try:
        host, _port = outbound.validate_url(url)
        outbound.check_destination(
            host, allow_private=settings.UPTIME_ALLOW_PRIVATE_TARGETS
        )
    except outbound.InvalidTarget as exc:
        raise ValidationError(str(exc), code="invalid") from None
    except outbound.BlockedAddress as exc:
        raise ValidationError(
            f"{host} is a private or reserved address ({exc.address}); "
            "checks only reach public addresses.",
            code="blocked_address",
        ) from None
