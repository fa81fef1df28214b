"""The ``channels`` section of a configuration document (monitors.config):
registered from ``AlertsConfig.ready()``, since monitors never imports
alerts. Validated and written by ``alerts.services`` (channel_clean,
channel_create, channel_update, channel_delete)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db.models import Field

from monitors.config.document import Context, register_section, validation_error
from monitors.config.errors import ConfigError
from monitors.config.refs import reference
from monitors.models import Project

from .models import CHANNEL_SETTINGS, Channel, ChannelKind
from .services import channel_clean, channel_create, channel_delete, channel_update

# The document's fields: the settings a person sets, less the monitors (a
# monitor lists its channels, not the other way round).
FIELDS = tuple(name for name in CHANNEL_SETTINGS if name != "monitors")
_FLAGS = ("enabled", "notify_down", "notify_up", "notify_degraded", "is_default")
# Kinds whose target is a secret: whoever has the URL can post to it (an
# Apprise URL holds the service's token or password).
SECRET_TARGETS = (ChannelKind.SLACK, ChannelKind.WEBHOOK, ChannelKind.APPRISE)


def _default(name: str) -> Any:
    return cast(Field, Channel._meta.get_field(name)).get_default()


class ChannelsSection:
    key = "channels"
    order = 10
    secret_fields = frozenset({"target", "secret"})

    def stored(self, project: Project) -> dict[str, Channel]:
        found: dict[str, Channel] = {}
        for channel in Channel.objects.filter(project=project).order_by("id"):
            found.setdefault(channel.name, channel)
        return found

    def export(self, project: Project) -> list[dict[str, Any]]:
        channels = Channel.objects.filter(project=project).order_by("name", "id")
        names = [c.name for c in channels]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError(
                "channels",
                f"More than one channel is named {twice[0]!r}; names are the "
                "keys of the document: rename all but one first.",
            )
        return [self._export_one(channel) for channel in channels]

    def _export_one(self, channel: Channel) -> dict[str, Any]:
        item: dict[str, Any] = {"name": channel.name, "kind": channel.kind}
        if channel.kind in SECRET_TARGETS:
            item["target"] = reference("channel", channel.name, "target")
        else:
            item["target"] = channel.target
        if channel.secret:
            item["secret"] = reference("channel", channel.name, "secret")
        for name in (*_FLAGS, "reminder_minutes"):
            value = getattr(channel, name)
            if value != _default(name):
                item[name] = value
        return item

    def current(self, obj: Channel) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in FIELDS}

    def _typed(self, item: Mapping[str, Any], path: str) -> None:
        for name in _FLAGS:
            if name in item and not isinstance(item[name], bool):
                raise ConfigError(f"{path}.{name}", "Must be true or false.")
        minutes = item.get("reminder_minutes")
        if minutes is not None and (
            not isinstance(minutes, int) or isinstance(minutes, bool)
        ):
            raise ConfigError(f"{path}.reminder_minutes", "A number of minutes.")
        for name in ("name", "kind", "target", "secret"):
            if name in item and not isinstance(item[name], str):
                raise ConfigError(f"{path}.{name}", "Must be a string.")

    def desired(
        self,
        item: Mapping[str, Any],
        *,
        stored: Channel | None,
        path: str,
        ctx: Context,
    ) -> dict[str, Any]:
        unknown = sorted(set(item) - set(FIELDS))
        if unknown:
            raise ConfigError(f"{path}.{unknown[0]}", "Not a channel setting.")
        self._typed(item, path)
        kind = item.get("kind")
        if stored is not None and kind != stored.kind:
            raise ConfigError(
                f"{path}.kind",
                f"The channel is a {stored.kind} channel; a kind cannot change: "
                "give the new one another name.",
            )
        same = stored if stored is not None else None
        values: dict[str, Any] = {
            name: item.get(name, _default(name))
            for name in (*_FLAGS, "reminder_minutes")
        }
        values["name"] = str(item["name"]).strip()
        values["kind"] = kind
        values["target"] = ctx.secrets.resolve(
            item.get("target") or "",
            stored=same.target if same else None,
            path=f"{path}.target",
        )
        if "secret" in item:
            values["secret"] = ctx.secrets.resolve(
                item["secret"],
                stored=same.secret if same else None,
                path=f"{path}.secret",
            )
        # An omitted webhook secret keeps the stored one (a new webhook gets
        # a generated one): it is not compared.
        for name in ("name", "target", "secret"):
            limit = cast(Field, Channel._meta.get_field(name)).max_length or 0
            if not isinstance(values.get(name, ""), str):
                raise ConfigError(f"{path}.{name}", "Must be a string.")
            if len(values.get(name, "")) > limit:
                raise ConfigError(f"{path}.{name}", f"At most {limit} characters.")
        try:
            channel_clean(
                project=ctx.project, values=values, channel=stored, user=ctx.user
            )
        except ValidationError as exc:
            raise validation_error(path, exc) from None
        return values

    def create(self, values: dict[str, Any], ctx: Context) -> None:
        channel_create(project=ctx.project, user=ctx.user, **values)

    def update(self, obj: Channel, changes: dict[str, Any], ctx: Context) -> None:
        channel_update(channel=obj, user=ctx.user, **changes)

    def delete(self, obj: Channel, ctx: Context) -> None:
        channel_delete(channel=obj)


def register() -> None:
    register_section(ChannelsSection())
