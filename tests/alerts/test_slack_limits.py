"""The Slack transport against hostile answers: a gzip bomb, a redirect, and
monitor names written to ping a whole channel. Real loopback receivers."""

from __future__ import annotations

import json
import tracemalloc
import zlib

import pytest

from alerts.services import channel_create
from alerts.transports import TransportError
from tests.alerts.helpers import notification_for, notify
from tests.alerts.servers import Receiver, slack_reply

pytestmark = pytest.mark.django_db


def gzip_bomb(megabytes: int) -> bytes:
    """``megabytes`` MB of zeros, gzipped to a few hundred KB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    block = bytes(1024 * 1024)
    parts = [packer.compress(block) for _ in range(megabytes)]
    return b"".join(parts) + packer.flush()


def slack_channel(project, receiver: Receiver):
    return channel_create(
        project=project, name="Slack", kind="slack", target=receiver.url("/services/x")
    )


def test_it_reads_only_a_capped_part_of_a_gzip_bomb(
    project, incident, receiver: Receiver, allow_private
) -> None:
    bomb = gzip_bomb(256)
    receiver.default = (
        500,
        bomb,
        {"Content-Type": "text/plain", "Content-Encoding": "gzip"},
    )
    channel = slack_channel(project, receiver)
    notification = notification_for(channel, incident)

    tracemalloc.start()
    try:
        with pytest.raises(TransportError) as caught:
            notify(channel, notification)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert not caught.value.permanent  # a 500: tried again later
    assert len(caught.value.message) < 300
    # 256 MB unpacked; the transport stops at its cap of tens of KB.
    assert peak < 16 * 1024 * 1024, peak


def test_it_follows_no_redirect(project, incident, allow_private) -> None:
    elsewhere, first = Receiver(), Receiver()
    try:
        elsewhere.default = slack_reply(200, "ok")
        first.default = (302, b"", {"Location": elsewhere.url("/services/y")})
        channel = slack_channel(project, first)

        with pytest.raises(TransportError) as caught:
            notify(channel, notification_for(channel, incident))
    finally:
        elsewhere.stop()
        first.stop()

    assert caught.value.permanent
    assert "redirect" in caught.value.message
    assert elsewhere.requests == []


def test_it_escapes_slack_control_text_in_the_fallback_and_blocks(
    project, make_monitor, open_incident, receiver: Receiver, allow_private
) -> None:
    monitor = make_monitor(
        name="<!channel> & <https://evil.example|click here>", failure_threshold=1
    )
    monitor.regions.set(monitor.regions.all()[:1])
    incident = open_incident(monitor)
    receiver.default = slack_reply(200, "ok")
    channel = slack_channel(project, receiver)

    notify(channel, notification_for(channel, incident))

    body = json.loads(receiver.requests[0].body)
    assert "<" not in body["text"] and ">" not in body["text"]
    assert (
        "&lt;!channel&gt; &amp; &lt;https://evil.example|click here&gt;"
        in (body["text"])
    )
    mrkdwn = [
        text
        for block in body["blocks"]
        for text in [block.get("text", {}), *block.get("fields", [])]
        if text.get("type") == "mrkdwn"
    ]
    assert mrkdwn and all("<!channel>" not in t["text"] for t in mrkdwn)
