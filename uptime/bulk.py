"""Insert or update many rows of one model with one statement.

Django's ``bulk_update`` builds a ``CASE WHEN id = ... THEN ...`` expression
per row and field in Python; on the hot paths (the dispatcher advancing every
due monitor each second, a check batch writing each monitor's state) that cost
more CPU than the rest of the work together. ``UPDATE ... FROM unnest(...)``
sends each column as one array parameter and lets PostgreSQL join them; the
same goes for ``bulk_create``'s multi-row INSERT, whose per-value preparation
and ever-changing query text cost more than the database's work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field, Model


def _columns(objs: Sequence[Model], fields: Sequence[str]) -> list[Field]:
    meta = type(objs[0])._meta
    return [cast(Field, meta.get_field(name)) for name in fields]


def _arrays(objs: Sequence[Model], columns: Sequence[Field]) -> list[list[object]]:
    """One array parameter per column, not one parameter per value: the query
    text stays the same whatever the batch size (the driver parses it once),
    and a 500-row batch of five columns is 5 parameters instead of 2,500."""
    # The connection itself, not django.db.connection: every attribute read
    # through that proxy looks the connection up again (a thread-local
    # lookup per value, a fifth of a batch's time).
    conn = connections[DEFAULT_DB_ALIAS]
    return [
        [column.get_db_prep_value(getattr(obj, column.attname), conn) for obj in objs]
        for column in columns
    ]


def _unnest(columns: Sequence[Field]) -> str:
    quote = connection.ops.quote_name
    casts = ", ".join(f"%s::{column.cast_db_type(connection)}[]" for column in columns)
    names = ", ".join(quote(str(column.column)) for column in columns)
    return f"unnest({casts}) AS v({names})"


def insert_from_arrays(
    objs: Sequence[Model],
    fields: Sequence[str],
    *,
    ignore_conflicts: bool = False,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """``INSERT ... SELECT * FROM unnest(...)``: ``fields`` of every object,
    in one statement (the primary key from its default); with
    ``ignore_conflicts``, rows that hit a unique constraint are skipped.
    Returns the ``returning`` columns of the rows inserted."""
    if not objs:
        return []
    columns = _columns(objs, fields)
    quote = connection.ops.quote_name
    names = ", ".join(quote(str(column.column)) for column in columns)
    table = quote(type(objs[0])._meta.db_table)
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    back = f" RETURNING {', '.join(quote(c) for c in returning)}" if returning else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} "
            f"FROM {_unnest(columns)}{conflict}{back}",
            _arrays(objs, columns),
        )
        return cursor.fetchall() if returning else []


def update_from_values(objs: Sequence[Model], fields: Sequence[str]) -> int:
    """``UPDATE ... FROM unnest(...)``: ``fields`` of every object in
    ``objs`` (one model) by primary key, in one statement; returns the rows
    updated."""
    if not objs:
        return 0
    meta = type(objs[0])._meta
    assert meta.pk is not None
    columns = [meta.pk, *_columns(objs, fields)]
    quote = connection.ops.quote_name
    names = [quote(str(column.column)) for column in columns]
    assignments = ", ".join(f"{n} = v.{n}" for n in names[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "
            f"FROM {_unnest(columns)} WHERE t.{names[0]} = v.{names[0]}",
            _arrays(objs, columns),
        )
        return cursor.rowcount
