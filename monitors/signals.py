"""The hooks other apps (alerts) hear monitors through.

All are sent inside the transaction that stores the ticks (and opens or
resolves the incident), before commit, so a receiver's writes (the alert
outbox) commit or roll back with it. Receivers must not do network I/O:
enqueue with ``transaction.on_commit`` instead.
"""

from __future__ import annotations

from django.dispatch import Signal

incident_opened = Signal()  # kwargs: incident
incident_resolved = Signal()  # kwargs: incident (also when resolved by hand)
# A person acknowledged an open incident: its reminders and escalation stop.
# kwargs: incident, via ("dashboard", "api" or "link")
incident_acknowledged = Signal()
# An https monitor's certificate crossed an expiry threshold (once per
# threshold per certificate; UPTIME_CERT_EXPIRY_DAYS, default 14 and 7).
# kwargs: monitor, days_left (int, negative once expired), not_after (datetime)
certificate_expiring = Signal()
# A region's tick turned degraded (up but slower than the monitor's
# threshold), and back to up. kwargs: monitor, tick
monitor_degraded = Signal()
monitor_degraded_recovered = Signal()
# The monitor started flapping (its state changes too often for each change
# to alert: monitors/flapping.py), and stopped. While it flaps, its incidents
# still open and resolve but announce nothing to people.
# kwargs: monitor, reading (flapping.FlapReading), since (datetime)
flapping_started = Signal()
# kwargs as above, plus settled ("up" or "down") and incident (the open
# Incident when it settled down, else None)
flapping_stopped = Signal()
# A region turned unhealthy or healthy again (monitors/regionhealth.py), once
# per change. kwargs: event (a RegionHealthEvent)
region_health_changed = Signal()
# A person posted an update (investigating, identified, ...) on an incident.
# kwargs: update (an IncidentUpdate)
incident_update_posted = Signal()
# A maintenance window was created (planned work announced ahead of time).
# kwargs: window (a MaintenanceWindow)
maintenance_scheduled = Signal()
