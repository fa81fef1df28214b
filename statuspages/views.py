"""The public side: the page, its feeds, subscribing and unsubscribing.

No login anywhere here. The page is rendered once per few seconds
(``STATUS_PAGE_CACHE_SECONDS``) and served from the cache in between; it
holds no form (no CSRF token to go stale in the cache): subscribing is its
own page. On a custom domain the same views answer at ``/``, ``/feed.atom``,
... (``statuspages.middleware``); ``base`` is the path every link starts with.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.syndication.views import Feed
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import feedgenerator, timezone
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from monitors.dashboard import views as dashboard_views
from monitors.models import Incident, IncidentStatus
from uptime.throttling import limit_posts

from . import selectors, services
from .models import StatusPage, SubscriberKind
from .throttling import SUBSCRIBE

# The page shows a logo from any https origin; everything else stays ours.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def _page(request: HttpRequest, slug: str) -> StatusPage:
    return get_object_or_404(
        StatusPage.objects.select_related("project"), slug=slug, public=True
    )


def _base(request: HttpRequest, page: StatusPage) -> str:
    if getattr(request, "status_page_slug", None) == page.slug:
        return "/"
    return page.get_absolute_url()


def page_view(request: HttpRequest, slug: str) -> HttpResponse:
    page = StatusPage.objects.filter(slug=slug, public=True).first()
    if page is None:
        # A project's own page (Project settings, one per project) lives
        # at the same address (its 404 when off); a status page with the
        # slug wins.
        return dashboard_views.status_page(request, slug)
    variant = "root" if _base(request, page) == "/" else "slug"
    key = selectors.page_cache_key(page.pk, variant)
    body = cache.get(key)
    if body is None:
        context = selectors.page_context(page)
        context["base"] = _base(request, page)
        body = render_to_string("statuspages/page.html", context, request=request)
        cache.set(key, body, settings.STATUS_PAGE_CACHE_SECONDS)
    response = HttpResponse(body)
    response["Cache-Control"] = f"public, max-age={settings.STATUS_PAGE_CACHE_SECONDS}"
    response["Content-Security-Policy"] = PAGE_CSP
    return response


# --- feeds -------------------------------------------------------------------------


class IncidentsFeed(Feed):
    """Incidents of a page's monitors (the last two weeks and open ones),
    each with its updates in the description."""

    feed_type: type[feedgenerator.SyndicationFeed] = feedgenerator.Rss201rev2Feed

    def get_object(self, request: HttpRequest, slug: str) -> StatusPage:
        page = _page(request, slug)
        page.base = _base(request, page)  # type: ignore[attr-defined]  # for link()
        return page

    def title(self, obj: StatusPage) -> str:
        return f"{obj.title}: incidents"

    def link(self, obj: StatusPage) -> str:
        return str(obj.base)  # type: ignore[attr-defined]  # set in get_object

    def description(self, obj: StatusPage) -> str:
        return f"Incidents and updates of {obj.title}."

    def items(self, obj: StatusPage) -> list[Incident]:
        incidents = selectors.page_incidents(obj, now=timezone.now())
        for incident in incidents:
            incident.link = f"{obj.base}#incident-{incident.pk}"  # type: ignore[attr-defined]  # for item_link
        return incidents

    def item_title(self, item: Incident) -> str:
        state = "resolved" if item.status == IncidentStatus.RESOLVED else "ongoing"
        return f"{item.page_name}: {state}"  # type: ignore[attr-defined]  # set by page_incidents

    def item_description(self, item: Incident) -> str:
        lines = [f"Started {item.started_at:%Y-%m-%d %H:%M} UTC."]
        if item.resolved_at:
            lines.append(f"Resolved {item.resolved_at:%Y-%m-%d %H:%M} UTC.")
        for update in item.updates.all():
            lines.append(
                f"{update.created_at:%Y-%m-%d %H:%M} UTC "
                f"{update.get_status_display()}: {update.body}"
            )
        # Plain text: the feed generator escapes it for the XML.
        return "\n".join(lines)

    def item_link(self, item: Incident) -> str:
        return str(item.link)  # type: ignore[attr-defined]  # set in items()

    def item_guid(self, item: Incident) -> str:
        return f"incident-{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: Incident) -> Any:
        return item.started_at

    def item_updateddate(self, item: Incident) -> Any:
        latest = next(iter(item.updates.all()), None)
        return max(
            [t for t in (item.started_at, item.resolved_at) if t]
            + ([latest.created_at] if latest else [])
        )


class AtomIncidentsFeed(IncidentsFeed):
    feed_type = feedgenerator.Atom1Feed

    def subtitle(self, obj: StatusPage) -> str:
        return self.description(obj)


rss_feed = cache_control(public=True, max_age=60)(IncidentsFeed())
atom_feed = cache_control(public=True, max_age=60)(AtomIncidentsFeed())


# --- subscribers -------------------------------------------------------------------


class SubscribeForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            (SubscriberKind.EMAIL, "Email"),
            (SubscriberKind.WEBHOOK, "Webhook"),
        ],
        initial=SubscriberKind.EMAIL,
        widget=forms.RadioSelect,
        label="Send updates by",
    )
    target = forms.CharField(
        max_length=2000,
        label="Email address or webhook URL",
        help_text="Email: we send a link to confirm first. Webhook: JSON "
        "POSTs signed with the secret shown once after you subscribe.",
    )


@never_cache
@limit_posts(SUBSCRIBE, fields=("target",))
@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest, slug: str) -> HttpResponse:
    page = _page(request, slug)
    form = SubscribeForm(request.POST or None)
    context: dict[str, Any] = {"page": page, "base": _base(request, page)}
    if request.method == "POST" and form.is_valid():
        try:
            subscriber = services.subscriber_subscribe(
                page=page,
                kind=form.cleaned_data["kind"],
                target=form.cleaned_data["target"],
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            context["subscriber"] = subscriber
            context["unsubscribe_url"] = services.unsubscribe_link(subscriber)
            return render(request, "statuspages/subscribed.html", context)
    context["form"] = form
    return render(
        request,
        "statuspages/subscribe.html",
        context,
        status=400 if form.errors else 200,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """GET asks, POST confirms: a mail scanner that fetches links confirms
    nothing."""
    page = _page(request, slug)
    subscriber = services.subscriber_by_confirmation(page, token)
    context: dict[str, Any] = {"page": page, "base": _base(request, page)}
    if subscriber is None:
        return render(request, "statuspages/link_invalid.html", context, status=404)
    done = subscriber.confirmed_at is not None
    if request.method == "POST" and not done:
        services.subscriber_confirm(subscriber=subscriber)
        done = True
    context.update(subscriber=subscriber, done=done)
    return render(request, "statuspages/confirm.html", context)


@never_cache
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """The link in every message. GET shows one button; POST unsubscribes.
    The POST carries no CSRF token: mail clients send it themselves for the
    one-click unsubscribe of RFC 8058 (``List-Unsubscribe-Post``), and the
    secret token in the URL is what authorises it."""
    page = _page(request, slug)
    subscriber = services.subscriber_by_token(page, token)
    context: dict[str, Any] = {"page": page, "base": _base(request, page)}
    if request.method == "POST":
        if subscriber is not None:
            services.subscriber_unsubscribe(subscriber=subscriber)
        context["done"] = True
        return render(request, "statuspages/unsubscribe.html", context)
    if subscriber is None:
        return render(request, "statuspages/link_invalid.html", context, status=404)
    context.update(subscriber=subscriber, done=False)
    return render(request, "statuspages/unsubscribe.html", context)
