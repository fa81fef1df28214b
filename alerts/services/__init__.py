"""The alerts service layer: channels, event payloads and the outbox.

``channels`` is the one write path for channels (API, dashboard, admin);
``payloads`` builds each event's JSON body; ``outbox`` writes notification
rows and reminders; ``escalation`` decides which channels hear of an
incident and fires escalation steps; ``acknowledge`` signs the acknowledge
link in alerts; ``delivery`` claims, sends, retries and sweeps them.
Callers import the names from here: ``from alerts.services import ...``.
"""

from __future__ import annotations

from .acknowledge import acknowledge_link, incident_by_ack_token
from .channels import (
    REMINDER_MINUTES_MAX,
    SendsThrottled,
    channel_clean,
    channel_confirmation_resend,
    channel_create,
    channel_delete,
    channel_send_test,
    channel_update,
    monitor_link_default_channels,
)
from .confirmation import channel_by_confirmation_token, channel_confirm
from .delivery import (
    backoff_seconds,
    notification_deliver,
    notification_retry,
    notifications_sweep,
)
from .escalation import (
    escalations_due,
    incident_channels,
    policy_delete,
    policy_save,
)
from .operator import (
    operator_notification_deliver,
    operator_notifications_for_region,
    operator_notifications_sweep,
)
from .outbox import (
    notifications_for_certificate,
    notifications_for_degraded,
    notifications_for_flapping,
    notifications_for_incident,
    notifications_remind,
)
from .payloads import incident_payload

__all__ = [
    "REMINDER_MINUTES_MAX",
    "SendsThrottled",
    "acknowledge_link",
    "backoff_seconds",
    "channel_by_confirmation_token",
    "channel_clean",
    "channel_confirm",
    "channel_confirmation_resend",
    "channel_create",
    "channel_delete",
    "channel_send_test",
    "channel_update",
    "escalations_due",
    "incident_by_ack_token",
    "incident_channels",
    "incident_payload",
    "monitor_link_default_channels",
    "notification_deliver",
    "notification_retry",
    "notifications_for_certificate",
    "notifications_for_degraded",
    "notifications_for_flapping",
    "notifications_for_incident",
    "notifications_remind",
    "notifications_sweep",
    "operator_notification_deliver",
    "operator_notifications_for_region",
    "operator_notifications_sweep",
    "policy_delete",
    "policy_save",
]
