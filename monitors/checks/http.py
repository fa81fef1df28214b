"""HTTP(S) checks: one guarded request under a hard total deadline."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from uptime import outbound
from uptime.failures import classify

from . import jsonpath, tls
from .base import (
    CheckContext,
    CheckKind,
    CheckResult,
    CheckSpec,
    OptionField,
    down,
    up_or_degraded,
)
from .evidence import http_evidence
from .options import (
    HTTP_METHODS,
    MAX_REQUEST_BODY,
    parse_status_codes,
    require_public,
    status_accepted,
    validate_headers,
)


def _status_text(code: int) -> str:
    try:
        return f"HTTP {code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


def _request_body(options: dict[str, Any]) -> bytes | None:
    body = options.get("body") or ""
    return body.encode() if body else None


def _assert_body(options: dict[str, Any], body: bytes) -> str | None:
    """The failed assertion's message, or None when the body passes."""
    keyword = options.get("keyword") or ""
    if keyword:
        text = body.decode("utf-8", errors="replace")
        present = keyword in text
        if options.get("keyword_mode") == "absent" and present:
            return f"The body contains {keyword!r}, which must be absent."
        if options.get("keyword_mode", "present") != "absent" and not present:
            return f"The body does not contain {keyword!r}."
    expression = options.get("json_path") or ""
    if expression:
        try:
            assertion = jsonpath.parse(expression)
        except ValueError as exc:
            return f"Invalid JSON path assertion: {exc}"
        try:
            document = json.loads(body)
            passed, explanation = jsonpath.evaluate(assertion, document)
        except RecursionError:
            # A hostile document nested deeper than the parser's stack.
            return "The JSON body is nested too deeply to evaluate the assertion."
        except ValueError:
            return "The body is not JSON, so the JSON path assertion fails."
        if not passed:
            return f"JSON assertion {expression} failed: {explanation}."
    return None


async def check_http(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    options = spec.options
    progress = outbound.Progress()
    try:
        ranges = parse_status_codes(options.get("accepted_status_codes") or "200-399")
    except ValueError:
        ranges = [(200, 399)]
    headers = dict(options.get("headers") or {})
    if options.get("auth_username"):
        # As a header (aiohttp's BasicAuth is deprecated); fetch drops it on
        # a redirect to another host.
        pair = f"{options['auth_username']}:{options.get('auth_password') or ''}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode(
            "ascii"
        )
    verify_tls = bool(options.get("verify_tls", True))
    try:
        async with asyncio.timeout(spec.timeout):
            resp = await outbound.fetch(
                ctx.session,
                spec.url,
                method=options.get("method") or "GET",
                headers=headers,
                data=_request_body(options),
                allow_private=ctx.allow_private,
                follow_redirects=bool(options.get("follow_redirects", True)),
                max_redirects=int(options.get("max_redirects", 5)),
                max_body=int(options.get("max_body") or outbound.DEFAULT_MAX_BODY),
                truncate_body=False,
                verify_tls=verify_tls,
                ssl_context=ctx.ssl_context,
                progress=progress,
            )
    except Exception as exc:  # every failure is a DOWN tick, never a crash
        end = time.monotonic()
        failure = classify(exc)
        error, message = failure.error, failure.message
        details = http_evidence(progress, full=True, end=end)
        remaining = spec.timeout - (end - progress.started)
        if error == "tls" and "certificate" not in details and remaining > 0.1:
            # The handshake failed, so the session has no certificate to
            # show: fetch it again without verifying, for the evidence,
            # within what is left of the same deadline.
            cert = await tls.probe_certificate(
                progress.url or spec.url, ctx=ctx, timeout=remaining
            )
            if cert:
                details["certificate"] = cert
        return down(
            error,
            message,
            response_time_ms=int((end - progress.started) * 1000),
            status_code=progress.status if error != "tls" else None,
            details=details,
            certificate=details.get("certificate"),
        )
    elapsed = int(resp.timings.total_ms or 0)
    if not status_accepted(resp.status, ranges):
        return down(
            "http_status",
            f"{_status_text(resp.status)}, expected "
            f"{options.get('accepted_status_codes') or '200-399'}.",
            response_time_ms=elapsed,
            status_code=resp.status,
            details=http_evidence(progress, full=True),
            certificate=progress.tls,
        )
    failed = _assert_body(options, resp.body)
    if failed:
        return down(
            "assertion",
            failed,
            response_time_ms=elapsed,
            status_code=resp.status,
            details=http_evidence(progress, full=True),
            certificate=progress.tls,
        )
    result = up_or_degraded(
        spec,
        _status_text(resp.status),
        response_time_ms=elapsed,
        status_code=resp.status,
        details=http_evidence(progress, full=False),
        certificate=progress.tls,
    )
    if result.status == "degraded":
        result.details = http_evidence(progress, full=True)
    return result


# --- The kind's declaration ----------------------------------------------------


def _clean_target(target: str, *, allow_private: bool) -> str:
    if not target:
        raise ValueError("An http(s) URL is required for an HTTP monitor.")
    host, _port = outbound.validate_url(target)
    require_public(host, allow_private=allow_private)
    return target


def _clean_body(body: str) -> str:
    if len(body.encode()) > MAX_REQUEST_BODY:
        raise ValueError(f"At most {MAX_REQUEST_BODY // 1024} KB.")
    return body


def _clean_status_codes(text: str) -> str:
    parse_status_codes(text)
    return text


def _clean_json_path(expression: str) -> str:
    if expression:
        jsonpath.parse(expression)
    return expression


def _check_together(
    values: Mapping[str, Any], *, allow_private: bool
) -> dict[str, str]:
    errors: dict[str, str] = {}
    method = values.get("http_method") or "GET"
    if values.get("http_body") and method in ("GET", "HEAD", "OPTIONS"):
        errors["http_body"] = f"A {method} request is sent without a body."
    if method == "HEAD":
        for name in ("keyword", "json_path"):
            if values.get(name):
                errors[name] = "A HEAD response has no body to look into."
    if values.get("auth_password") and not values.get("auth_username"):
        errors["auth_username"] = "Basic auth needs a user name too."
    return errors


def _settings(source: Any, config: Any) -> dict[str, Any]:
    return {
        "method": source.http_method,
        "headers": dict(source.http_headers or {}),
        "body": source.http_body,
        "auth_username": source.auth_username,
        "auth_password": source.auth_password,
        "accepted_status_codes": source.accepted_status_codes,
        "follow_redirects": source.follow_redirects,
        "max_redirects": source.max_redirects,
        "verify_tls": source.verify_tls,
        "keyword": source.keyword,
        "keyword_mode": source.keyword_mode,
        "json_path": source.json_path,
        "max_body": config.UPTIME_MAX_BODY_BYTES,
    }


KIND = CheckKind(
    name="http",
    label="HTTP(S)",
    run=check_http,
    clean_target=_clean_target,
    target_help="An http:// or https:// URL.",
    options=(
        OptionField("http_method", "HTTP method", default="GET", choices=HTTP_METHODS),
        OptionField(
            "http_headers",
            "Request headers (JSON)",
            default={},
            help_text='A JSON object, e.g. {"X-Token": "abc"}.',
            clean=validate_headers,
            multiline=True,
        ),
        OptionField(
            "http_body", "Request body", default="", clean=_clean_body, multiline=True
        ),
        OptionField("auth_username", "Basic auth user", default=""),
        OptionField(
            "auth_password", "Basic auth password", default="", write_only=True
        ),
        OptionField(
            "accepted_status_codes",
            "Accepted status codes",
            default="200-399",
            clean=_clean_status_codes,
        ),
        OptionField("follow_redirects", "Follow redirects", default=True),
        OptionField(
            "max_redirects", "Maximum redirects", default=5, min_value=0, max_value=20
        ),
        OptionField("verify_tls", "Verify the TLS certificate", default=True),
        OptionField(
            "keyword",
            "Keyword",
            default="",
            help_text="Text to look for in the response body.",
        ),
        OptionField(
            "keyword_mode",
            "Keyword must be",
            default="present",
            choices=("present", "absent"),
        ),
        OptionField("json_path", "JSON assertion", default="", clean=_clean_json_path),
    ),
    check_together=_check_together,
    settings_from=_settings,
)
