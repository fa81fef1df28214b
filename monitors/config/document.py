"""The document, its sections, the diff and the import (see the package
docstring for the handler interface)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import yaml
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Project, Role
from ..projects import project_require
from ..quotas import is_operator
from .errors import ConfigError
from .refs import Secrets

VERSION = 1
# Shown in a diff instead of a secret's value, old or new.
SECRET_SHOWN = "<secret>"  # noqa: S105 (a placeholder, not a secret)


@dataclass
class Context:
    """What the handlers of one import share."""

    project: Project
    user: User
    secrets: Secrets
    # Per section key: the names an item may refer to (the document's own
    # items when it has the section, else the stored ones).
    names: dict[str, set[str]] = field(default_factory=dict)
    # The whole document, for a rule across items of a section (a cycle of
    # monitor dependencies).
    document: Mapping[str, Any] = field(default_factory=dict)
    # Per section key: writes a handler holds back until every item of its
    # section is written (its ``finish``).
    deferred: dict[str, Any] = field(default_factory=dict)

    def objects(self, key: str, names: list[str]) -> list[Any]:
        """The stored objects of section ``key`` with these names, read at
        apply time (after the sections applied before this one)."""
        stored = SECTIONS[key].stored(self.project)
        return [stored[name] for name in names if name in stored]


class Section(Protocol):
    """One top-level list of the document (see the package docstring)."""

    key: str
    order: int
    secret_fields: frozenset[str]

    def export(self, project: Project) -> list[dict[str, Any]]: ...

    def stored(self, project: Project) -> dict[str, Any]: ...

    def current(self, obj: Any) -> dict[str, Any]: ...

    def desired(
        self, item: Mapping[str, Any], *, stored: Any | None, path: str, ctx: Context
    ) -> dict[str, Any]: ...

    def create(self, values: dict[str, Any], ctx: Context) -> None: ...

    def update(self, obj: Any, changes: dict[str, Any], ctx: Context) -> None: ...

    def delete(self, obj: Any, ctx: Context) -> None: ...


SECTIONS: dict[str, Section] = {}


def key_field(section: Section) -> str:
    """The field that names an item: ``name``, unless the handler sets
    ``key_field`` (status pages are keyed by their site-wide slug)."""
    return str(getattr(section, "key_field", "name"))


def _finish(section: Section, ctx: Context) -> None:
    """The handler's optional ``finish(ctx)``: run once every item of its
    section is written (a dependency may name a monitor written later)."""
    finish = getattr(section, "finish", None)
    if finish is not None:
        finish(ctx)


def register_section(section: Section) -> None:
    """Add (or replace: ready() may run twice in tests) a section handler."""
    SECTIONS[section.key] = section


def sections() -> list[Section]:
    return sorted(SECTIONS.values(), key=lambda s: (s.order, s.key))


@dataclass(frozen=True)
class Change:
    section: str
    name: str
    action: str  # "create", "update" or "delete"
    # field -> (stored, wanted); secrets shown as SECRET_SHOWN.
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def describe(self) -> str:
        sign = {"create": "+", "update": "~", "delete": "-"}[self.action]
        head = f"{sign} {self.section}: {self.name}"
        if self.action != "update":
            return f"{head} ({self.action})"
        lines = [head]
        for name, (old, new) in self.fields.items():
            lines.append(f"    {name}: {_shown(old)} -> {_shown(new)}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "section": self.section,
            "name": self.name,
            "action": self.action,
        }
        if self.action == "update":
            out["fields"] = {
                name: {"from": _plain(old), "to": _plain(new)}
                for name, (old, new) in self.fields.items()
            }
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _shown(value: Any) -> str:
    return json.dumps(_plain(value), ensure_ascii=False, default=str)


@dataclass
class _Step:
    section: Section
    change: Change
    path: str
    obj: Any = None
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportResult:
    changes: list[Change]
    applied: bool

    def describe(self) -> str:
        if not self.changes:
            return "No changes."
        return "\n".join(change.describe() for change in self.changes)


# --- reading and writing documents ----------------------------------------------


def export_document(project: Project) -> dict[str, Any]:
    """The project's configuration, every secret as a reference."""
    document: dict[str, Any] = {"version": VERSION}
    for section in sections():
        document[section.key] = section.export(project)
    return document


def dump_document(document: Mapping[str, Any], fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"
    return yaml.safe_dump(
        dict(document), sort_keys=False, allow_unicode=True, default_flow_style=False
    )


def parse_document(text: str | bytes) -> dict[str, Any]:
    """A YAML or JSON document (JSON is YAML) -> its mapping."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError("", f"Not valid YAML or JSON: {exc}") from None
    except RecursionError:
        raise ConfigError("", "The document is nested too deeply.") from None
    if not isinstance(document, dict):
        raise ConfigError("", "The document must be a mapping of sections.")
    return document


# --- the import ------------------------------------------------------------------


def _check_shape(document: Mapping[str, Any]) -> None:
    version = document.get("version", VERSION)
    if version != VERSION:
        raise ConfigError("version", f"Only version {VERSION} is understood.")
    unknown = sorted(set(document) - {"version", *SECTIONS})
    if unknown:
        raise ConfigError(
            str(unknown[0]), f"Unknown section; known: {', '.join(SECTIONS)}."
        )
    for key, section in SECTIONS.items():
        items = document.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise ConfigError(key, "Must be a list.")
        seen: set[str] = set()
        named_by = key_field(section)
        for index, item in enumerate(items):
            path = f"{key}[{index}]"
            if not isinstance(item, dict):
                raise ConfigError(path, "Must be a mapping.")
            name = item.get(named_by)
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(
                    f"{path}.{named_by}", f"Every item needs a {named_by}."
                )
            if name in seen:
                raise ConfigError(f"{path}.{named_by}", f"{name!r} appears twice.")
            seen.add(name)


def _diff(
    section: Section, current: Mapping[str, Any], wanted: Mapping[str, Any]
) -> dict[str, tuple[Any, Any]]:
    changed: dict[str, tuple[Any, Any]] = {}
    for name, value in wanted.items():
        old = current.get(name)
        if old == value:
            continue
        if name in section.secret_fields:
            changed[name] = (SECRET_SHOWN, SECRET_SHOWN)
        else:
            changed[name] = (old, value)
    return changed


def _plan_section(
    section: Section, items: list[dict[str, Any]], ctx: Context, *, prune: bool
) -> tuple[list[_Step], list[_Step]]:
    """(creates and updates, deletes) for one section."""
    stored = section.stored(ctx.project)
    named_by = key_field(section)
    writes: list[_Step] = []
    for index, item in enumerate(items):
        path = f"{section.key}[{index}]"
        name = item[named_by]
        obj = stored.get(name)
        wanted = section.desired(item, stored=obj, path=path, ctx=ctx)
        if obj is None:
            change = Change(section.key, name, "create")
            writes.append(_Step(section, change, path, values=wanted))
            continue
        changed = _diff(section, section.current(obj), wanted)
        if changed:
            change = Change(section.key, name, "update", changed)
            values = {key: wanted[key] for key in changed}
            writes.append(_Step(section, change, path, obj=obj, values=values))
    deletes = []
    if prune:
        listed = {item[named_by] for item in items}
        for name, obj in stored.items():
            if name not in listed:
                change = Change(section.key, name, "delete")
                deletes.append(_Step(section, change, section.key, obj=obj))
    return writes, deletes


def _apply(step: _Step, ctx: Context) -> None:
    try:
        if step.change.action == "create":
            step.section.create(step.values, ctx)
        elif step.change.action == "update":
            step.section.update(step.obj, step.values, ctx)
        else:
            step.section.delete(step.obj, ctx)
    except ValidationError as exc:
        raise validation_error(step.path, exc) from None


def validation_error(path: str, exc: ValidationError) -> ConfigError:
    """A service's ValidationError as a ConfigError at ``path.field``."""
    if hasattr(exc, "error_dict"):
        name, errors = next(iter(exc.message_dict.items()))
        where = path if name in ("__all__", "project") else f"{path}.{name}"
        return ConfigError(where, " ".join(errors))
    return ConfigError(path, " ".join(exc.messages))


def import_document(
    document: Mapping[str, Any],
    *,
    project: Project,
    user: User,
    environ: Mapping[str, str] | None,
    dry_run: bool = False,
    prune: bool = False,
) -> ImportResult:
    """Make ``project`` match ``document``; all or nothing.

    Only the sections the document has are touched; an item missing from a
    section is deleted only with ``prune``. ``environ`` resolves secret
    references (None: keep-stored only, see ``refs``). Raises ConfigError
    naming the path of the first problem, PermissionDenied below the admin
    role. A dry run validates and diffs, and writes nothing.
    """
    if not is_operator(user):
        project_require(user=user, project=project, min_role=Role.ADMIN)
    _check_shape(document)
    ctx = Context(
        project=project, user=user, secrets=Secrets(environ), document=document
    )
    present = [s for s in sections() if document.get(s.key) is not None]
    for section in sections():
        items = document.get(section.key)
        ctx.names[section.key] = (
            {item[key_field(section)] for item in items}
            if items is not None
            else set(section.stored(project))
        )
    with transaction.atomic():
        # The project row locked: two imports into one project do not
        # interleave their diffs and writes.
        Project.objects.select_for_update().filter(pk=project.pk).exists()
        writes: list[_Step] = []
        deletes: list[_Step] = []
        for section in present:
            found = _plan_section(section, document[section.key], ctx, prune=prune)
            writes += found[0]
            deletes = found[1] + deletes  # the last section's go first
        steps = writes + deletes
        if not dry_run:
            for step in writes:
                _apply(step, ctx)
            for section in present:
                _finish(section, ctx)
            for step in deletes:
                _apply(step, ctx)
    return ImportResult([step.change for step in steps], applied=not dry_run)
