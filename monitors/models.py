from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from .checks import DEFAULT_KIND, kind_choices


def _token() -> str:
    return secrets.token_urlsafe(24)


class Role(models.TextChoices):
    """What a member may do in a project, from least to most.

    The rules live in ``monitors.projects``; see ROLE_ORDER there.
    """

    VIEWER = "viewer"
    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"


class Project(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="owned_projects",
    )
    # Joined only through an accepted invitation (or by creating the project):
    # rows are Membership, never added behind the member's back.
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="projects",
        blank=True,
        through="Membership",
    )
    # The project made for the owner at signup: where their monitors go when
    # they do not name a project. One per user, and it cannot be left.
    personal = models.BooleanField(default=False, editable=False)
    status_page_enabled = models.BooleanField(default=False)
    status_page_show_details = models.BooleanField(
        default=False, help_text="Show URLs and error text on the public status page."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Not a column: the viewer's role, set on the projects a dashboard page
    # shows (uptime.pages.page_projects).
    role: str

    class Meta:
        ordering = ("name", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["owner"],
                condition=Q(personal=True),
                name="project_one_personal_per_owner",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            base = slugify(self.name)[:40] or "project"
            self.slug = f"{base}-{secrets.token_hex(3)}"
        super().save(*args, **kwargs)


class Membership(models.Model):
    """A user's role in a project (the through table of Project.members)."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)
    # Not a column: whether the viewer may change this membership, set by the
    # project settings page.
    manageable: bool

    class Meta:
        # The table Django made for the plain many-to-many, kept as it was.
        db_table = "monitors_project_members"
        unique_together = (("project", "user"),)

    def __str__(self) -> str:
        return f"{self.user_id} in {self.project_id} ({self.role})"


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def pending(self) -> InvitationQuerySet:
        """Neither accepted nor revoked, and not expired (as is_pending)."""
        return self.filter(
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )


class Invitation(models.Model):
    """An offer to join a project; nobody becomes a member until they accept.

    Addressed to an existing user or to an email address. The link carries a
    random token; only its SHA-256 is stored, so a database read cannot be
    turned into a working link.
    """

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="invitations",
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=~Q(email="") | Q(user__isnull=False),
                name="invitation_has_an_invitee",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.invitee} to {self.project_id} ({self.role})"

    @property
    def invitee(self) -> str:
        if self.user is not None:
            return self.user.get_username()
        return self.email

    def is_pending(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class Region(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    # The region's health as last recorded by monitors.regionhealth (every
    # few seconds, by beat): a change writes a RegionHealthEvent.
    healthy = models.BooleanField(default=True, editable=False)
    health_reason = models.CharField(
        max_length=200, blank=True, default="", editable=False
    )
    health_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Most of its monitors DOWN in its latest checks while other regions
    # see them UP (recorded with the health, read by regions_health).
    mass_failure = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ("code",)

    def __str__(self) -> str:
        return self.code


class MonitorStatus(models.TextChoices):
    PENDING = "pending"
    UP = "up"
    # Failing checks, not yet confirmed as an incident (below the failure
    # threshold or the region quorum): not "up", not yet "down".
    FAILING = "failing"
    DOWN = "down"
    PAUSED = "paused"


class MonitorKind(models.TextChoices):
    """Names of the built-in kinds, for code that treats one specially (the
    heartbeat's ping URL). Monitor.kind's choices and labels come from the
    kinds' own declarations (``monitors.checks.REGISTRY``)."""

    HTTP = "http"
    TCP = "tcp"
    DNS = "dns"
    HEARTBEAT = "heartbeat"


class HttpMethod(models.TextChoices):
    GET = "GET", "GET"
    HEAD = "HEAD", "HEAD"
    POST = "POST", "POST"
    PUT = "PUT", "PUT"
    PATCH = "PATCH", "PATCH"
    DELETE = "DELETE", "DELETE"
    OPTIONS = "OPTIONS", "OPTIONS"


class KeywordMode(models.TextChoices):
    PRESENT = "present"
    ABSENT = "absent"


class DnsRecordType(models.TextChoices):
    A = "A", "A"
    AAAA = "AAAA", "AAAA"
    CNAME = "CNAME", "CNAME"
    MX = "MX", "MX"
    TXT = "TXT", "TXT"
    NS = "NS", "NS"


class EscalationPolicy(models.Model):
    """Who hears of an incident, and when, while nobody acknowledges it.

    Its ordered steps (``alerts.EscalationStep``: "after N minutes
    unacknowledged, notify these channels", optionally repeating) live in
    the alerts app, which owns channels; a monitor names its policy here.
    A monitor without one alerts its own channels at once: the one-step
    default.
    """

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="escalation_policies"
    )
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"], name="escalation_policy_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Monitor(models.Model):
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="monitors"
    )
    name = models.CharField(max_length=200)
    # Choices read from the registry each time they are used, so a kind
    # registered there is accepted everywhere without a change here.
    kind = models.CharField(max_length=10, choices=kind_choices, default=DEFAULT_KIND)
    # The target: an http(s) URL, tcp://host:port, or a DNS name to query;
    # empty for heartbeats (they are pinged, not checked).
    url = models.CharField(max_length=2000, blank=True)
    interval_seconds = models.PositiveIntegerField(default=60)
    timeout_seconds = models.FloatField(
        default=10.0, validators=[MinValueValidator(0.1)]
    )
    regions = models.ManyToManyField(Region, related_name="monitors")
    failure_threshold = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1)]
    )
    recovery_threshold = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)]
    )
    # None: a majority of the monitor's regions, whatever they are now.
    region_quorum = models.PositiveSmallIntegerField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    show_on_status_page = models.BooleanField(
        default=True, help_text="List this monitor on the project's public status page."
    )
    status = models.CharField(
        max_length=10, choices=MonitorStatus.choices, default=MonitorStatus.PENDING
    )
    # The current run of failed checks in the worst voting region (capped at
    # the failure threshold); with status "failing": "Failing 1/3".
    consecutive_failures = models.PositiveSmallIntegerField(default=0, editable=False)
    next_check_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_response_time_ms = models.PositiveIntegerField(null=True, blank=True)
    # Set and cleared by the flap detector (monitors/flapping.py): the state
    # changes too often for each change to alert.
    flapping = models.BooleanField(default=False, editable=False)
    flapping_since = models.DateTimeField(null=True, blank=True, editable=False)
    badge_key = models.CharField(max_length=64, default=_token, unique=True)
    # Null: the monitor's channels hear of an incident at once (one step).
    escalation_policy = models.ForeignKey(
        EscalationPolicy,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="monitors",
    )

    # --- HTTP(S) options (monitors/checks/http.py) ---
    http_method = models.CharField(
        max_length=7, choices=HttpMethod.choices, default=HttpMethod.GET
    )
    http_headers = models.JSONField(default=dict, blank=True)
    http_body = models.TextField(blank=True, default="")
    auth_username = models.CharField(max_length=200, blank=True, default="")
    # Write-only everywhere (API, admin, forms): never shown back.
    auth_password = models.CharField(max_length=200, blank=True, default="")
    accepted_status_codes = models.CharField(
        max_length=200,
        default="200-399",
        help_text="Codes and ranges, comma-separated: 200-299,301,404.",
    )
    follow_redirects = models.BooleanField(default=True)
    max_redirects = models.PositiveSmallIntegerField(
        default=5, validators=[MaxValueValidator(20)]
    )
    verify_tls = models.BooleanField(default=True)
    keyword = models.CharField(max_length=500, blank=True, default="")
    keyword_mode = models.CharField(
        max_length=7, choices=KeywordMode.choices, default=KeywordMode.PRESENT
    )
    json_path = models.CharField(
        max_length=500,
        blank=True,
        default="",
        help_text='An assertion on a JSON body, e.g. $.status == "ok".',
    )
    degraded_threshold_ms = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Slower than this (ms) but otherwise up: the tick is degraded.",
    )
    # --- DNS options (monitors/checks/dns.py) ---
    dns_record_type = models.CharField(
        max_length=5, choices=DnsRecordType.choices, default=DnsRecordType.A
    )
    dns_expected = models.CharField(max_length=500, blank=True, default="")
    dns_resolver = models.CharField(
        max_length=100,
        blank=True,
        default="",
        help_text="ip or ip:port; empty = the worker's system resolver.",
    )
    # --- heartbeat (monitors/heartbeat.py) ---
    # Null for other kinds; the secret part of the ping URL.
    heartbeat_key = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False
    )
    heartbeat_grace_seconds = models.PositiveIntegerField(default=60)
    last_ping_at = models.DateTimeField(null=True, blank=True, editable=False)
    # --- TLS certificate, recorded from https checks ---
    cert_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    cert_issuer = models.CharField(
        max_length=300, blank=True, default="", editable=False
    )
    # The smallest expiry threshold (days) already announced for this
    # certificate; reset when a renewed certificate is seen.
    cert_notified_days = models.PositiveSmallIntegerField(
        null=True, blank=True, editable=False
    )
    # The monitor this one sits behind (a page behind its load balancer):
    # while the parent has an open incident, this one's incidents are
    # recorded suppressed and alert nobody. Same project, no cycles (see
    # monitors.dependencies).
    depends_on = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dependents",
        help_text="While that monitor is down, this one's incidents are "
        "recorded but alert nobody.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Not a column: the viewer's role, set by the dashboard's monitor pages.
    role: str

    class Meta:
        ordering = ("name", "id")
        indexes = [
            # The dispatcher's claim query: enabled monitors by next_check_at.
            models.Index(
                fields=["next_check_at"],
                name="monitor_due_idx",
                condition=Q(enabled=True),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if self.kind == MonitorKind.HEARTBEAT and not self.heartbeat_key:
            self.heartbeat_key = _token()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "heartbeat_key"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("dashboard:monitor", args=[self.pk])

    @property
    def ping_url(self) -> str:
        """The public URL a heartbeat's job calls; empty for other kinds."""
        if self.kind != MonitorKind.HEARTBEAT or not self.heartbeat_key:
            return ""
        return settings.SITE_URL + reverse("heartbeat-ping", args=[self.heartbeat_key])

    @property
    def status_label(self) -> str:
        """The status as shown: "Failing 1/3" counts the failed checks
        towards the threshold that opens an incident."""
        if self.status == MonitorStatus.FAILING:
            return f"Failing {self.consecutive_failures}/{self.failure_threshold}"
        return str(self.status)

    def effective_quorum(self, region_count: int | None = None) -> int:
        count = region_count if region_count is not None else self.regions.count()
        if self.region_quorum:
            return min(self.region_quorum, max(count, 1))
        return count // 2 + 1

    def phase_seconds(self) -> int:
        """A stable offset within the interval, so monitors spread over it.

        Multiplying by a large odd constant (Knuth's multiplicative hash)
        scatters consecutive ids, so a bulk import does not land in one second.
        """
        return (self.pk * 2654435761) % max(self.interval_seconds, 1)

    def next_slot_after(self, moment: datetime) -> datetime:
        """The first slot on this monitor's grid strictly after ``moment``."""
        interval = self.interval_seconds
        epoch = int(moment.timestamp())
        phase = self.phase_seconds()
        slot = ((epoch - phase) // interval + 1) * interval + phase
        return datetime.fromtimestamp(slot, tz=UTC)


class TickStatus(models.TextChoices):
    UP = "up"
    DOWN = "down"
    DEGRADED = "degraded"
    # A slot we did not check (our lag, not the target's fault): neither up
    # nor down. It never votes on incidents, never changes the monitor's
    # status, and uptime and charts read it as no data.
    MISSED = "missed"


class Tick(models.Model):
    """One check of one monitor from one region in one slot.

    In the database the table is partitioned by day on ``scheduled_at``
    (``monitors.partitions``): its primary key there is ``(id, scheduled_at)``
    and retention drops whole days. No foreign key may point at a tick.
    """

    # No single-column indexes on the foreign keys: the unique slot key and
    # the time index both lead with monitor_id, and regions are deleted so
    # rarely that the PROTECT check may scan. Every index costs bytes per tick.
    monitor = models.ForeignKey(
        Monitor, on_delete=models.CASCADE, related_name="ticks", db_index=False
    )
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="ticks", db_index=False
    )
    scheduled_at = models.DateTimeField()
    checked_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=TickStatus.choices)
    response_time_ms = models.PositiveIntegerField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=32, blank=True, default="")
    message = models.CharField(max_length=500, blank=True, default="")
    details = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            # A redelivered run_checks task cannot write the same slot twice;
            # the index also serves "latest N ticks of a monitor in a region".
            models.UniqueConstraint(
                fields=["monitor", "region", "scheduled_at"], name="tick_unique_slot"
            ),
        ]
        indexes = [
            # "A monitor's ticks in a time range", across regions.
            models.Index(
                fields=["monitor", "scheduled_at"], name="tick_monitor_time_idx"
            ),
            # The failed checks of a chart range older than an hour (their
            # reasons are not in the rollups): small, failures are rare.
            models.Index(
                fields=["monitor", "scheduled_at"],
                name="tick_down_idx",
                condition=Q(status="down"),
            ),
        ]

    def __str__(self) -> str:
        when = f"{self.scheduled_at:%Y-%m-%d %H:%M:%S}"
        return f"{self.monitor_id}@{self.region_id} {when} {self.status}"


class RollupResolution(models.TextChoices):
    FIVE_MINUTES = "5m"
    HOUR = "1h"
    DAY = "1d"


class TickRollup(models.Model):
    """The ticks of one monitor in one region within one time bucket, summed.

    Maintained as ticks are stored (``monitors.rollups.rollups_record``) and
    kept long after the raw ticks are dropped. ``latency_*`` cover the checks
    that did not fail and have a response time (up and degraded), as the
    charts' percentiles do; ``latency_hist[i]`` counts those whose time falls
    in bucket ``i`` of ``monitors.rollups.LATENCY_BOUNDS_MS``.
    """

    monitor = models.ForeignKey(
        Monitor, on_delete=models.CASCADE, related_name="rollups", db_index=False
    )
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="rollups", db_index=False
    )
    resolution = models.CharField(max_length=2, choices=RollupResolution.choices)
    bucket = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    up = models.PositiveIntegerField(default=0)
    down = models.PositiveIntegerField(default=0)
    degraded = models.PositiveIntegerField(default=0)
    missed = models.PositiveIntegerField(default=0)
    latency_sum_ms = models.BigIntegerField(default=0)
    latency_count = models.PositiveIntegerField(default=0)
    latency_hist = ArrayField(models.IntegerField(), default=list)

    class Meta:
        constraints = [
            # Also the read index: "a monitor's buckets of one resolution in
            # a time range, every region".
            models.UniqueConstraint(
                fields=["monitor", "resolution", "bucket", "region"],
                name="tickrollup_unique_bucket",
            ),
        ]
        indexes = [
            # Retention deletes old buckets of every monitor; rows arrive in
            # time order, so a block-range index is a few pages, not a
            # B-tree as large as the table's key.
            BrinIndex(fields=["bucket"], name="tickrollup_bucket_brin"),
        ]

    def __str__(self) -> str:
        return f"{self.monitor_id}@{self.region_id} {self.resolution} {self.bucket}"


class IncidentStatus(models.TextChoices):
    OPEN = "open"
    RESOLVED = "resolved"
    # Closed because its monitor was paused: nobody knows whether the target
    # recovered, so no recovery alert is sent.
    PAUSED = "paused"


class Incident(models.Model):
    monitor = models.ForeignKey(
        Monitor, on_delete=models.CASCADE, related_name="incidents"
    )
    status = models.CharField(
        max_length=10, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    started_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    cause = models.CharField(max_length=500, blank=True, default="")
    # Evidence: the failing tick per region at opening, regions, error class.
    details = models.JSONField(default=dict, blank=True)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    # A person took it on: reminders and escalation stop. By a user, or
    # through the signed link in an alert by someone who may have no account
    # (then only the name they gave is kept).
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    acknowledged_by_name = models.CharField(max_length=150, blank=True, default="")
    ack_note = models.CharField(max_length=1000, blank=True, default="")
    # Resolved by a person rather than by recovering checks.
    resolved_by_hand = models.BooleanField(default=False)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    resolve_note = models.CharField(max_length=1000, blank=True, default="")
    # Opened while the monitor's parent (``depends_on``) had an open
    # incident, ``suppressed_by``: the parent's outage explains it, so it
    # writes no alerts (opened, reminders, resolved) and the parent's
    # incident lists it. Stays suppressed if the parent recovers first: it
    # began as the parent's outage, and its alerts would arrive out of the
    # blue halfway through.
    suppressed = models.BooleanField(default=False)
    suppressed_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="suppressed_incidents",
    )

    class Meta:
        ordering = ("-started_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["monitor"],
                condition=Q(status="open"),
                name="incident_one_open_per_monitor",
            ),
        ]
        indexes = [
            models.Index(
                fields=["monitor", "-started_at"], name="incident_monitor_idx"
            ),
            # The incident machine's per-batch look for a recent resolve by
            # hand (monitors/incidents.py): few rows, so a small index.
            models.Index(
                fields=["monitor", "resolved_at"],
                name="incident_by_hand_idx",
                condition=Q(resolved_by_hand=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Incident {self.pk} on {self.monitor_id} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("dashboard:incident", args=[self.pk])

    @property
    def acknowledger(self) -> str:
        """Who acknowledged, as the timeline and alerts name them."""
        if self.acknowledged_by is not None:
            return self.acknowledged_by.get_username()
        return self.acknowledged_by_name or "someone"

    @property
    def resolver(self) -> str:
        if self.resolved_by is not None:
            return self.resolved_by.get_username()
        return "someone"

    @property
    def duration_seconds(self) -> int | None:
        end = self.resolved_at or timezone.now()
        return int((end - self.started_at).total_seconds())


class IncidentUpdateStatus(models.TextChoices):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class IncidentUpdate(models.Model):
    """What a person says about an incident while it runs: shown on the
    incident page and the status pages, and sent to their subscribers.

    The status is the person's word, not the incident's state: "resolved"
    here does not close the incident (the checks do that)."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="updates"
    )
    status = models.CharField(max_length=16, choices=IncidentUpdateStatus.choices)
    body = models.TextField(max_length=5000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(
                fields=["incident", "-created_at"], name="incident_update_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.status} on incident {self.incident_id}"


class MonitorPause(models.Model):
    """A span during which a monitor was paused (open while ``ended_at`` is
    null). Uptime leaves these spans out: nothing was checked."""

    monitor = models.ForeignKey(
        Monitor, on_delete=models.CASCADE, related_name="pauses"
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-started_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["monitor"],
                condition=Q(ended_at__isnull=True),
                name="monitorpause_one_open_per_monitor",
            ),
        ]
        indexes = [
            models.Index(fields=["monitor", "started_at"], name="pause_monitor_idx"),
        ]

    def __str__(self) -> str:
        return f"Pause of {self.monitor_id} from {self.started_at:%Y-%m-%d %H:%M}"


class Recurrence(models.TextChoices):
    NONE = "", "Once"
    WEEKLY = "weekly", "Weekly"


class Weekday(models.IntegerChoices):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


class MaintenanceWindow(models.Model):
    """Planned work: while a window is active, checks run and are stored, but
    incidents do not open and no alerts go out; uptime leaves it out.

    Once: from ``starts_at`` to ``ends_at``. Weekly: on each of ``weekdays``
    (0 = Monday, UTC) from the date of ``starts_at`` on, at its time of day,
    for ``ends_at - starts_at``. No monitors means every monitor of the
    project, including ones added later. The rules are in
    ``monitors.maintenance``.
    """

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="maintenance_windows"
    )
    monitors = models.ManyToManyField(
        Monitor, related_name="maintenance_windows", blank=True
    )
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    recurrence = models.CharField(
        max_length=10, choices=Recurrence.choices, default=Recurrence.NONE, blank=True
    )
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(choices=Weekday.choices),
        default=list,
        blank=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Set per request by the dashboard's list: the occurrence in force now.
    current: tuple[datetime, datetime] | None

    class Meta:
        ordering = ("starts_at", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="maintenance_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(
                fields=["project", "starts_at"], name="maintenance_project_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    @property
    def weekday_names(self) -> str:
        return ", ".join(Weekday(d).label[:3] for d in sorted(self.weekdays))

    def occurrence_at(self, moment: datetime) -> tuple[datetime, datetime] | None:
        """The occurrence (start, end) that covers ``moment``, if any."""
        found = self.occurrences(moment, moment + timedelta(microseconds=1))
        return found[-1] if found else None

    def occurrences(
        self, since: datetime, until: datetime
    ) -> list[tuple[datetime, datetime]]:
        """Every occurrence overlapping [since, until), oldest first."""
        if self.recurrence != Recurrence.WEEKLY:
            if self.starts_at < until and self.ends_at > since:
                return [(self.starts_at, self.ends_at)]
            return []
        duration = self.duration
        first = self.starts_at.astimezone(UTC)
        days = set(self.weekdays)
        day = max(first.date(), (since - duration).astimezone(UTC).date())
        out = []
        while day <= until.astimezone(UTC).date():
            start = datetime.combine(day, first.timetz())
            if day.weekday() in days and start + duration > since and start < until:
                out.append((start, start + duration))
            day += timedelta(days=1)
        return out


class WorkerHeartbeat(models.Model):
    """A check worker's sign of life, one row per (worker, region).

    ``last_seen_at`` comes from a small thread in the worker every few
    seconds; ``last_batch_at`` and ``last_lag_ms`` from the runner, once per
    batch: how late the batch started after its slot.
    """

    worker = models.CharField(max_length=200)
    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, related_name="heartbeats"
    )
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    last_batch_at = models.DateTimeField(null=True, blank=True)
    last_lag_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ("region", "worker")
        constraints = [
            models.UniqueConstraint(
                fields=["worker", "region"], name="worker_heartbeat_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.worker} in {self.region_id}"


class RegionHealthEvent(models.Model):
    """One row per change of a region's health (healthy -> unhealthy and
    back): the operator alert's outbox record, written in the transaction
    that records the change."""

    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, related_name="health_events"
    )
    healthy = models.BooleanField()
    reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        state = "healthy" if self.healthy else "unhealthy"
        return f"{self.region_id} {state} at {self.created_at:%Y-%m-%d %H:%M:%S}"
