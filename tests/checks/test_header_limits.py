"""A monitor's custom headers may not set Host or hop-by-hop headers."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from monitors.models import Monitor, Region
from tests.conftest import client_for
from tests.forms import form_data

pytestmark = pytest.mark.django_db


def monitor_with(headers: dict[str, str]) -> dict[str, object]:
    return {"name": "H", "url": "https://93.184.215.14/", "http_headers": headers}


@pytest.mark.parametrize(
    "name",
    [
        "Host",
        "host",
        "Content-Length",
        "Transfer-Encoding",
        "Connection",
        "Keep-Alive",
        "TE",
        "Trailer",
        "Upgrade",
        "Proxy-Connection",
    ],
)
def test_it_refuses_host_and_hop_by_hop_headers_naming_the_field(
    api: APIClient, regions: list[Region], name: str
) -> None:
    response = api.post(
        "/api/monitors/", monitor_with({name: "example.org"}), format="json"
    )
    assert response.status_code == 400
    assert name in response.json()["http_headers"][0]
    assert not Monitor.objects.exists()


def test_it_accepts_host_when_the_operator_allows_it(
    api: APIClient, regions: list[Region], settings
) -> None:
    settings.UPTIME_ALLOW_HOST_HEADER = True
    response = api.post(
        "/api/monitors/", monitor_with({"Host": "example.org"}), format="json"
    )
    assert response.status_code == 201, response.content
    assert Monitor.objects.get().http_headers == {"Host": "example.org"}
    # Framing headers stay refused whatever the setting.
    refused = api.post(
        "/api/monitors/", monitor_with({"Content-Length": "5"}), format="json"
    )
    assert refused.status_code == 400


def test_the_dashboard_form_refuses_a_host_header(owner, regions) -> None:
    response = client_for(owner).post(
        "/monitors/new/", form_data(regions, http_headers='{"Host": "example.org"}')
    )
    assert "Host" in response.context["form"].errors["http_headers"][0]
    assert not Monitor.objects.exists()
