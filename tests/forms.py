"""Monitor form posts for the dashboard and admin tests."""

from __future__ import annotations

import json
from typing import Any

from monitors.models import Monitor, Region

# Form inputs the dashboard and the admin both post (everything but the
# admin's own project and enabled boxes).
FORM_FIELDS = (
    "name",
    "kind",
    "url",
    "interval_seconds",
    "timeout_seconds",
    "failure_threshold",
    "recovery_threshold",
    "region_quorum",
    "show_on_status_page",
    "degraded_threshold_ms",
    "http_method",
    "http_headers",
    "http_body",
    "auth_username",
    "accepted_status_codes",
    "follow_redirects",
    "max_redirects",
    "verify_tls",
    "keyword",
    "keyword_mode",
    "json_path",
    "dns_record_type",
    "dns_expected",
    "dns_resolver",
    "heartbeat_grace_seconds",
)


def encode_form(values: dict[str, Any]) -> dict[str, Any]:
    """Python values as an HTML form posts them (an unticked box is absent)."""
    data: dict[str, Any] = {}
    for name, value in values.items():
        if value is True:
            data[name] = "on"
        elif value is False:
            continue
        elif value is None:
            data[name] = ""
        elif isinstance(value, dict):
            data[name] = json.dumps(value)
        elif name == "regions":
            data[name] = [r.pk for r in value]
        else:
            data[name] = str(value)
    return data


def form_values(monitor: Monitor, regions: list[Region]) -> dict[str, Any]:
    values = {name: getattr(monitor, name) for name in FORM_FIELDS}
    values["regions"] = regions
    return values


def form_data(regions: list[Region], **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Shop",
        "kind": "http",
        "url": "https://93.184.215.14/health",
        "interval_seconds": 60,
        "timeout_seconds": 5,
        "regions": [r.pk for r in regions],
        "failure_threshold": 3,
        "recovery_threshold": 1,
        "http_method": "GET",
        "http_headers": "{}",
        "accepted_status_codes": "200-399",
        "follow_redirects": "on",
        "max_redirects": 5,
        "verify_tls": "on",
        "keyword_mode": "present",
        "dns_record_type": "A",
        "heartbeat_grace_seconds": 60,
    }
    data.update(changes)
    return data
