"""Forms that fit the kind: the monitor and channel forms render one labelled
section per kind (all of them without JavaScript; a static script shows the
chosen kind's only, see test_browser.py), built from the kinds' own
declarations. And "Check now" promises no quick result while monitoring
itself is unhealthy."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from alerts.models import ChannelKind
from alerts.services import channel_create
from alerts.transports import REGISTRY as TRANSPORTS
from monitors.checks import REGISTRY as CHECK_KINDS
from monitors.dashboard.context import CACHE_KEY

pytestmark = pytest.mark.django_db

SCRIPT = '<script src="/static/js/kind-sections.js" defer></script>'


def _sections(page: str) -> dict[str, str]:
    """{kind: the fieldset's HTML} of every kind section on the page."""
    return dict(
        re.findall(
            r'<fieldset class="form-section" data-kind="(\w+)">(.*?)</fieldset>',
            page,
            re.S,
        )
    )


def _kind_texts(page: str, name: str) -> dict[str, list[str]]:
    """The per-kind wording an input carries for the script."""
    tag = re.search(rf'<input [^>]*name="{name}"[^>]*>', page)
    assert tag is not None
    found = re.search(r'data-kind-text="([^"]*)"', tag.group(0))
    assert found is not None
    return json.loads(html.unescape(found.group(1)))


def _outside_sections(page: str) -> str:
    return re.sub(
        r"<fieldset class=\"form-section\".*?</fieldset>", "", page, flags=re.S
    )


def test_the_monitor_form_renders_every_kinds_options_labelled_without_js(
    owner_client, regions
) -> None:
    page = owner_client.get(reverse("dashboard:monitor_create")).content.decode()
    sections = _sections(page)
    with_options = [kind for kind in CHECK_KINDS.values() if kind.options]
    assert set(sections) == {kind.name for kind in with_options}
    for kind in with_options:
        section = sections[kind.name]
        assert f"<legend>{html.escape(kind.label)} options</legend>" in section
        for option in kind.options:
            assert f'name="{option.name}"' in section, option.name
            assert f'name="{option.name}"' not in _outside_sections(page)
    # Without the script the target reads for any kind; the script takes
    # each kind's own wording from the input.
    assert '<label for="id_url">URL</label>' in page
    assert _kind_texts(page, "url") == {
        name: [kind.target_label, kind.target_help]
        for name, kind in CHECK_KINDS.items()
    }
    # The kind select drives the script, which the page loads as a file.
    assert re.search(r'<select name="kind"[^>]*data-kind-select', page)
    assert SCRIPT in page
    assert "<script>" not in page


def test_a_new_monitor_has_no_remove_password_control(owner_client, regions) -> None:
    page = owner_client.get(reverse("dashboard:monitor_create")).content.decode()
    assert 'name="auth_password"' in page
    assert "clear_auth_password" not in page
    assert "Remove the basic-auth password" not in page


def test_only_a_monitor_with_a_password_offers_to_remove_it(
    owner_client, make_monitor
) -> None:
    without = make_monitor(name="Open")
    with_password = make_monitor(
        name="Locked", auth_username="ops", auth_password="s3cret-pass"
    )
    page = owner_client.get(
        reverse("dashboard:monitor_edit", args=[without.pk])
    ).content.decode()
    assert "clear_auth_password" not in page
    page = owner_client.get(
        reverse("dashboard:monitor_edit", args=[with_password.pk])
    ).content.decode()
    assert 'name="clear_auth_password"' in _sections(page)["http"]
    assert "s3cret-pass" not in page


def test_the_channel_form_renders_every_kinds_section_and_wording_without_js(
    owner_client,
) -> None:
    page = owner_client.get(reverse("alerts:channel_create")).content.decode()
    sections = _sections(page)
    kinds = dict(ChannelKind.choices)
    with_options = {
        name: transport for name, transport in TRANSPORTS.items() if transport.options
    }
    assert set(sections) == set(with_options) == {"webhook"}
    for name, transport in with_options.items():
        assert f"<legend>{kinds[name]} options</legend>" in sections[name]
        for field in transport.options:
            assert f'name="{field}"' in sections[name]
            assert f'name="{field}"' not in _outside_sections(page)
    # Without the script the target reads for any kind; the script takes
    # each kind's own wording from the input.
    assert '<label for="id_target">Send to</label>' in page
    texts = _kind_texts(page, "target")
    assert texts == {
        name: [transport.target_label, transport.target_help]
        for name, transport in TRANSPORTS.items()
    }
    assert texts["email"][0] == "Email address"
    assert re.search(r'<select name="kind"[^>]*data-kind-select', page)
    assert SCRIPT in page


def test_editing_a_channel_shows_only_its_own_kinds_fields(
    owner_client, project, allow_private
) -> None:
    email = channel_create(
        project=project, name="Mail", kind="email", target="ops@example.com"
    )
    hook = channel_create(
        project=project, name="Hook", kind="webhook", target="http://127.0.0.1:9/h"
    )
    page = owner_client.get(
        reverse("alerts:channel_edit", args=[email.pk])
    ).content.decode()
    assert _sections(page) == {}
    assert 'name="secret"' not in page
    assert '<label for="id_target">Email address</label>' in page
    page = owner_client.get(
        reverse("alerts:channel_edit", args=[hook.pk])
    ).content.decode()
    assert 'name="secret"' in _sections(page)["webhook"]
    assert '<label for="id_target">Webhook URL</label>' in page
    assert hook.secret not in page


def test_check_now_promises_results_in_seconds_while_monitoring_is_healthy(
    owner_client, make_monitor
) -> None:
    monitor = make_monitor()
    cache.set(CACHE_KEY, [], 60)
    response = owner_client.post(
        reverse("dashboard:monitor_check", args=[monitor.pk]), follow=True
    )
    [message] = [str(m) for m in response.context["messages"]]
    assert message == "Check queued: results appear within seconds."


def test_check_now_says_the_check_may_not_run_soon_while_monitoring_is_unhealthy(
    owner_client, make_monitor
) -> None:
    monitor = make_monitor()
    problem = "Dispatch has not run for a while: is the beat process running?"
    cache.set(CACHE_KEY, [problem], 60)
    try:
        response = owner_client.post(
            reverse("dashboard:monitor_check", args=[monitor.pk]), follow=True
        )
    finally:
        cache.delete(CACHE_KEY)
    page = response.content.decode()
    [message] = [str(m) for m in response.context["messages"]]
    assert "it may not run soon" in message
    assert "within seconds" not in message
    assert problem in page  # the banner says why
    monitor.refresh_from_db()
    assert monitor.next_check_at is not None  # queued all the same
