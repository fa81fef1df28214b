from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

# Everything is served from our own origin: no CDN, no inline script. Inline
# style attributes are allowed for server-rendered SVG charts and bars.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response


def _refuse(request: HttpRequest, status: int, field: str, text: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({field: [text]}, status=status)
    return HttpResponse(
        f"{text}\n", status=status, content_type="text/plain; charset=utf-8"
    )


class RequestLimitsMiddleware:
    """Refuses what no view should have to handle, before any view runs.

    - A body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``, by its
      Content-Length: Django checks that setting only for form posts, and
      DRF's parsers read the stream without it.
    - A NUL character in the path or a query parameter: PostgreSQL cannot
      store or compare text holding one, so it would end as a 500 wherever
      the value reaches a query (a badge key, a search, a region filter).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _refuse(request, 400, "body", "Content-Length is not a number.")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            return _refuse(
                request, 413, "body", f"The request body is larger than {limit} bytes."
            )
        if "\x00" in request.path:
            return _refuse(request, 404, "path", "No such page.")
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in v for v in values):
                field = name.replace("\x00", "") or "query"
                return _refuse(
                    request, 400, field, f"{field}: null characters are not allowed."
                )
        return self.get_response(request)
