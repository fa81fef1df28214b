from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError

from uptime import outbound

from .checks.options import blocked_message


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
            blocked_message(host, exc.address), code="blocked_address"
        ) from None


def monitor_settings_errors(
    *,
    interval_seconds: int | None,
    timeout_seconds: float | None,
    region_count: int | None,
    region_quorum: int | None,
) -> dict[str, str]:
    """Cross-field rules for a monitor, as ``{field: message}``.

    The dashboard form uses it; the messages match the API serializer's.
    ``None`` means the value is missing (already reported by its own field).
    """
    errors: dict[str, str] = {}
    floor = settings.UPTIME_MIN_INTERVAL_SECONDS
    if interval_seconds is not None:
        if interval_seconds < floor:
            errors["interval_seconds"] = f"Must be at least {floor} seconds."
        elif interval_seconds > 86400:
            errors["interval_seconds"] = "Must be at most 86400 seconds (one day)."
        elif timeout_seconds is not None and timeout_seconds >= interval_seconds:
            errors["timeout_seconds"] = (
                f"Must be below the interval ({interval_seconds} s)."
            )
    if region_count is not None:
        if region_count == 0:
            errors["regions"] = "Choose at least one region."
        elif region_quorum is not None and region_quorum > region_count:
            errors["region_quorum"] = f"At most the number of regions ({region_count})."
    return errors
