"""The URLs a status page answers on its own domain (``middleware``): the
page at ``/``, nothing of the dashboard, the API or the admin."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.urls import path

from . import views


def _on_domain(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    # wraps: keeps the view's marks (csrf_exempt on unsubscribe).
    @wraps(view)
    def wrapped(request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
        return view(request, slug=request.status_page_slug, **kwargs)  # type: ignore[attr-defined]  # set by the middleware

    return wrapped


urlpatterns = [
    path("", _on_domain(views.page_view)),
    path("feed.rss", _on_domain(views.rss_feed)),
    path("feed.atom", _on_domain(views.atom_feed)),
    path("subscribe/", _on_domain(views.subscribe)),
    path("subscribe/confirm/<str:token>/", _on_domain(views.confirm)),
    path("unsubscribe/<str:token>/", _on_domain(views.unsubscribe)),
]
