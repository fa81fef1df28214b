"""Rate limits against abuse: logins, sign-ups, password resets and the API.

Each limit is a fixed-window counter in the Django cache, which is Redis
(``REDIS_URL``): one atomic INCR per counted request, shared by every web
process, expiring with its window. The API uses them through DRF's throttle
hook; the login, sign-up and password-reset pages through ``limit_posts``.
Rates are settings (``UPTIME_THROTTLE_*``) read on each request.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from rest_framework.authentication import (
    TokenAuthentication,
    get_authorization_header,
)
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from .env import parse_rate

View = Callable[..., HttpResponseBase]
log = logging.getLogger(__name__)


def client_address(request: HttpRequest) -> str:
    """Who is asking, as far as we can tell: the socket's address, or the
    ``UPTIME_NUM_PROXIES``-th address from the right of X-Forwarded-For.

    An IPv6 client gets its whole /64, which one host usually holds: single
    addresses inside it cost nothing to change.
    """
    # get_ident reads only request.META, which a Django request has too.
    ident = BaseThrottle().get_ident(request)  # type: ignore[arg-type]  # typed for DRF's Request
    try:
        ip = ipaddress.ip_address(ident)
    except ValueError:
        return ident
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class Limit:
    """``setting`` names the rate (``10/min``); ``scope`` keeps counters apart."""

    scope: str
    setting: str

    def _window(self) -> tuple[int, int, int]:
        count, seconds = parse_rate(getattr(settings, self.setting))
        return count, seconds, int(time.time()) // seconds

    def _key(self, ident: str, window: int) -> str:
        # Hashed: user names and email addresses are not kept in Redis.
        digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
        return f"throttle:{self.scope}:{digest}:{window}"

    def exceeded(self, ident: str) -> bool:
        count, _seconds, window = self._window()
        try:
            return (cache.get(self._key(ident, window)) or 0) >= count
        except redis.RedisError as exc:
            return _unavailable(exc)

    def hit(self, ident: str) -> bool:
        """Count one request; False when it is over the limit."""
        count, seconds, window = self._window()
        key = self._key(ident, window)
        try:
            cache.add(key, 0, timeout=seconds + 1)
            try:
                used = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=seconds + 1)
                used = 1
        except redis.RedisError as exc:
            return not _unavailable(exc)
        return used <= count

    def retry_after(self) -> int:
        _count, seconds, window = self._window()
        return max(1, (window + 1) * seconds - int(time.time()))


def _unavailable(exc: Exception) -> bool:
    # Without Redis the limits are skipped, not every login turned into an
    # error: the dashboard keeps working while the broker is being fixed.
    log.warning("rate limits skipped, the cache is unavailable: %s", exc)
    return False


LOGIN = Limit("login", "UPTIME_THROTTLE_LOGIN")
SIGNUP = Limit("signup", "UPTIME_THROTTLE_SIGNUP")
PASSWORD_RESET = Limit("password-reset", "UPTIME_THROTTLE_PASSWORD_RESET")
API_AUTH = Limit("api-auth", "UPTIME_THROTTLE_API_AUTH")
API_USER = Limit("api-user", "UPTIME_THROTTLE_API_USER")
CHANNEL_SENDS = Limit("channel-sends", "UPTIME_THROTTLE_CHANNEL_SENDS")


# --- pages -------------------------------------------------------------------------


def too_many(request: HttpRequest, limit: Limit) -> HttpResponse:
    wait = limit.retry_after()
    response = render(
        request,
        "registration/throttled.html",
        {"minutes": max(1, round(wait / 60))},
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


def _idents(request: HttpRequest, fields: Iterable[str]) -> list[str]:
    idents = [f"ip:{client_address(request)}"]
    for field in fields:
        value = str(request.POST.get(field, "")).strip().lower()[:254]
        if value:
            idents.append(f"{field}:{value}")
    return idents


def limit_posts(
    limit: Limit,
    *,
    fields: Iterable[str] = (),
    count: Callable[[HttpRequest, HttpResponseBase], bool] | None = None,
) -> Callable[[View], View]:
    """Limit a page's POSTs per client address and per value of ``fields``
    (a user name, an email address: many addresses aiming at one account
    are held as well as one address trying many).

    ``count`` decides which answered POSTs use up the limit (failed logins
    only); by default every one does. Once a counter is full, POSTs get a
    429 page until its window ends.
    """
    fields = tuple(fields)

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(
            request: HttpRequest, *args: Any, **kwargs: Any
        ) -> HttpResponseBase:
            if request.method != "POST":
                return view(request, *args, **kwargs)
            idents = _idents(request, fields)
            if any(limit.exceeded(ident) for ident in idents):
                return too_many(request, limit)
            response = view(request, *args, **kwargs)
            if count is None or count(request, response):
                for ident in idents:
                    limit.hit(ident)
            return response

        return wrapped

    return decorate


def _login_failed(request: HttpRequest, response: HttpResponseBase) -> bool:
    # A failed login shows the form again; a CSRF refusal (403) is no guess.
    return response.status_code == 200 and not request.user.is_authenticated


limit_logins = limit_posts(LOGIN, fields=("username",), count=_login_failed)
limit_signups = limit_posts(SIGNUP)
limit_password_resets = limit_posts(PASSWORD_RESET, fields=("email",))


# --- API ---------------------------------------------------------------------------


@contextmanager
def wrong_credentials_counted(request: Request) -> Iterator[None]:
    """Wrong API credentials count per client address. Past
    ``UPTIME_THROTTLE_API_AUTH`` every attempt from that address is answered
    429 until the window ends, so keys cannot be guessed at the API's speed.

    Wrapped around each authentication class's check rather than run as a
    DRF throttle: DRF authenticates before it throttles, so a wrong
    credential would end as a 401 before any throttle ran.
    """
    ident = f"ip:{client_address(request)}"
    if API_AUTH.exceeded(ident):
        raise Throttled(wait=API_AUTH.retry_after())
    try:
        yield
    except AuthenticationFailed:
        API_AUTH.hit(ident)
        raise


class ThrottledTokenAuthentication(TokenAuthentication):
    """DRF's tokens, wrong ones counted (see wrong_credentials_counted)."""

    def authenticate(self, request: Request) -> Any:
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword.lower().encode():
            return None
        with wrong_credentials_counted(request):
            return super().authenticate(request)


class ApiUserThrottle(BaseThrottle):
    """Requests per signed-in user (anonymous ones are refused before this)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        user = request.user
        ident = (
            f"user:{user.pk}"
            if user and user.is_authenticated
            else f"ip:{client_address(request)}"
        )
        return API_USER.hit(ident)

    def wait(self) -> float | None:
        return float(API_USER.retry_after())
