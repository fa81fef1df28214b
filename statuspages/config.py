"""The ``status_pages`` section of a configuration document
(monitors.config): registered from ``StatusPagesConfig.ready()``, after the
monitors its groups name. Items are keyed by ``slug`` (a page's address,
unique across the site, so a slug another project holds is an error), and
written only through ``statuspages.services``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django.db.models import Field

from monitors.config.document import Context, register_section
from monitors.config.errors import ConfigError
from monitors.models import Project

from .models import StatusPage
from .services import (
    status_page_create,
    status_page_delete,
    status_page_errors,
    status_page_update,
)

PAGE_FIELDS = ("slug", "title", "logo_url", "custom_domain", "public", "show_details")
# What an omitted field means (the model's defaults).
DEFAULTS: dict[str, Any] = {
    "logo_url": "",
    "custom_domain": None,
    "public": True,
    "show_details": False,
}
_TEXT = ("slug", "title", "logo_url", "custom_domain")


class StatusPagesSection:
    key = "status_pages"
    key_field = "slug"
    order = 40  # after monitors (and maintenance windows): groups name monitors
    secret_fields: frozenset[str] = frozenset()

    def stored(self, project: Project) -> dict[str, StatusPage]:
        return {
            page.slug: page
            for page in StatusPage.objects.filter(project=project).prefetch_related(
                "groups__entries__monitor"
            )
        }

    def export(self, project: Project) -> list[dict[str, Any]]:
        out = []
        for slug, page in sorted(self.stored(project).items()):
            current = self.current(page)
            item: dict[str, Any] = {"slug": slug, "title": current["title"]}
            for name, default in DEFAULTS.items():
                if current[name] != default:
                    item[name] = current[name]
            groups = []
            for group in current["groups"]:
                entries = []
                for entry in group["monitors"]:
                    shown = {"monitor": entry["monitor"]}
                    if entry["display_name"]:
                        shown["display_name"] = entry["display_name"]
                    entries.append(shown)
                groups.append({"name": group["name"], "monitors": entries})
            if groups:
                item["groups"] = groups
            out.append(item)
        return out

    def current(self, obj: StatusPage) -> dict[str, Any]:
        values: dict[str, Any] = {name: getattr(obj, name) for name in PAGE_FIELDS}
        values["groups"] = [
            {
                "name": group.name,
                "monitors": [
                    {"monitor": e.monitor.name, "display_name": e.display_name}
                    for e in group.entries.all()
                ],
            }
            for group in obj.groups.all()
        ]
        return values

    def _typed(self, item: Mapping[str, Any], path: str) -> None:
        unknown = sorted(set(item) - {*PAGE_FIELDS, "groups"})
        if unknown:
            raise ConfigError(f"{path}.{unknown[0]}", "Not a status page setting.")
        for name in ("public", "show_details"):
            if name in item and not isinstance(item[name], bool):
                raise ConfigError(f"{path}.{name}", "Must be true or false.")
        for name in _TEXT:
            value = item.get(name)
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"{path}.{name}", "Must be a string.")
            limit = cast(Field, StatusPage._meta.get_field(name)).max_length or 0
            if isinstance(value, str) and len(value.strip()) > limit:
                raise ConfigError(f"{path}.{name}", f"At most {limit} characters.")

    def _entry(self, entry: Any, path: str, ctx: Context) -> dict[str, str]:
        if not isinstance(entry, Mapping):
            raise ConfigError(path, "A mapping: {monitor: <name>, display_name: ...}.")
        unknown = sorted(set(entry) - {"monitor", "display_name"})
        if unknown:
            raise ConfigError(
                f"{path}.{unknown[0]}", "Not a status page entry setting."
            )
        monitor = entry.get("monitor")
        if not isinstance(monitor, str):
            raise ConfigError(f"{path}.monitor", "A monitor's name.")
        if monitor not in ctx.names.get("monitors", set()):
            raise ConfigError(f"{path}.monitor", f"No monitor {monitor!r}.")
        shown = entry.get("display_name") or ""
        if not isinstance(shown, str) or len(shown.strip()) > 200:
            raise ConfigError(f"{path}.display_name", "Text, at most 200 characters.")
        return {"monitor": monitor, "display_name": shown.strip()}

    def _groups(self, groups: Any, path: str, ctx: Context) -> list[dict[str, Any]]:
        if not isinstance(groups, list):
            raise ConfigError(path, "A list of groups: {name, monitors}.")
        out = []
        for index, group in enumerate(groups):
            where = f"{path}[{index}]"
            if not isinstance(group, Mapping):
                raise ConfigError(where, "A mapping: {name, monitors}.")
            unknown = sorted(set(group) - {"name", "monitors"})
            if unknown:
                raise ConfigError(f"{where}.{unknown[0]}", "Not a group setting.")
            name = group.get("name")
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(f"{where}.name", "Every group needs a name.")
            if len(name.strip()) > 100:
                raise ConfigError(f"{where}.name", "At most 100 characters.")
            entries = group.get("monitors") or []
            if not isinstance(entries, list):
                raise ConfigError(f"{where}.monitors", "A list of monitors.")
            read = [
                self._entry(entry, f"{where}.monitors[{i}]", ctx)
                for i, entry in enumerate(entries)
            ]
            seen: set[str] = set()
            for i, entry in enumerate(read):
                if entry["monitor"] in seen:
                    raise ConfigError(
                        f"{where}.monitors[{i}].monitor",
                        f"{entry['monitor']!r} is in this group already.",
                    )
                seen.add(entry["monitor"])
            out.append({"name": name.strip(), "monitors": read})
        return out

    def desired(
        self,
        item: Mapping[str, Any],
        *,
        stored: StatusPage | None,
        path: str,
        ctx: Context,
    ) -> dict[str, Any]:
        self._typed(item, path)
        values: dict[str, Any] = {
            **DEFAULTS,
            **{k: item[k] for k in PAGE_FIELDS if k in item},
        }
        values["slug"] = str(item["slug"])  # the key as given: no spaces
        values["title"] = str(values.get("title") or "").strip()
        values["logo_url"] = str(values["logo_url"] or "").strip()
        domain = str(values["custom_domain"] or "").strip().lower().rstrip(".")
        values["custom_domain"] = domain or None
        slug = values["slug"]
        if slug != slug.lower():
            raise ConfigError(f"{path}.slug", "Lower case: letters, digits, - and _.")
        if stored is None and StatusPage.objects.filter(slug=slug).exists():
            # Not this project's (its pages are matched by slug): the
            # address is another project's.
            raise ConfigError(
                f"{path}.slug",
                f"The slug {slug!r} is taken by another project's status page; "
                "slugs are unique across the site.",
            )
        page = stored if stored is not None else StatusPage(project=ctx.project)
        errors = status_page_errors(values, page=page)
        if errors:
            name, message = next(iter(errors.items()))
            raise ConfigError(f"{path}.{name}", message)
        values["groups"] = self._groups(item.get("groups") or [], f"{path}.groups", ctx)
        return values

    def _layout(
        self, groups: list[dict[str, Any]], ctx: Context
    ) -> list[dict[str, Any]]:
        names = sorted({e["monitor"] for g in groups for e in g["monitors"]})
        monitors = {m.name: m for m in ctx.objects("monitors", names)}
        return [
            {
                "name": group["name"],
                "monitors": [
                    {
                        "monitor": monitors[e["monitor"]],
                        "display_name": e["display_name"],
                    }
                    for e in group["monitors"]
                ],
            }
            for group in groups
        ]

    def create(self, values: dict[str, Any], ctx: Context) -> None:
        status_page_create(
            user=ctx.user,
            project=ctx.project,
            fields={name: values[name] for name in PAGE_FIELDS},
            layout=self._layout(values["groups"], ctx),
        )

    def update(self, obj: StatusPage, changes: dict[str, Any], ctx: Context) -> None:
        groups = changes.get("groups")
        status_page_update(
            user=ctx.user,
            page=obj,
            fields={k: v for k, v in changes.items() if k in PAGE_FIELDS},
            layout=self._layout(groups, ctx) if groups is not None else None,
        )

    def delete(self, obj: StatusPage, ctx: Context) -> None:
        status_page_delete(user=ctx.user, page=obj)


def register() -> None:
    register_section(StatusPagesSection())
