"""DRF authentication and permission for dashboard-made API keys."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from monitors.projects import project_role
from uptime.throttling import wrong_credentials_counted

from .models import ApiKey
from .services import KEY_PREFIX, api_key_authenticate


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <key>``, or ``Token <key>`` for our keys.

    A ``Token`` value without our prefix is left to DRF's TokenAuthentication
    (listed after this class), so drf_create_token tokens keep working.
    """

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        parts = get_authorization_header(request).split()
        if not parts:
            return None
        keyword = parts[0].lower()
        ours = keyword == b"bearer" or (
            keyword == b"token"
            and len(parts) == 2
            and parts[1].startswith(KEY_PREFIX.encode())
        )
        if not ours:
            return None
        with wrong_credentials_counted(request):
            return self._check(parts)

    @staticmethod
    def _check(parts: list[bytes]) -> tuple[Any, ApiKey]:
        if len(parts) != 2:
            raise AuthenticationFailed("Give the key as: Authorization: Bearer <key>")
        try:
            raw = parts[1].decode()
        except UnicodeDecodeError:
            raise AuthenticationFailed("Invalid API key.") from None
        key = api_key_authenticate(raw=raw)
        if key is None:
            raise AuthenticationFailed("Invalid or revoked API key.")
        if not key.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        if (
            key.project_id is not None
            and project_role(user=key.user, project=key.project_id) is None
        ):
            # Removed from the project since the key was made.
            raise AuthenticationFailed("This key's project is no longer yours.")
        return key.user, key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApiKeyAccess(BasePermission):
    """Read-only keys may only read."""

    message = "This API key is read-only."

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if isinstance(key, ApiKey) and key.read_only:
            return request.method in SAFE_METHODS
        return True
