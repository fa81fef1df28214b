"""Subscribe requests per client address and per address subscribed
(``UPTIME_THROTTLE_SUBSCRIBE``): a form that mails whatever it is given must
not become a way to flood someone's inbox."""

from __future__ import annotations

from uptime.throttling import Limit

SUBSCRIBE = Limit("status-subscribe", "UPTIME_THROTTLE_SUBSCRIBE")
