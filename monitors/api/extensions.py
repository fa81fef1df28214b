"""Fields other apps contribute to the monitor API.

``monitors`` never imports the apps built on it, yet the monitor API shows
some of their data (``alerts`` adds ``channels``). Such an app registers a
field factory once, from its ``AppConfig.ready()``::

    from monitors.api.extensions import register_monitor_field

    register_monitor_field("channels", channels_field)

Every ``MonitorSerializer`` then calls ``channels_field(request)`` (the
request is None outside one) and serves the returned DRF field under that
name, for reading and writing. The factory scopes any queryset to the
request's user. A writable field must name a relation or attribute of
``Monitor`` that the serializer's save can assign, e.g. a many-to-many
whose other end the app owns.
"""

from __future__ import annotations

from collections.abc import Callable

from rest_framework import serializers
from rest_framework.request import Request

MonitorFieldFactory = Callable[[Request | None], serializers.Field]

_FIELDS: dict[str, MonitorFieldFactory] = {}


def register_monitor_field(name: str, factory: MonitorFieldFactory) -> None:
    """Add (or replace: ready() may run twice in tests) the field ``name``."""
    _FIELDS[name] = factory


def contributed_fields(request: Request | None) -> dict[str, serializers.Field]:
    """A fresh field per registered name, for one serializer instance."""
    return {name: factory(request) for name, factory in _FIELDS.items()}
