"""Uptime Kuma backups (Settings > Backup > Export, version 1.x) as a
configuration document.

The backup is JSON: ``{"version": "1.23.x", "notificationList": [...],
"monitorList": [...]}``; each notification's settings are a JSON string in
its ``config``. Mapped: the monitor kinds we check (http, keyword and
json-query as http with a keyword or a JSON assertion, port as tcp, dns,
push as heartbeat), their interval, retries, timeout, status codes, TLS,
redirects, method, headers, body and basic auth, and the SMTP, Slack and
webhook notifications as channels. Everything else is listed, with why.
"""

from __future__ import annotations

import json
from typing import Any

from .convert import Names, Notes, first_address, json_assertion
from .errors import ConfigError

HTTP_TYPES = ("http", "keyword", "json-query")
SUPPORTED_TYPES = (*HTTP_TYPES, "port", "dns", "push")
DNS_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "NS")


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else None
        except ValueError:
            return None
    return value


def _channel(entry: dict[str, Any], name: str, notes: Notes) -> dict[str, Any] | None:
    config = _json(entry.get("config")) or {}
    kind = config.get("type")
    where = f"notification {name!r}"
    item: dict[str, Any] = {"name": name}
    if kind == "smtp":
        address, others = first_address(config.get("smtpTo"))
        item.update(kind="email", target=address)
        if others:
            notes.add(where, f"only the first address is used; not {others}")
        notes.add(
            where,
            "its SMTP server settings are not imported: mail goes through "
            "this server's EMAIL_* settings",
        )
    elif kind == "slack":
        item.update(kind="slack", target=config.get("slackwebhookURL") or "")
    elif kind == "webhook":
        item.update(kind="webhook", target=config.get("webhookURL") or "")
        if config.get("webhookContentType") not in (None, "json"):
            notes.add(
                where,
                f"content type {config.get('webhookContentType')!r} is not "
                "kept: our webhooks send their own signed JSON payload",
            )
    else:
        notes.add(where, f"type {kind!r} has no matching channel kind")
        return None
    if not entry.get("active", True):
        item["enabled"] = False
    if entry.get("isDefault") or entry.get("is_default") or config.get("isDefault"):
        item["is_default"] = True
    return item


def _http_response(
    monitor: dict[str, Any], item: dict[str, Any], where: str, notes: Notes
) -> None:
    """What a good answer is: status codes, TLS, redirects, body checks."""
    codes = monitor.get("accepted_statuscodes") or []
    if codes:
        item["accepted_status_codes"] = ",".join(str(c) for c in codes)
    if monitor.get("ignoreTls"):
        item["verify_tls"] = False
    redirects = monitor.get("maxredirects")
    if redirects == 0:
        item["follow_redirects"] = False
    elif isinstance(redirects, int):
        item["max_redirects"] = min(redirects, 20)
        if redirects > 20:
            notes.add(where, f"maxredirects {redirects} is capped at 20")
    if monitor.get("type") == "keyword":
        item["keyword"] = monitor.get("keyword") or ""
        if monitor.get("invertKeyword"):
            item["keyword_mode"] = "absent"
    elif monitor.get("type") == "json-query":
        assertion = json_assertion(
            str(monitor.get("jsonPath") or ""), monitor.get("expectedValue")
        )
        if assertion is None:
            notes.add(
                where,
                f"JSON query {monitor.get('jsonPath')!r} is more than a plain "
                "path; the monitor checks the status code only",
            )
        else:
            item["json_path"] = assertion


def _http_request(
    monitor: dict[str, Any], item: dict[str, Any], where: str, notes: Notes
) -> None:
    """What is sent: URL, method, headers, body, basic auth."""
    item["url"] = monitor.get("url") or ""
    method = str(monitor.get("method") or "GET").upper()
    if method != "GET":
        item["http_method"] = method
    headers = _json(monitor.get("headers"))
    if isinstance(headers, dict) and headers:
        item["http_headers"] = {str(k): str(v) for k, v in headers.items()}
    elif monitor.get("headers"):
        notes.add(where, "its headers are not a JSON object and are not imported")
    if monitor.get("body"):
        item["http_body"] = monitor["body"]
    auth = monitor.get("authMethod")
    if auth in (None, "", "basic") and monitor.get("basic_auth_user"):
        item["auth_username"] = monitor["basic_auth_user"]
        item["auth_password"] = monitor.get("basic_auth_pass") or ""
    elif auth not in (None, "", "basic"):
        notes.add(where, f"authentication {auth!r} is not supported (basic only)")


def _kind_settings(
    monitor: dict[str, Any], item: dict[str, Any], where: str, notes: Notes
) -> None:
    kind = monitor.get("type")
    if kind in HTTP_TYPES:
        item["kind"] = "http"
        _http_request(monitor, item, where, notes)
        _http_response(monitor, item, where, notes)
    elif kind == "port":
        item.update(kind="tcp", url=f"{monitor.get('hostname')}:{monitor.get('port')}")
    elif kind == "dns":
        item.update(kind="dns", url=monitor.get("hostname") or "")
        record = monitor.get("dns_resolve_type") or "A"
        if record in DNS_TYPES:
            item["dns_record_type"] = record
        else:
            notes.add(where, f"DNS record type {record} is not supported; A is used")
        if monitor.get("dns_resolve_server"):
            item["dns_resolver"] = monitor["dns_resolve_server"]
    else:  # push
        item.update(kind="heartbeat", url="")
        notes.add(
            where,
            "a push monitor becomes a heartbeat with a new ping URL: point "
            "the job at it (the Kuma push token is not kept)",
        )


def _common(
    monitor: dict[str, Any], item: dict[str, Any], where: str, notes: Notes
) -> None:
    interval = monitor.get("interval")
    if isinstance(interval, int):
        item["interval_seconds"] = interval
    timeout = monitor.get("timeout")
    if isinstance(timeout, int | float) and timeout > 0 and item["kind"] != "heartbeat":
        if isinstance(interval, int) and timeout >= interval:
            notes.add(
                where,
                f"timeout {timeout}s is not below the interval; the default "
                "timeout is used",
            )
        else:
            item["timeout_seconds"] = float(timeout)
    retries = monitor.get("maxretries")
    if isinstance(retries, int) and item["kind"] != "heartbeat":
        item["failure_threshold"] = min(retries + 1, 100)
    if not monitor.get("active", True):
        item["enabled"] = False
    if monitor.get("upsideDown"):
        notes.add(where, "upside-down mode (up when the check fails) is not supported")
    retry = monitor.get("retryInterval")
    if isinstance(retry, int) and isinstance(interval, int) and retry != interval:
        notes.add(
            where,
            f"retry interval {retry}s is not kept: retries run at the "
            f"monitor's interval ({interval}s)",
        )
    if monitor.get("resendInterval"):
        notes.add(
            where,
            "resend every N checks is not kept: reminders are set per channel "
            "(reminder_minutes)",
        )
    tags = [t.get("name") for t in monitor.get("tags") or [] if isinstance(t, dict)]
    if tags:
        notes.add(where, f"tags {tags} are not imported")


def kuma_document(text: str) -> tuple[dict[str, Any], list[str]]:
    """(the document, what could not be mapped) from a backup's text."""
    try:
        backup = json.loads(text)
    except ValueError as exc:
        raise ConfigError("", f"Not an Uptime Kuma backup (JSON): {exc}") from None
    if not isinstance(backup, dict) or "monitorList" not in backup:
        raise ConfigError("", "Not an Uptime Kuma backup: no monitorList.")
    notes = Notes()
    channel_names = Names(100)
    channels: list[dict[str, Any]] = []
    by_id: dict[Any, str] = {}
    for entry in backup.get("notificationList") or []:
        name = channel_names.take(str(entry.get("name") or ""))
        channel = _channel(entry, name, notes)
        if channel is not None:
            channels.append(channel)
            by_id[str(entry.get("id"))] = name
    monitor_names = Names(200)
    monitors: list[dict[str, Any]] = []
    for monitor in backup.get("monitorList") or []:
        name = monitor_names.take(str(monitor.get("name") or ""))
        where = f"monitor {name!r}"
        kind = monitor.get("type")
        if kind not in SUPPORTED_TYPES:
            notes.add(where, f"type {kind!r} is not a check kind here; not imported")
            continue
        item: dict[str, Any] = {"name": name}
        _kind_settings(monitor, item, where, notes)
        _common(monitor, item, where, notes)
        linked = []
        for key, on in (monitor.get("notificationIDList") or {}).items():
            if not on:
                continue
            if str(key) in by_id:
                linked.append(by_id[str(key)])
            else:
                notes.add(where, f"notification {key} was not imported")
        if linked:
            item["channels"] = sorted(set(linked))
        monitors.append(item)
    return {"version": 1, "channels": channels, "monitors": monitors}, notes.lines
