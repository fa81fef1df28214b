"""A Gatus ``config.yaml`` as a configuration document.

Mapped: ``endpoints`` (http(s), tcp:// and dns targets; name, interval like
``30s``/``5m``, method, headers, body, ``client.insecure`` and
``client.timeout``), the conditions that have an equivalent here
(``[STATUS]``, ``[BODY] == pat(*x*)``, ``[BODY].path == value``,
``[RESPONSE_TIME] < n`` as the degraded threshold, ``[CONNECTED] == true``,
``[DNS_RCODE] == NOERROR``), ``external-endpoints`` as heartbeats, and the
``alerting`` providers slack, email and custom as channels with each
endpoint's alert thresholds. Everything else is listed, with why.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .convert import Names, Notes, first_address, json_assertion
from .errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
_CONDITION = re.compile(r"^\s*(.+?)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$")
_PATTERN = re.compile(r"^pat\(\*([^*?]+)\*\)$")
# Alert providers we have a channel kind for.
PROVIDERS = {"slack": "slack", "email": "email", "custom": "webhook"}


def seconds(value: Any) -> float | None:
    """``"30s"``, ``"5m"``, ``"1h"``, ``"500ms"`` -> seconds; None if not."""
    match = _DURATION.match(str(value or ""))
    if not match:
        return None
    return float(match[1]) * _UNITS[match[2]]


def _status_range(op: str, value: str) -> str | None:
    if not value.isdigit():
        return None
    code = int(value)
    return {
        "==": f"{code}",
        "<": f"100-{code - 1}",
        "<=": f"100-{code}",
        ">": f"{code + 1}-599",
        ">=": f"{code}-599",
    }.get(op)


class _Endpoint:
    """One endpoint's conversion: its item and its notes."""

    def __init__(self, endpoint: dict[str, Any], name: str, notes: Notes) -> None:
        self.endpoint = endpoint
        self.where = f"endpoint {name!r}"
        self.notes = notes
        self.item: dict[str, Any] = {"name": name}

    def note(self, what: str) -> None:
        self.notes.add(self.where, what)

    def target(self) -> bool:
        url = str(self.endpoint.get("url") or "")
        dns = self.endpoint.get("dns")
        if isinstance(dns, dict):
            self.item.update(kind="dns", url=str(dns.get("query-name") or ""))
            self.item["dns_record_type"] = str(dns.get("query-type") or "A")
            self.item["dns_resolver"] = url.removeprefix("dns://")
            return True
        if url.startswith(("http://", "https://")):
            self.item.update(kind="http", url=url)
            return True
        if url.startswith("tcp://"):
            self.item.update(kind="tcp", url=url)
            return True
        scheme = url.split("://", 1)[0] if "://" in url else url
        self.note(f"target {scheme}:// is not a check kind here; not imported")
        return False

    def http_settings(self) -> None:
        method = str(self.endpoint.get("method") or "GET").upper()
        if method != "GET":
            self.item["http_method"] = method
        headers = self.endpoint.get("headers")
        if isinstance(headers, dict) and headers:
            self.item["http_headers"] = {str(k): str(v) for k, v in headers.items()}
        if self.endpoint.get("body"):
            self.item["http_body"] = str(self.endpoint["body"])
        if self.endpoint.get("graphql"):
            self.note("graphql wrapping of the body is not supported")

    def client(self) -> None:
        client = self.endpoint.get("client") or {}
        if not isinstance(client, dict):
            return
        if client.get("insecure"):
            self.item["verify_tls"] = False
        timeout = seconds(client.get("timeout"))
        if timeout is not None:
            self.item["timeout_seconds"] = timeout
        for key in sorted(set(client) - {"insecure", "timeout"}):
            self.note(f"client setting {key!r} is not supported")

    def condition(self, text: str) -> None:
        match = _CONDITION.match(text)
        if match is None:
            self.note(f"condition {text!r} is not understood")
            return
        left, op, right = match[1], match[2], match[3]
        if not self._mapped(left, op, right):
            self.note(f"condition {text!r} has no equivalent here")

    def _mapped(self, left: str, op: str, right: str) -> bool:
        kind = self.item.get("kind")
        if left == "[STATUS]" and kind == "http":
            codes = _status_range(op, right)
            if codes is None or "accepted_status_codes" in self.item:
                return False
            self.item["accepted_status_codes"] = codes
            return True
        if left == "[RESPONSE_TIME]" and op in ("<", "<=") and right.isdigit():
            self.item["degraded_threshold_ms"] = int(right)
            self.note(
                f"[RESPONSE_TIME] {op} {right} became a degraded threshold: a "
                "slower answer is degraded here, not down"
            )
            return True
        if left == "[CONNECTED]" and right == "true" and kind == "tcp":
            return True  # a TCP check is a connection
        if left == "[DNS_RCODE]" and right == "NOERROR" and kind == "dns":
            return True  # a DNS check fails on any other answer code
        if left == "[BODY]" and kind == "dns" and op == "==":
            self.item["dns_expected"] = right
            return True
        if left == "[BODY]" and kind == "http" and op in ("==", "!="):
            pattern = _PATTERN.match(right)
            if pattern is None or "keyword" in self.item:
                return False
            self.item["keyword"] = pattern[1]
            if op == "!=":
                self.item["keyword_mode"] = "absent"
            return True
        if left.startswith("[BODY].") and kind == "http" and op == "==":
            if right.startswith(("pat(", "any(")) or "json_path" in self.item:
                return False
            assertion = json_assertion(left.removeprefix("[BODY]."), right)
            if assertion is None:
                return False
            self.item["json_path"] = assertion
            return True
        if left == "[CERTIFICATE_EXPIRATION]":
            self.note(
                f"[CERTIFICATE_EXPIRATION] {op} {right}: certificate expiry is "
                "announced at the server's UPTIME_CERT_EXPIRY_DAYS, not per "
                "monitor"
            )
            return True
        return False

    def alerts(self, channels: dict[str, str]) -> None:
        linked: list[str] = []
        thresholds: set[tuple[Any, Any]] = set()
        for alert in self.endpoint.get("alerts") or []:
            kind = str(alert.get("type") or "")
            if kind not in channels:
                self.note(f"alert type {kind!r} has no channel here")
                continue
            linked.append(channels[kind])
            thresholds.add(
                (alert.get("failure-threshold", 3), alert.get("success-threshold", 2))
            )
            if alert.get("send-on-resolved") is False:
                self.note(
                    f"send-on-resolved false on {kind} is per channel here (notify_up)"
                )
        if linked:
            self.item["channels"] = sorted(set(linked))
        if thresholds:
            failure, success = sorted(thresholds)[0]
            self.item["failure_threshold"] = int(failure)
            self.item["recovery_threshold"] = int(success)
            if len(thresholds) > 1:
                self.note(
                    "alerts with different thresholds: the first one "
                    f"({failure}/{success}) holds for the monitor"
                )


def _channels(alerting: Any, notes: Notes) -> tuple[list[dict[str, Any]], dict]:
    items: list[dict[str, Any]] = []
    by_type: dict[str, str] = {}
    if not isinstance(alerting, dict):
        return items, by_type
    for provider, settings in alerting.items():
        where = f"alerting.{provider}"
        if provider not in PROVIDERS or not isinstance(settings, dict):
            notes.add(where, "this provider has no channel kind here; not imported")
            continue
        name = f"Gatus {provider}"
        item: dict[str, Any] = {"name": name, "kind": PROVIDERS[provider]}
        if provider == "slack":
            item["target"] = str(settings.get("webhook-url") or "")
        elif provider == "email":
            address, others = first_address(settings.get("to"))
            item["target"] = address
            if others:
                notes.add(where, f"only the first address is used; not {others}")
            notes.add(
                where,
                "its SMTP settings are not imported: mail goes through this "
                "server's EMAIL_* settings",
            )
        else:
            item["target"] = str(settings.get("url") or "")
            extra = sorted(set(settings) - {"url", "default-alert"})
            if extra:
                notes.add(
                    where,
                    f"{extra} are not kept: our webhooks send their own signed "
                    "JSON payload",
                )
        items.append(item)
        by_type[provider] = name
    return items, by_type


def _external(entry: dict[str, Any], name: str, notes: Notes) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name, "kind": "heartbeat", "url": ""}
    heartbeat = entry.get("heartbeat") or {}
    interval = (
        seconds(heartbeat.get("interval")) if isinstance(heartbeat, dict) else None
    )
    if interval is not None:
        item["interval_seconds"] = int(interval)
    notes.add(
        f"external endpoint {name!r}",
        "becomes a heartbeat with its own ping URL: point the job at it "
        "(the Gatus token is not kept)",
    )
    return item


def gatus_document(text: str) -> tuple[dict[str, Any], list[str]]:
    """(the document, what could not be mapped) from a config.yaml's text."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError("", f"Not a Gatus config (YAML): {exc}") from None
    if not isinstance(config, dict) or "endpoints" not in config:
        raise ConfigError("", "Not a Gatus config: no endpoints.")
    notes = Notes()
    channels, by_type = _channels(config.get("alerting"), notes)
    names = Names(200)
    monitors: list[dict[str, Any]] = []
    for endpoint in config.get("endpoints") or []:
        convert = _Endpoint(endpoint, names.take(str(endpoint.get("name"))), notes)
        if not convert.target():
            continue
        interval = seconds(endpoint.get("interval") or "60s")
        convert.item["interval_seconds"] = int(interval or 60)
        if endpoint.get("enabled") is False:
            convert.item["enabled"] = False
        if convert.item["kind"] == "http":
            convert.http_settings()
        convert.client()
        for condition in endpoint.get("conditions") or []:
            convert.condition(str(condition))
        convert.alerts(by_type)
        monitors.append(convert.item)
    for entry in config.get("external-endpoints") or []:
        monitors.append(_external(entry, names.take(str(entry.get("name"))), notes))
    return {"version": 1, "channels": channels, "monitors": monitors}, notes.lines
