"""The ``monitors`` section: validated by the API's serializer, written by
``monitors.services`` (quotas, roles and the re-check rules live there).

``escalation_policy`` names a policy (the ``escalation_policies`` section
goes first); ``depends_on`` names another monitor of the document, which
may come later in it: dependencies are written by ``finish`` once every
monitor exists, after the changed ones are cleared, so no write in between
sees a cycle the document does not have."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db.models import Field

from ..api.serializers import MonitorSerializer
from ..checks import REGISTRY
from ..checks.base import COMMON
from ..models import Monitor, Project, Region
from ..secrets import secrets_kept_on_url_change
from ..services import monitor_create, monitor_delete, monitor_update
from .document import Context, register_section, validation_error
from .errors import ConfigError
from .refs import reference

# Settings every kind has, besides the name, kind and target.
BASE_FIELDS = (
    "interval_seconds",
    "timeout_seconds",
    "failure_threshold",
    "recovery_threshold",
    "region_quorum",
    "enabled",
    "show_on_status_page",
)
SECRETS = ("auth_password", "http_headers")
# Names of other objects, not settings the serializer reads.
REFERENCES = ("escalation_policy", "depends_on")


def _kind_options(kind: str) -> tuple[str, ...]:
    declared = REGISTRY.get(kind)
    options = (*COMMON, *(declared.options if declared else ()))
    return tuple(option.name for option in options)


def _all_fields() -> set[str]:
    names = {"name", "kind", "url", *BASE_FIELDS, "regions", "channels", *REFERENCES}
    for kind in REGISTRY:
        names.update(_kind_options(kind))
    return names


def _model_default(name: str) -> Any:
    return cast(Field, Monitor._meta.get_field(name)).get_default()


def _default_timeout(interval: Any) -> float:
    """As the API: 10 s, or less when the interval is shorter."""
    if not isinstance(interval, int | float):
        interval = 60
    return max(min(10.0, interval * 0.8), 0.1)


def _defaults(kind: str, interval: Any) -> dict[str, Any]:
    """What an omitted field means: the create defaults of the kind."""
    values = {name: _model_default(name) for name in BASE_FIELDS}
    values["timeout_seconds"] = _default_timeout(interval)
    declared = REGISTRY.get(kind)
    if declared is not None and declared.passive:
        values["failure_threshold"] = 1
    for option in (*COMMON, *(declared.options if declared else ())):
        values[option.name] = (
            dict(option.default) if isinstance(option.default, dict) else option.default
        )
    return values


def _active_region_codes() -> list[str]:
    return list(Region.objects.filter(active=True).values_list("code", flat=True))


def _region_codes(kind: str, codes: list[str]) -> list[str]:
    """A passive kind (heartbeat) runs in one region, the first by code, as
    the services store it."""
    codes = sorted(codes)
    declared = REGISTRY.get(kind)
    return codes[:1] if declared is not None and declared.passive else codes


class MonitorsSection:
    key = "monitors"
    order = 20  # after channels: a monitor names its channels
    secret_fields = frozenset(SECRETS)

    def stored(self, project: Project) -> dict[str, Monitor]:
        found: dict[str, Monitor] = {}
        for monitor in (
            Monitor.objects.filter(project=project)
            .select_related("escalation_policy", "depends_on")
            .prefetch_related("regions", "channels")
            .order_by("id")
        ):
            found.setdefault(monitor.name, monitor)
        return found

    def export(self, project: Project) -> list[dict[str, Any]]:
        monitors = list(
            Monitor.objects.filter(project=project)
            .select_related("escalation_policy", "depends_on")
            .prefetch_related("regions", "channels")
            .order_by("name", "id")
        )
        names = [m.name for m in monitors]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError(
                "monitors",
                f"More than one monitor is named {twice[0]!r}; names are the "
                "keys of the document: rename all but one first.",
            )
        active = sorted(_active_region_codes())
        return [self._export_one(monitor, active) for monitor in monitors]

    def _export_one(self, monitor: Monitor, active: list[str]) -> dict[str, Any]:
        item: dict[str, Any] = {
            "name": monitor.name,
            "kind": monitor.kind,
            "url": monitor.url,
        }
        current = self.current(monitor)
        for name, default in _defaults(monitor.kind, monitor.interval_seconds).items():
            if name not in SECRETS and current[name] != default:
                item[name] = current[name]
        if monitor.auth_password:
            item["auth_password"] = reference("monitor", monitor.name, "password")
        if monitor.http_headers:
            item["http_headers"] = {
                header: reference("monitor", monitor.name, "header", header)
                for header in monitor.http_headers
            }
        if current["regions"] != _region_codes(monitor.kind, active):
            item["regions"] = current["regions"]
        if current["channels"]:
            item["channels"] = current["channels"]
        for name in REFERENCES:
            if current[name] is not None:
                item[name] = current[name]
        return item

    def current(self, obj: Monitor) -> dict[str, Any]:
        values: dict[str, Any] = {
            "name": obj.name,
            "kind": obj.kind,
            "url": obj.url,
            **{name: getattr(obj, name) for name in BASE_FIELDS},
            **{name: getattr(obj, name) for name in _kind_options(obj.kind)},
        }
        values["regions"] = sorted(r.code for r in obj.regions.all())
        values["channels"] = sorted(c.name for c in obj.channels.all())
        policy = obj.escalation_policy
        values["escalation_policy"] = policy.name if policy is not None else None
        parent = obj.depends_on
        values["depends_on"] = parent.name if parent is not None else None
        return values

    def _secrets(
        self,
        item: Mapping[str, Any],
        *,
        stored: Monitor | None,
        path: str,
        ctx: Context,
    ) -> dict[str, Any]:
        """The password and header values in clear: references keep the
        stored ones only while the URL keeps its origin (monitors.secrets)."""
        keep = stored is not None and secrets_kept_on_url_change(
            stored.url, str(item.get("url") or "")
        )
        stored_headers = dict(stored.http_headers or {}) if stored and keep else {}
        password = ctx.secrets.resolve(
            item.get("auth_password") or "",
            stored=stored.auth_password if stored is not None and keep else None,
            path=f"{path}.auth_password",
        )
        headers = item.get("http_headers") or {}
        if not isinstance(headers, Mapping):
            raise ConfigError(f"{path}.http_headers", 'A mapping: {"Name": "value"}.')
        resolved = {
            str(name): ctx.secrets.resolve(
                value,
                stored=stored_headers.get(str(name)),
                path=f"{path}.http_headers.{name}",
            )
            for name, value in headers.items()
        }
        return {"auth_password": password, "http_headers": resolved}

    def _channels(self, item: Mapping[str, Any], path: str, ctx: Context) -> list[str]:
        names = item.get("channels") or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"{path}.channels", "A list of channel names.")
        known = ctx.names.get("channels", set())
        for index, name in enumerate(names):
            if name not in known:
                raise ConfigError(f"{path}.channels[{index}]", f"No channel {name!r}.")
        return sorted(set(names))

    def _named(
        self, item: Mapping[str, Any], field: str, section: str, path: str, ctx: Context
    ) -> str | None:
        """A reference to one object of ``section`` by name, or None."""
        name = item.get(field)
        if name is None:
            return None
        if not isinstance(name, str):
            raise ConfigError(f"{path}.{field}", "A name, or null.")
        if name not in ctx.names.get(section, set()):
            noun = "escalation policy" if field == "escalation_policy" else "monitor"
            raise ConfigError(f"{path}.{field}", f"No {noun} {name!r}.")
        return name

    def _depends_on(
        self, item: Mapping[str, Any], path: str, ctx: Context
    ) -> str | None:
        """The parent's name; a chain of the document's dependencies that
        comes back to this monitor is an error that spells the cycle."""
        parent = self._named(item, "depends_on", "monitors", path, ctx)
        if parent is None:
            return None
        name = str(item["name"])
        if parent == name:
            raise ConfigError(
                f"{path}.depends_on", "A monitor cannot depend on itself."
            )
        parents = {
            str(other.get("name")): other.get("depends_on")
            for other in ctx.document.get("monitors") or []
            if isinstance(other, Mapping)
        }
        chain = [name, parent]
        while (following := parents.get(chain[-1])) is not None:
            if following == name:
                cycle = " -> ".join([*chain, name])
                raise ConfigError(f"{path}.depends_on", f"A dependency cycle: {cycle}.")
            if not isinstance(following, str) or following in chain:
                break  # that item's own error, or a cycle not through this one
            chain.append(following)
        return parent

    def desired(
        self,
        item: Mapping[str, Any],
        *,
        stored: Monitor | None,
        path: str,
        ctx: Context,
    ) -> dict[str, Any]:
        unknown = sorted(set(item) - _all_fields())
        if unknown:
            raise ConfigError(f"{path}.{unknown[0]}", "Not a monitor setting.")
        kind = item.get("kind") or "http"
        wanted_kind_fields = {"kind", "url", *BASE_FIELDS, *_kind_options(str(kind))}
        other = sorted(set(item) & (_all_fields() - wanted_kind_fields) - {"name"})
        other = [
            name for name in other if name not in ("regions", "channels", *REFERENCES)
        ]
        if other:
            raise ConfigError(f"{path}.{other[0]}", f"Not an option of {kind} checks.")
        data: dict[str, Any] = {
            **_defaults(str(kind), item.get("interval_seconds", 60)),
            "regions": _active_region_codes(),
            **{k: v for k, v in item.items() if k not in ("channels", *REFERENCES)},
            **self._secrets(item, stored=stored, path=path, ctx=ctx),
        }
        data["kind"] = kind
        data.setdefault("url", "")
        channels = self._channels(item, path, ctx)
        serializer = MonitorSerializer(instance=stored, data=data, context={})
        if not serializer.is_valid():
            name, errors = next(iter(serializer.errors.items()))
            message = (
                " ".join(str(e) for e in errors) if isinstance(errors, list) else errors
            )
            where = path if name == "non_field_errors" else f"{path}.{name}"
            raise ConfigError(where, str(message))
        valid = serializer.validated_data
        wanted = {
            name: valid[name]
            for name in ("name", *sorted(wanted_kind_fields))
            if name in valid
        }
        wanted["regions"] = _region_codes(
            str(kind), [region.code for region in valid["regions"]]
        )
        if REGISTRY[str(kind)].passive:
            wanted["region_quorum"] = None
        wanted["channels"] = channels
        wanted["escalation_policy"] = self._named(
            item, "escalation_policy", "escalation_policies", path, ctx
        )
        wanted["depends_on"] = self._depends_on(item, path, ctx)
        return wanted

    def _relations(self, values: dict[str, Any], ctx: Context) -> dict[str, Any]:
        fields = dict(values)
        if "regions" in fields:
            fields["regions"] = list(Region.objects.filter(code__in=fields["regions"]))
        if "channels" in fields:
            fields["channels"] = ctx.objects("channels", fields["channels"])
        if "escalation_policy" in fields:
            name = fields["escalation_policy"]
            found = ctx.objects("escalation_policies", [name]) if name else []
            fields["escalation_policy"] = found[0] if found else None
        return fields

    def _defer(self, name: str, values: dict[str, Any], ctx: Context) -> None:
        """Hold the dependency back for ``finish``: its parent may not exist
        yet."""
        if "depends_on" in values:
            pending = ctx.deferred.setdefault(self.key, {})
            pending[name] = values.pop("depends_on")

    def create(self, values: dict[str, Any], ctx: Context) -> None:
        values = dict(values)
        self._defer(values["name"], values, ctx)
        monitor_create(
            user=ctx.user, fields=self._relations(values, ctx), project=ctx.project
        )

    def update(self, obj: Monitor, changes: dict[str, Any], ctx: Context) -> None:
        changes = dict(changes)
        self._defer(changes.get("name", obj.name), changes, ctx)
        if changes:
            monitor_update(
                user=ctx.user, monitor=obj, fields=self._relations(changes, ctx)
            )

    def finish(self, ctx: Context) -> None:
        """Write the held-back dependencies: first clear the ones that
        change, then set the new ones, so every state in between is a part
        of the document's graph (which has no cycle)."""
        pending: dict[str, str | None] = ctx.deferred.pop(self.key, {})
        if not pending:
            return
        paths = {
            str(item.get("name")): f"{self.key}[{index}]"
            for index, item in enumerate(ctx.document.get(self.key) or [])
        }
        stored = self.stored(ctx.project)
        for name in pending:
            if stored[name].depends_on_id is not None:
                self._set_parent(stored[name], None, paths[name], ctx)
        stored = self.stored(ctx.project)
        for name, parent in pending.items():
            if parent is not None:
                self._set_parent(stored[name], stored[parent], paths[name], ctx)

    def _set_parent(
        self, monitor: Monitor, parent: Monitor | None, path: str, ctx: Context
    ) -> None:
        try:
            monitor_update(
                user=ctx.user, monitor=monitor, fields={"depends_on": parent}
            )
        except ValidationError as exc:
            raise validation_error(path, exc) from None

    def delete(self, obj: Monitor, ctx: Context) -> None:
        monitor_delete(user=ctx.user, monitor=obj)


register_section(MonitorsSection())
