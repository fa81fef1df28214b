"""The one write path for status pages (dashboard, API, admin) and their
subscribers.

A page's layout is a list of named groups, each with monitors of the page's
project in order (``[{"name": ..., "monitors": [{"monitor": m,
"display_name": ""}]}]``); saving a layout replaces the old one. Pages are
changed by the project's admins and owners, as the project settings are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from alerts.models import generate_secret
from alerts.services.channels import channel_validate
from monitors.models import Monitor, Project, Role
from monitors.projects import project_require

from .models import (
    StatusPage,
    StatusPageGroup,
    StatusPageMonitor,
    StatusPageSubscriber,
    SubscriberKind,
)

PAGE_FIELDS = ("slug", "title", "logo_url", "custom_domain", "public", "show_details")
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)
_SLUG = re.compile(r"^[-a-z0-9_]{1,60}$")

Layout = Sequence[Mapping[str, Any]]


def _require_admin(*, user: Any, project: Project) -> None:
    if getattr(user, "is_superuser", False):
        return
    project_require(user=user, project=project, min_role=Role.ADMIN)


def status_page_errors(
    values: Mapping[str, Any], *, page: StatusPage
) -> dict[str, str]:
    errors: dict[str, str] = {}
    slug = str(values.get("slug") or "").strip().lower()
    if not _SLUG.match(slug):
        errors["slug"] = "Letters, digits, - and _ only, at most 60."
    elif StatusPage.objects.filter(slug=slug).exclude(pk=page.pk).exists():
        errors["slug"] = "Another status page has this slug."
    if not str(values.get("title") or "").strip():
        errors["title"] = "Give the page a title."
    logo = str(values.get("logo_url") or "").strip()
    if logo and not logo.startswith("https://"):
        errors["logo_url"] = "An https:// URL of an image."
    domain = str(values.get("custom_domain") or "").strip().lower().rstrip(".")
    if domain:
        if not _DOMAIN.match(domain):
            errors["custom_domain"] = "A host name such as status.example.com."
        elif (
            StatusPage.objects.filter(custom_domain=domain).exclude(pk=page.pk).exists()
        ):
            errors["custom_domain"] = "Another status page has this domain."
    return errors


def _layout_errors(layout: Layout, project: Project) -> dict[str, str]:
    for group in layout:
        if not str(group.get("name") or "").strip():
            return {"groups": "Every group needs a name."}
        for entry in group.get("monitors") or []:
            monitor = entry.get("monitor")
            if not isinstance(monitor, Monitor) or monitor.project_id != project.pk:
                return {"groups": "Only monitors of the page's project."}
    return {}


def _save(
    page: StatusPage, values: Mapping[str, Any], layout: Layout | None
) -> StatusPage:
    errors = status_page_errors(values, page=page)
    if layout is not None:
        errors.update(_layout_errors(layout, page.project))
    if errors:
        raise ValidationError(errors)
    page.slug = str(values["slug"]).strip().lower()
    page.title = str(values["title"]).strip()[:200]
    page.logo_url = str(values.get("logo_url") or "").strip()
    domain = str(values.get("custom_domain") or "").strip().lower().rstrip(".")
    page.custom_domain = domain or None
    page.public = bool(values.get("public", True))
    page.show_details = bool(values.get("show_details", False))
    try:
        with transaction.atomic():
            page.save()
            if layout is not None:
                _save_layout(page, layout)
    except IntegrityError:  # a concurrent save took the slug or domain
        raise ValidationError(
            {"slug": "Another status page has this slug or domain."}
        ) from None
    from .selectors import forget_page

    # Now, and again after commit: a visitor between the two may have
    # cached the page as it was.
    forget_page(page)
    transaction.on_commit(lambda: forget_page(page))
    return page


def _save_layout(page: StatusPage, layout: Layout) -> None:
    page.groups.all().delete()
    for g_order, group in enumerate(layout):
        row = StatusPageGroup.objects.create(
            page=page, name=str(group["name"]).strip()[:100], order=g_order
        )
        seen: set[int] = set()
        entries = []
        for m_order, entry in enumerate(group.get("monitors") or []):
            monitor = entry["monitor"]
            if monitor.pk in seen:
                continue
            seen.add(monitor.pk)
            entries.append(
                StatusPageMonitor(
                    group=row,
                    monitor=monitor,
                    order=m_order,
                    display_name=str(entry.get("display_name") or "").strip()[:200],
                )
            )
        StatusPageMonitor.objects.bulk_create(entries)


def status_page_layout(page: StatusPage) -> list[dict[str, Any]]:
    """The stored layout, in the shape the write path takes."""
    out = []
    for group in page.groups.prefetch_related("entries__monitor"):
        out.append(
            {
                "name": group.name,
                "monitors": [
                    {"monitor": e.monitor, "display_name": e.display_name}
                    for e in group.entries.all()
                ],
            }
        )
    return out


def status_page_create(
    *,
    user: Any,
    project: Project,
    fields: Mapping[str, Any],
    layout: Layout | None = None,
) -> StatusPage:
    _require_admin(user=user, project=project)
    return _save(StatusPage(project=project), fields, layout or [])


def status_page_update(
    *,
    user: Any,
    page: StatusPage,
    fields: Mapping[str, Any],
    layout: Layout | None = None,
) -> StatusPage:
    """Change the given fields (the others keep their values); a layout,
    when given, replaces the stored one."""
    _require_admin(user=user, project=page.project)
    values = {name: getattr(page, name) for name in PAGE_FIELDS}
    values.update(fields)
    return _save(page, values, layout)


def status_page_delete(*, user: Any, page: StatusPage) -> None:
    _require_admin(user=user, project=page.project)
    from .selectors import forget_page

    page.delete()
    forget_page(page)


# --- subscribers -------------------------------------------------------------------

CONFIRM_SALT = "statuspages.subscriber-confirmation"
CONFIRM_MAX_AGE = timedelta(days=7)


def page_link(page: StatusPage, suffix: str = "") -> str:
    """An absolute link to a page (or below it), for mails and payloads."""
    if page.custom_domain:
        return f"https://{page.custom_domain}/{suffix}"
    return f"{settings.SITE_URL}{page.get_absolute_url()}{suffix}"


def confirmation_link(subscriber: StatusPageSubscriber) -> str:
    """Signed with a timestamp: it confirms this subscription, for a week."""
    token = signing.dumps(
        {"s": subscriber.pk, "t": subscriber.token}, salt=CONFIRM_SALT, compress=True
    )
    path = reverse(
        "statuspages:confirm",
        args=[subscriber.page.slug, token],
        urlconf=settings.ROOT_URLCONF,
    )
    return f"{settings.SITE_URL}{path}"


def unsubscribe_link(subscriber: StatusPageSubscriber) -> str:
    path = reverse(
        "statuspages:unsubscribe",
        args=[subscriber.page.slug, subscriber.token],
        urlconf=settings.ROOT_URLCONF,
    )
    return f"{settings.SITE_URL}{path}"


def subscriber_by_confirmation(
    page: StatusPage, token: str
) -> StatusPageSubscriber | None:
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(data, dict):
        return None
    pk, secret = data.get("s"), data.get("t")
    if not isinstance(pk, int) or not isinstance(secret, str):
        return None
    return StatusPageSubscriber.objects.filter(
        pk=pk, token=secret, page=page, kind=SubscriberKind.EMAIL
    ).first()


def subscriber_by_token(page: StatusPage, token: str) -> StatusPageSubscriber | None:
    return StatusPageSubscriber.objects.filter(page=page, token=token[:64]).first()


def subscriber_subscribe(
    *, page: StatusPage, kind: str, target: str, now: datetime | None = None
) -> StatusPageSubscriber:
    """Sign up an email address (it receives the confirmation mail first) or
    a webhook URL (confirmed at once; the caller shows its new secret once).

    An email address already subscribed gets nothing new, and the answer is
    the same as for a new one: the form does not tell who is subscribed. A
    webhook URL already subscribed is a ValidationError.
    """
    from .outbox import confirmation_request

    now = now or timezone.now()
    if kind not in SubscriberKind.values:
        raise ValidationError({"kind": "Email or webhook."})
    target = (target or "").strip()
    channel_validate(kind=kind, target=target, secret=None)
    if kind == SubscriberKind.EMAIL:
        target = target.lower()
    with transaction.atomic():
        existing = (
            StatusPageSubscriber.objects.select_for_update()
            .filter(page=page, kind=kind, target=target)
            .first()
        )
        if kind == SubscriberKind.WEBHOOK:
            if existing is not None:
                raise ValidationError(
                    {"target": "This URL is subscribed already; unsubscribe first."}
                )
            return StatusPageSubscriber.objects.create(
                page=page,
                kind=kind,
                target=target,
                secret=generate_secret(),
                confirmed_at=now,
            )
        if existing is not None and existing.confirmed_at is not None:
            return existing
        subscriber = existing or StatusPageSubscriber.objects.create(
            page=page, kind=kind, target=target
        )
        confirmation_request(subscriber=subscriber, now=now)
    return subscriber


def subscriber_confirm(
    *, subscriber: StatusPageSubscriber, now: datetime | None = None
) -> bool:
    """True the first time; clicking twice is fine."""
    updated = StatusPageSubscriber.objects.filter(
        pk=subscriber.pk, confirmed_at__isnull=True
    ).update(confirmed_at=now or timezone.now())
    return bool(updated)


def subscriber_unsubscribe(*, subscriber: StatusPageSubscriber) -> None:
    """Gone for good, pending messages with it."""
    subscriber.delete()


def subscribers_prune_unconfirmed(*, now: datetime | None = None) -> int:
    """Forget addresses whose confirmation link has expired unused: they
    never asked (or never finished asking) for anything."""
    cutoff = (now or timezone.now()) - CONFIRM_MAX_AGE
    deleted, _ = StatusPageSubscriber.objects.filter(
        confirmed_at__isnull=True, created_at__lt=cutoff
    ).delete()
    return deleted
