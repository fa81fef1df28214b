"""What a request gets when the server fails: never an HTML 500 from the API.

Django calls ``server_error`` (``handler500``) for any exception a view or a
middleware let through, while that exception is being handled, so it can
tell a dependency outage from a bug. The database or the broker being out
of reach is an outage: the API answers a JSON 503 with ``Retry-After``, a
dashboard page a plain 503 page rendered without touching either (no
context processors, no session). Anything else stays a 500, in JSON for
the API.
"""

from __future__ import annotations

import sys

import kombu.exceptions
import redis
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults

# Exceptions that mean "a service we depend on is out of reach", not "a bug".
UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    kombu.exceptions.OperationalError,
    redis.ConnectionError,
    redis.TimeoutError,
)
RETRY_AFTER_SECONDS = 30
API_PREFIX = "/api/"


def is_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is an outage."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, UNAVAILABLE):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def server_error(request: HttpRequest) -> HttpResponse:
    unavailable = is_unavailable(sys.exception())
    if request.path.startswith(API_PREFIX):
        if unavailable:
            response: HttpResponse = JsonResponse(
                {
                    "detail": "Service temporarily unavailable: the database "
                    "or the task queue cannot be reached. Try again shortly."
                },
                status=503,
            )
        else:
            response = JsonResponse({"detail": "Internal server error."}, status=500)
    elif unavailable:
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    else:
        return defaults.server_error(request)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
    return response
