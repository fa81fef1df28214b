"""A status page on its own domain: a request whose Host is a page's
``custom_domain`` is answered by ``statuspages.domain_urls`` (the page at
``/``) instead of the project's URLs.

The domain must reach this process (DNS and the reverse proxy pass it
through with its Host header) and be in ``ALLOWED_HOSTS``: Django refuses
other hosts before any view runs. Static files keep their usual paths.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port

from .selectors import custom_domains


class CustomDomainMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The raw header, not get_host(): a host outside ALLOWED_HOSTS is
        # refused later, when a view asks, as for any other request.
        host, _port = split_domain_port(request.META.get("HTTP_HOST", ""))
        if host:
            slug = custom_domains().get(host.lower())
            if slug is not None:
                request.status_page_slug = slug  # type: ignore[attr-defined]  # read by domain_urls
                request.urlconf = "statuspages.domain_urls"
        return self.get_response(request)
