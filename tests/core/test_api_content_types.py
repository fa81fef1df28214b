"""Omitted booleans keep their documented defaults whatever the content type."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from monitors.models import Monitor

BODY = {"name": "Shop", "url": "https://shop.example/"}


def _post(api, content_type: str):
    if content_type == "json":
        return api.post(
            "/api/monitors/", json.dumps(BODY), content_type="application/json"
        )
    if content_type == "form":
        return api.post(
            "/api/monitors/",
            urlencode(BODY),
            content_type="application/x-www-form-urlencoded",
        )
    return api.post(
        "/api/monitors/",
        encode_multipart(BOUNDARY, BODY),
        content_type=MULTIPART_CONTENT,
    )


@pytest.mark.parametrize("content_type", ["json", "form", "multipart"])
def test_omitted_booleans_keep_their_defaults(api, regions, content_type) -> None:
    resp = _post(api, content_type)
    assert resp.status_code == 201, resp.content
    body = resp.json()
    monitor = Monitor.objects.get(pk=body["id"])
    assert body["follow_redirects"] is True and monitor.follow_redirects
    assert body["verify_tls"] is True and monitor.verify_tls
    assert body["enabled"] is True and monitor.enabled


@pytest.mark.parametrize("content_type", ["form", "multipart"])
def test_a_partial_form_update_leaves_omitted_booleans_alone(
    api, regions, content_type
) -> None:
    created = _post(api, "json").json()
    data = {"name": "Renamed"}
    if content_type == "form":
        resp = api.patch(
            f"/api/monitors/{created['id']}/",
            urlencode(data),
            content_type="application/x-www-form-urlencoded",
        )
    else:
        resp = api.patch(
            f"/api/monitors/{created['id']}/",
            encode_multipart(BOUNDARY, data),
            content_type=MULTIPART_CONTENT,
        )
    assert resp.status_code == 200, resp.content
    monitor = Monitor.objects.get(pk=created["id"])
    assert monitor.name == "Renamed"
    assert monitor.follow_redirects and monitor.verify_tls and monitor.enabled


def test_a_form_encoded_channel_keeps_its_notify_defaults(api, project) -> None:
    resp = api.post(
        "/api/channels/",
        urlencode(
            {"name": "Ops", "kind": "webhook", "target": "https://hooks.example/x"}
        ),
        content_type="application/x-www-form-urlencoded",
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["notify_down"] is True and body["notify_up"] is True
    assert body["enabled"] is True
