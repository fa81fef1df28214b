"""`manage.py create_database` makes the database DATABASE_URL names."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]


def _server() -> dict[str, Any]:
    db = settings.DATABASES["default"]
    return {
        "host": db["HOST"] or "127.0.0.1",
        "port": str(db["PORT"] or 5432),
        "user": db["USER"] or "postgres",
    }


def _exists(name: str) -> bool:
    with psycopg.connect(dbname="postgres", autocommit=True, **_server()) as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
    return row is not None


def _drop(name: str) -> None:
    with psycopg.connect(dbname="postgres", autocommit=True, **_server()) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture
def fresh_name() -> Iterator[str]:
    # Derived from this run's own database name, so parallel runs on other
    # databases never race for it.
    name = f"{settings.DATABASES['default']['NAME']}_created"
    _drop(name)
    yield name
    _drop(name)


def create_database(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "uptime.settings"}
    env["DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "manage.py", "create_database"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_creates_the_missing_database_once(fresh_name: str) -> None:
    s = _server()
    url = f"postgres://{s['user']}@{s['host']}:{s['port']}/{fresh_name}"

    first = create_database(url)
    assert first.returncode == 0, first.stderr
    assert f"Created database {fresh_name!r}" in first.stdout
    assert _exists(fresh_name)

    again = create_database(url)
    assert again.returncode == 0, again.stderr
    assert f"Database {fresh_name!r}" in again.stdout
    assert "exists" in again.stdout


def test_it_names_the_server_it_cannot_reach() -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused.
    result = create_database("postgres://postgres@127.0.0.1:1/uptime_nowhere")
    assert result.returncode != 0
    assert "cannot reach PostgreSQL at 127.0.0.1:1" in result.stderr
    assert "scripts/ensure-services.sh" in result.stderr
