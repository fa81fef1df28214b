"""API keys: create, authenticate, revoke. Plain functions, no HTTP here."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from rest_framework.authtoken.models import Token

from monitors.models import Project
from monitors.projects import project_role
from uptime.tokens import token_hash, token_new

from .models import ApiKey

# Every key starts with this, so "Token <key>" can tell our keys from DRF's
# 40-hex-character tokens and a leaked key is easy to spot in a scanner.
KEY_PREFIX = "upk_"
_VISIBLE = len(KEY_PREFIX) + 6
# last_used_at is written at most this often per key: one UPDATE per API
# request would turn every GET into a write.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def api_key_create(
    *,
    user: User,
    name: str,
    project: Project | None = None,
    read_only: bool = True,
) -> tuple[ApiKey, str]:
    """A new key and its only readable copy (the caller shows it once)."""
    if project is not None and project_role(user=user, project=project) is None:
        raise PermissionDenied("Not a member of this project.")
    raw = token_new(KEY_PREFIX)
    key = ApiKey.objects.create(
        user=user,
        name=name,
        project=project,
        read_only=read_only,
        prefix=raw[:_VISIBLE],
        key_hash=token_hash(raw),
    )
    return key, raw


def api_key_authenticate(*, raw: str) -> ApiKey | None:
    """The active key for ``raw`` (recording its use), or None."""
    if not raw.startswith(KEY_PREFIX):
        return None
    key = (
        ApiKey.objects.select_related("user", "project")
        .filter(key_hash=token_hash(raw), revoked_at__isnull=True)
        .first()
    )
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_GRANULARITY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def api_key_revoke(*, key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
            revoked_at=key.revoked_at
        )


def api_keys_revoke_all(*, user: User) -> int:
    """Revoke every key of the user, and the DRF token made for scripts.

    Called when a password changes because someone may have had it: all the
    ways into the API go, not only the keys listed on the page.
    """
    revoked = ApiKey.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    tokens, _ = Token.objects.filter(user=user).delete()
    return revoked + tokens
