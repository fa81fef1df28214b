"""The API describes itself, and no input the schema admits (or breaks) is a 5xx.

The fuzz is driven by the schema: for every operation it builds a plausible
body from the request schema, then sends it once with each property replaced
by hostile values (wrong types, NUL, huge strings, nesting, out-of-range
numbers), and every query parameter likewise; path ids that exist, do not
exist or are not numbers. Every answer must be below 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from monitors.models import Incident, Monitor, Region, Tick
from tests.conftest import api_client_for

HOSTILE: dict[str, list[Any]] = {
    "string": ["", "\x00", "x" * 5000, "💥\ud7ff", 12, None, ["a"], {"a": 1}],
    "integer": [-1, 0, 2**63, "abc", 1.5, None, "", [1]],
    "number": [-1e308, 1e308, "NaN", "abc", None],
    "boolean": ["maybe", 2, None, ""],
    "array": ["notalist", [None], [{"a": [1]}], [""] * 300, None],
    "object": ["x", [1], {"a": {"b": {"c": "d"}}}, None],
}


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = spec["components"]["schemas"][name]
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_resolve(part, spec))
        return merged
    if "oneOf" in schema:
        return _resolve(schema["oneOf"][0], spec)
    return schema


def _plausible(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    schema = _resolve(schema, spec)
    if "enum" in schema:
        return next(v for v in schema["enum"] if v not in ("", None))
    kind = schema.get("type", "string")
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return max(schema.get("minimum", 1), 1)
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    if schema.get("format") == "uri" or "url" in schema.get("description", ""):
        return "https://shop.example/"
    return "x"


def _body(operation: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    media = content.get("application/json")
    if media is None:
        return None
    schema = _resolve(media["schema"], spec)
    props = schema.get("properties", {})
    body = {name: _plausible(props[name], spec) for name in schema.get("required", [])}
    if "url" in props:
        body["url"] = "https://shop.example/"
    if "kind" in props and "target" in props:  # a channel
        body.update(kind="webhook", target="https://hooks.example/x")
    return {"schema": schema, "body": body}


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in ("get", "post", "put", "patch", "delete"):
            if method in item:
                yield path, method, item[method]


@pytest.fixture
def spec(db) -> dict[str, Any]:
    resp = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert resp.status_code == 200
    return json.loads(resp.content)


def test_the_schema_generates_without_warnings_and_validates(db) -> None:
    # --validate checks it against the OpenAPI 3 meta-schema.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_the_schema_documents_every_api_route_and_the_key_scheme(spec) -> None:
    paths = set(spec["paths"])
    for path in (
        "/api/monitors/",
        "/api/monitors/{id}/",
        "/api/monitors/{id}/ticks/",
        "/api/monitors/{id}/ticks/{tick_id}/",
        "/api/incidents/",
        "/api/regions/",
        "/api/channels/",
        "/api/channels/{id}/test/",
        "/api/notifications/",
    ):
        assert path in paths
    schemes = spec["components"]["securitySchemes"]
    assert schemes["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["apiKey"]["description"],
    }
    status = spec["components"]["schemas"]["MonitorStatusEnum"]["enum"]
    assert {"pending", "up", "down", "paused"} <= set(status)


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_the_docs_pages_load_everything_from_this_site(db, url: str) -> None:
    resp = Client().get(url)
    assert resp.status_code == 200
    page = resp.content.decode()
    assert "https://" not in page and "http://" not in page  # no CDN
    assert "<script>" not in page  # no inline script: the CSP forbids it
    assert "script-src 'self'" in resp["Content-Security-Policy"]
    for src in [part.split('"', 1)[0] for part in page.split('src="')[1:]]:
        asset = Client().get(src)
        assert asset.status_code == 200, src


def _hostile_for(schema: dict[str, Any], spec: dict[str, Any]) -> list[Any]:
    kind = _resolve(schema, spec).get("type", "string")
    return HOSTILE.get(kind, HOSTILE["string"])


def _hostile_queries(
    url: str, operation: dict[str, Any], spec: dict[str, Any]
) -> Iterator[str]:
    for param in operation.get("parameters", []):
        if param["in"] != "query":
            continue
        for value in _hostile_for(param.get("schema", {}), spec):
            if value is not None:
                yield f"{url}?{param['name']}={json.dumps(value)[:3000]}"


def _hostile_bodies(operation: dict[str, Any], spec: dict[str, Any]) -> list[Any]:
    """A plausible body, then one with each writable property made hostile;
    [None] (no body) for an operation that takes none."""
    request = _body(operation, spec)
    if request is None:
        return [None]
    variants = [request["body"], "not an object", [request["body"]], None]
    for name, prop in request["schema"].get("properties", {}).items():
        if _resolve(prop, spec).get("readOnly"):
            continue
        for value in _hostile_for(prop, spec):
            variants.append({**request["body"], name: value})
    return variants


def _send(client: APIClient, method: str, url: str, body: Any = None) -> int:
    data = json.dumps(body) if body is not None else None
    call = getattr(client, method)
    resp = call(url, data=data, content_type="application/json")
    return resp.status_code


def test_no_generated_input_gets_a_5xx(
    spec, owner, make_monitor, regions, settings
) -> None:
    # Thousands of requests from one user: past the per-user rate every
    # answer would be a 429 and the fuzz would reach no view at all.
    settings.UPTIME_THROTTLE_API_USER = "100000/min"
    settings.UPTIME_THROTTLE_CHANNEL_SENDS = "100000/min"
    client = api_client_for(owner)
    monitor = make_monitor(url="https://shop.example/")
    tick = Tick.objects.create(
        monitor=monitor,
        region=Region.objects.get(code=regions[0].code),
        scheduled_at="2026-01-01T00:00:00Z",
        checked_at="2026-01-01T00:00:01Z",
        status="down",
        error="timeout",
    )
    Incident.objects.create(monitor=monitor, started_at="2026-01-01T00:00:00Z")
    channel_resp = client.post(
        "/api/channels/",
        {"name": "Ops", "kind": "webhook", "target": "https://hooks.example/x"},
        format="json",
    )
    assert channel_resp.status_code == 201
    ids = {
        "/api/monitors/": monitor.pk,
        "/api/channels/": channel_resp.json()["id"],
        "/api/incidents/": Incident.objects.get(monitor=monitor).pk,
    }
    answers: list[tuple[int, str]] = []  # (status, request) of every request
    for path, method, operation in _operations(spec):
        if method == "delete":
            continue  # deleting is tested elsewhere; here it would remove the fixtures
        base = next((v for k, v in ids.items() if path.startswith(k)), monitor.pk)
        concrete_ids = [str(base), "0", "abc", "9" * 30]
        for id_value in concrete_ids if "{id}" in path else ["-"]:
            url = path.replace("{id}", id_value).replace("{tick_id}", str(tick.pk))
            if method == "get":
                for query in _hostile_queries(url, operation, spec):
                    answers.append((client.get(query).status_code, f"GET {query}"))
            for body in _hostile_bodies(operation, spec):
                label = f"{method.upper()} {url} {json.dumps(body)[:200]}"
                answers.append((_send(client, method, url, body), label))
    sent = len(answers)
    throttled = [label for status, label in answers if status == 429]
    failures = [f"{label} -> {status}" for status, label in answers if status >= 500]
    assert sent > 300  # the schema really drove a fuzz
    assert throttled == []  # and every request reached its view
    assert failures == []
    assert Monitor.objects.filter(pk=monitor.pk).exists()
