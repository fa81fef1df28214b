"""Channels: the one write path of the API, the dashboard and the admin.

Every rule about what a channel may hold lives here, so the three surfaces
only parse their input, call these functions and show the errors they raise
(``ValidationError({field: messages})``):

- the target must suit the kind (an email address; a Slack or webhook URL
  that passes the address guard, which runs again on every send; an Apprise
  URL of a scheme the guard can cover, see ``transports.apprise_url``);
- a webhook secret is a Standard Webhooks ``whsec_`` secret, generated when
  a new webhook has none, and only webhooks have one;
- the kind and the project are fixed once the channel exists;
- on an update, an empty secret, or an empty target of a Slack or webhook
  channel (whose target is never shown back in full), keeps the stored one;
- reminders repeat every 1 to 10080 minutes (a week), or not at all;
- linked monitors belong to the channel's own project;
- a project has at most ``UPTIME_QUOTA_CHANNELS`` channels (the operator, a
  superuser, is not held to it);
- an email address receives nothing until its recipient confirms it (see
  ``confirmation``); a new address starts over;
- test messages and confirmation mails a user sets off are rate-limited
  (``UPTIME_THROTTLE_CHANNEL_SENDS``) and sent by the ``alerts`` worker,
  never in the web request.
"""

from __future__ import annotations

import base64
import binascii
import random
from collections.abc import Iterable, Mapping
from typing import Any, cast

import apprise
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Field
from django.utils import timezone

from monitors.checks.options import blocked_message
from monitors.models import Monitor, Project
from monitors.quotas import QuotaExceeded, is_operator
from monitors.validators import validate_target_url
from uptime import outbound
from uptime.outbound.guard import MAX_URL_LENGTH
from uptime.throttling import CHANNEL_SENDS

from ..models import (
    CHANNEL_SETTINGS,
    SECRET_PREFIX,
    Channel,
    ChannelKind,
    Event,
    Notification,
    generate_secret,
)
from ..transports import apprise_url
from .confirmation import confirmation_nonce, confirmation_request
from .outbox import due_now, enqueue_deliveries
from .payloads import channel_test_payload

REMINDER_MINUTES_MAX = 10080  # a week

Errors = dict[str, list[str]]


class SendsThrottled(Exception):
    """The user set off too many channel messages lately (a 429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many test messages and confirmation emails in a short time "
            f"(UPTIME_THROTTLE_CHANNEL_SENDS); try again in {retry_after} s."
        )
        self.retry_after = retry_after


def _count_send(user: AbstractBaseUser | None) -> bool:
    """Count one message a user sets off; False when past the limit.
    Sends the system makes itself (no user) are not counted."""
    if user is None:
        return True
    return CHANNEL_SENDS.hit(f"user:{user.pk}")


def _require_send(user: AbstractBaseUser | None) -> None:
    if not _count_send(user):
        raise SendsThrottled(CHANNEL_SENDS.retry_after())


def _quota_check(
    *, project: Project, user: AbstractBaseUser | None, lock: bool = True
) -> None:
    """One more channel must fit ``UPTIME_QUOTA_CHANNELS``; the project row
    is locked first, so two creates at once cannot both take the last one
    (``lock=False`` for a form's early check, outside a transaction)."""
    if is_operator(user):
        return
    if lock:
        Project.objects.select_for_update().filter(pk=project.pk).exists()
    count = Channel.objects.filter(project=project).count()
    limit = settings.UPTIME_QUOTA_CHANNELS
    if count >= limit:
        raise QuotaExceeded(
            {
                "project": f"This project has {count} channels, the most it may "
                f"have (UPTIME_QUOTA_CHANNELS={limit})."
            }
        )


def _ask_confirmation(channel: Channel, user: AbstractBaseUser | None) -> None:
    """Mail the confirmation link, unless the user is past the send limit:
    the channel is saved either way and waits; they can send it again."""
    if _count_send(user):
        confirmation_request(channel=channel)


def channel_validate(*, kind: str, target: str, secret: str | None) -> None:
    """Raise ``ValidationError({field: message})`` for a bad kind, target or
    secret."""
    if kind not in ChannelKind.values:
        raise ValidationError({"kind": f"Must be one of {', '.join(ChannelKind)}."})
    target = (target or "").strip()
    if not target:
        raise ValidationError({"target": "This field is required."})
    if kind == ChannelKind.EMAIL:
        try:
            validate_email(target)
        except ValidationError:
            raise ValidationError({"target": "Enter a valid email address."}) from None
    elif kind == ChannelKind.APPRISE:
        _validate_apprise_url(target)
    else:
        try:
            # The address guard, up front: it runs again on every send.
            validate_target_url(target)
        except ValidationError as exc:
            raise ValidationError({"target": exc.messages}) from None
    if secret:
        _validate_secret(kind=kind, secret=secret)


def _validate_apprise_url(target: str) -> None:
    """A URL of one of the schemes the address guard can cover, that Apprise
    itself accepts; a self-hosted server's host passes the guard up front
    (every connection is checked again when it sends)."""
    if len(target) > MAX_URL_LENGTH:
        raise ValidationError(
            {"target": f"URL is longer than {MAX_URL_LENGTH} characters."}
        )
    scheme = apprise_url.scheme_of(target)
    if scheme not in apprise_url.SCHEMES:
        raise ValidationError(
            {
                "target": f"{apprise_url.UNSUPPORTED} Schemes: "
                f"{', '.join(sorted(apprise_url.SCHEMES))}."
            }
        )
    if not apprise.Apprise().add(target):
        raise ValidationError({"target": apprise_url.UNSUPPORTED})
    host = apprise_url.destination_host(target)
    if host is None:
        return
    try:
        outbound.check_destination(
            host, allow_private=settings.UPTIME_ALLOW_PRIVATE_TARGETS
        )
    except outbound.BlockedAddress as exc:
        raise ValidationError(
            {"target": blocked_message(host, exc.address)}, code="blocked_address"
        ) from None


def _validate_secret(*, kind: str, secret: str) -> None:
    if kind != ChannelKind.WEBHOOK:
        raise ValidationError({"secret": "Only webhook channels have a secret."})
    if not secret.startswith(SECRET_PREFIX):
        raise ValidationError(
            {"secret": f"Must start with {SECRET_PREFIX} (Standard Webhooks)."}
        )
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(
            {"secret": f"After {SECRET_PREFIX}, must be base64."}
        ) from None
    if not 24 <= len(raw) <= 64:
        raise ValidationError({"secret": "Must encode between 24 and 64 random bytes."})


def _stored(channel: Channel | None) -> dict[str, Any]:
    """The settings a change is merged into: the channel's, or the defaults."""
    if channel is None:
        values = {
            name: cast(Field, Channel._meta.get_field(name)).get_default()
            for name in CHANNEL_SETTINGS
            if name != "monitors"
        }
        return {**values, "monitors": []}
    values = {name: getattr(channel, name) for name in CHANNEL_SETTINGS}
    values["monitors"] = list(channel.monitors.all()) if channel.pk else []
    return values


def _fixed_fields_errors(
    *, channel: Channel | None, project: Project | None, values: Mapping[str, Any]
) -> Errors:
    if channel is None:
        return {}
    errors: Errors = {}
    if "kind" in values and values["kind"] != channel.kind:
        errors["kind"] = ["Cannot be changed; create a new channel instead."]
    if project is not None and project.pk != channel.project_id:
        errors["project"] = ["Cannot be changed."]
    return errors


def _keep_unchanged(channel: Channel, changes: dict[str, Any]) -> None:
    """Empty write-only values mean "keep": the form never showed them."""
    if not changes.get("secret"):
        changes.pop("secret", None)
    if channel.kind != ChannelKind.EMAIL and not (changes.get("target") or "").strip():
        changes.pop("target", None)


def _settings_errors(
    merged: Mapping[str, Any], project: Project, *, check_target: bool
) -> Errors:
    errors: Errors = {}
    if not (merged["name"] or "").strip():
        errors["name"] = ["This field is required."]
    if check_target:
        try:
            channel_validate(
                kind=merged["kind"],
                target=merged["target"],
                secret=merged["secret"] or None,
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    minutes = merged["reminder_minutes"]
    if minutes is not None and not 1 <= minutes <= REMINDER_MINUTES_MAX:
        errors["reminder_minutes"] = [
            f"Between 1 and {REMINDER_MINUTES_MAX} minutes (a week), or empty."
        ]
    foreign = sorted(m.pk for m in merged["monitors"] if m.project_id != project.pk)
    if foreign:
        errors["monitors"] = [f"Monitors {foreign} belong to another project."]
    return errors


def channel_clean(
    *,
    project: Project,
    values: Mapping[str, Any],
    channel: Channel | None = None,
    user: AbstractBaseUser | None = None,
) -> dict[str, Any]:
    """The settings a create (``channel`` None) or an update of ``channel``
    would store, from ``values`` (any of ``CHANNEL_SETTINGS``, and
    ``project``, which must be the channel's own on an update).

    Returns the values to write: on an update only those given, less the
    empty ones that mean "keep". Raises ``ValidationError({field:
    [messages]})`` naming every bad field it finds. Forms call it from
    ``clean()`` to show the errors by their fields; ``channel_create`` and
    ``channel_update`` call it again. The stored channel is read from the
    database: a ModelForm may already have changed the object it was given.
    """
    stored = None if channel is None else Channel.objects.get(pk=channel.pk)
    if stored is None:
        # A create by ``user`` must also fit the project's channel quota.
        _quota_check(project=project, user=user, lock=False)
    return _clean(project=project, values=values, stored=stored)


def _clean(
    *, project: Project, values: Mapping[str, Any], stored: Channel | None
) -> dict[str, Any]:
    unknown = set(values) - {*CHANNEL_SETTINGS, "project"}
    if unknown:
        raise TypeError(f"not channel settings: {sorted(unknown)}")
    changes = {k: v for k, v in values.items() if k in CHANNEL_SETTINGS}
    if "target" in changes:
        changes["target"] = (changes["target"] or "").strip()
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
    if "monitors" in changes:
        changes["monitors"] = list(changes["monitors"] or [])
    if stored is not None:
        _keep_unchanged(stored, changes)
    errors = _fixed_fields_errors(
        channel=stored, project=values.get("project"), values=changes
    )
    merged = {**_stored(stored), **changes}
    # The target is checked (a DNS lookup for a URL) when it is new or
    # changes, not on every edit of a name or a reminder.
    check_target = stored is None or bool({"target", "secret"} & changes.keys())
    for field, messages in _settings_errors(
        merged, project, check_target=check_target
    ).items():
        errors.setdefault(field, messages)
    if errors:
        raise ValidationError(errors)
    return changes


def channel_create(
    *,
    project: Project,
    name: str,
    kind: str,
    target: str,
    secret: str | None = None,
    monitors: Iterable[Monitor] = (),
    user: AbstractBaseUser | None = None,
    **options: Any,
) -> Channel:
    """Create a channel; a webhook without a secret gets a generated one, an
    email channel waits for its recipient's confirmation.

    ``options`` are the other ``CHANNEL_SETTINGS`` (``enabled``,
    ``notify_down``, ...); the model's defaults fill the rest. ``user`` is
    who asks: held to the quota unless a superuser, and their confirmation
    mails count towards their send limit.
    """
    values = _clean(
        project=project,
        stored=None,
        values={
            "name": name,
            "kind": kind,
            "target": target,
            "secret": secret or "",
            "monitors": monitors,
            **options,
        },
    )
    linked = values.pop("monitors", [])
    if values["kind"] == ChannelKind.WEBHOOK and not values["secret"]:
        values["secret"] = generate_secret()
    email = values["kind"] == ChannelKind.EMAIL
    # Slack and webhook URLs were handed over by whoever owns them; an
    # address is anyone's to type, so its recipient confirms first.
    values["confirmed"] = not email
    values["confirm_nonce"] = confirmation_nonce() if email else ""
    with transaction.atomic():
        _quota_check(project=project, user=user)
        channel = Channel.objects.create(project=project, **values)
        if linked:
            channel.monitors.set(linked)
        if email:
            _ask_confirmation(channel, user)
    return channel


def channel_update(
    *, channel: Channel, user: AbstractBaseUser | None = None, **changes: Any
) -> Channel:
    """Change some of a channel's settings (any of ``CHANNEL_SETTINGS``) and
    return the channel as stored. A new email address waits for its own
    confirmation, whatever the old one had."""
    with transaction.atomic():
        stored = (
            Channel.objects.select_for_update()
            .select_related("project")
            .get(pk=channel.pk)
        )
        values = _clean(project=stored.project, values=changes, stored=stored)
        linked = values.pop("monitors", None)
        readdressed = (
            stored.kind == ChannelKind.EMAIL
            and "target" in values
            and values["target"] != stored.target
        )
        if readdressed:
            values.update(confirmed=False, confirm_nonce=confirmation_nonce())
        for name, value in values.items():
            setattr(stored, name, value)
        if values:
            stored.save(update_fields=list(values))
        if linked is not None:
            stored.monitors.set(linked)
        if readdressed:
            _ask_confirmation(stored, user)
    return stored


def channel_confirmation_resend(
    *, channel: Channel, user: AbstractBaseUser | None = None
) -> int | None:
    """Mail the confirmation link again (a lost or expired mail); None when
    the channel waits for nothing. Raises SendsThrottled past the limit."""
    if not channel.awaiting_confirmation:
        return None
    _require_send(user)
    return confirmation_request(channel=channel)


def channel_delete(*, channel: Channel) -> None:
    """Delete a channel with its delivery log; its monitors stay."""
    channel.delete()


def monitor_link_default_channels(*, monitor: Monitor) -> None:
    """New monitors start linked to their project's default channels."""
    defaults = Channel.objects.filter(project_id=monitor.project_id, is_default=True)
    for channel in defaults:
        channel.monitors.add(monitor)


def channel_send_test(
    *, channel: Channel, user: AbstractBaseUser | None = None
) -> Notification:
    """Queue a test message (one attempt, no retries) for the ``alerts``
    worker and return its log row, still pending: a slow receiver must not
    hold a web thread. Raises SendsThrottled past the user's send limit."""
    _require_send(user)
    now = timezone.now()
    with transaction.atomic():
        notification = Notification.objects.create(
            channel=channel,
            event=Event.TEST,
            dedupe_key=f"test:{now.timestamp()}:{random.getrandbits(32)}",
            payload=channel_test_payload(channel_name=channel.name, now=now),
            created_at=now,
            # A person is waiting on the result: one attempt, no backoff.
            **due_now(now, retry=False),
        )
        pk = notification.pk
        transaction.on_commit(lambda: enqueue_deliveries([pk]), robust=True)
    return notification
