"""Slack and webhooks judge a receiver's answer by the same rule."""

from __future__ import annotations

import pytest

from alerts.services import channel_create
from alerts.transports import TransportError
from tests.alerts.helpers import notification_for, notify
from tests.alerts.servers import Receiver, slack_reply

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", ["slack", "webhook"])
@pytest.mark.parametrize(
    ("status", "permanent"), [(409, False), (425, False), (408, False), (400, True)]
)
def test_it_retries_the_same_statuses_for_slack_and_webhooks(
    project, incident, receiver: Receiver, allow_private, kind, status, permanent
) -> None:
    receiver.replies = [slack_reply(status, "busy", **{"Retry-After": "7"})]
    channel = channel_create(
        project=project, name=kind, kind=kind, target=receiver.url("/hook")
    )
    with pytest.raises(TransportError) as caught:
        notify(channel, notification_for(channel, incident))
    assert caught.value.permanent is permanent
    assert caught.value.retry_after == (None if permanent else 7.0)
