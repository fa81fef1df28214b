"""Create the configured PostgreSQL database when it does not exist yet.

Django's ``migrate`` needs the database to exist already; a fresh PostgreSQL
only has ``postgres``. ``make run`` creates the development database first,
so a new machine needs no manual ``createdb``.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import errors, sql

# The server's own maintenance database, present on every cluster: the one to
# connect to while the target database does not exist yet.
MAINTENANCE_DB = "postgres"


def _conninfo(settings_dict: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"dbname": MAINTENANCE_DB}
    for key, param in (
        ("HOST", "host"),
        ("PORT", "port"),
        ("USER", "user"),
        ("PASSWORD", "password"),
    ):
        if settings_dict.get(key):
            params[param] = settings_dict[key]
    # dj-database-url puts ?sslmode=... into OPTIONS; the other OPTIONS are
    # Django's own and mean nothing to libpq.
    sslmode = (settings_dict.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        params["sslmode"] = sslmode
    return params


def database_create(*, settings_dict: dict[str, Any]) -> bool:
    """Create ``settings_dict["NAME"]``; False when it already exists.

    Raises ``psycopg.OperationalError`` when the server cannot be reached.
    """
    name = str(settings_dict["NAME"])
    # CREATE DATABASE cannot run inside a transaction block.
    with psycopg.connect(**_conninfo(settings_dict), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists:
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except errors.DuplicateDatabase:
            # Another process created it between our look and our create.
            return False
    return True
