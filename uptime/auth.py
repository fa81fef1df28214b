"""The signed-in user of a request, as the type the services take."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


def signed_in_user(request: HttpRequest) -> User:
    """``request.user`` where a login is required (``login_required``, DRF's
    ``IsAuthenticated``, the admin), narrowed from ``User | AnonymousUser``.

    The services act for a real user; an anonymous request that reaches one
    anyway is refused, as their role checks would refuse it.
    """
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Sign in first.")
    return user
