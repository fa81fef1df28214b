"""The incident machine's one documented hook.

Both signals are sent inside the transaction that opens or resolves the
incident, before commit, so a receiver's writes (the alert outbox) commit or
roll back with the incident itself. Receivers get ``incident`` and must not
do network I/O: enqueue with ``transaction.on_commit`` instead.
"""

from __future__ import annotations

from django.dispatch import Signal

incident_opened = Signal()  # kwargs: incident
incident_resolved = Signal()  # kwargs: incident
incident_reminder = Signal()  # kwargs: incident (still open after N minutes)
