"""Request bodies are capped, JSON included, before any view reads them."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from monitors.models import Monitor

pytestmark = pytest.mark.django_db


def test_a_json_body_over_the_cap_is_refused_with_413(api: APIClient, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    body = {"name": "x", "url": "https://shop.example/", "http_body": "a" * 70_000}

    response = api.post(
        "/api/monitors/", json.dumps(body), content_type="application/json"
    )

    assert response.status_code == 413
    assert "body" in response.json()
    assert not Monitor.objects.exists()


def test_a_form_post_over_the_cap_is_refused_with_413(owner, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    client = Client()
    client.force_login(owner)

    response = client.post("/monitors/new/", {"name": "x", "http_body": "a" * 70_000})

    assert response.status_code == 413


def test_a_body_under_the_cap_goes_through(api: APIClient, regions, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    body = {"name": "x", "url": "https://93.184.215.14/", "http_method": "POST"}
    body["http_body"] = "a" * 1000

    response = api.post(
        "/api/monitors/", json.dumps(body), content_type="application/json"
    )

    assert response.status_code == 201, response.content
