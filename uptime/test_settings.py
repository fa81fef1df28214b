"""Settings for the test suite: its own PostgreSQL database and Redis db 15."""

from __future__ import annotations

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/uptime")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("UPTIME_REGIONS", "eu,us,ap")
os.environ.setdefault("UPTIME_MIN_INTERVAL_SECONDS", "1")
# Not DEBUG (tests see production behaviour), so a key must be given.
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Worker processes in end-to-end tests may point email at a loopback SMTP
# server by setting EMAIL_BACKEND (and EMAIL_HOST/EMAIL_PORT) in their env.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend"
)
STORAGES["staticfiles"]["BACKEND"] = (  # noqa: F405
    "django.contrib.staticfiles.storage.StaticFilesStorage"
)
# Rate-limit counters of the test run, apart from a dev instance's on the
# same Redis; tests/conftest.py resets them before each test.
CACHES["default"]["KEY_PREFIX"] = "uptime-test"  # noqa: F405
