"""Secret tokens we hand out once and keep only as a hash (API keys,
invitation links)."""

from __future__ import annotations

import hashlib
import secrets


def token_new(prefix: str = "") -> str:
    """A new secret: 256 random bits, URL-safe, after ``prefix``."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(raw: str) -> str:
    """What is stored instead of the token. A plain hash is enough: the token
    is 256 random bits, nothing to brute-force, and a slow hash would cost
    every request that presents one."""
    return hashlib.sha256(raw.encode()).hexdigest()
