"""``manage.py monitors``: a project's configuration as code.

    monitors export --project SLUG [--format yaml|json] [-o FILE]
    monitors import FILE --project SLUG [--dry-run] [--prune]
    monitors import-kuma BACKUP.json --project SLUG [--dry-run]
    monitors import-gatus CONFIG.yaml --project SLUG [--dry-run]

Secret references (``${NAME}``) resolve from this process's environment,
else keep the stored secret (monitors.config.refs). Writes are made as the
project's owner (``--user`` for another member), held to the same roles and
quotas as the API.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitors.config import (
    ConfigError,
    ImportResult,
    dump_document,
    export_document,
    import_document,
    parse_document,
)
from monitors.config.document import SECTIONS, key_field
from monitors.config.gatus import gatus_document
from monitors.config.kuma import kuma_document
from monitors.models import Project


def _project(value: str) -> Project:
    found = Project.objects.filter(slug=value).first()
    if found is None and value.isdigit():
        found = Project.objects.filter(pk=int(value)).first()
    if found is None:
        raise CommandError(f"No project with the slug or id {value!r}.")
    return found


def _user(project: Project, username: str | None) -> User:
    if not username:
        return project.owner
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user {username!r}.")
    return user


def _named(message: str, path: str, document: dict[str, Any]) -> str:
    """The error, with the name of the item it is about: an imported file's
    items are numbered in the converted document, not in the file."""
    match = re.match(r"^(\w+)\[(\d+)\]", path)
    if match is None:
        return message
    items = document.get(match[1])
    index = int(match[2])
    if not isinstance(items, list) or index >= len(items):
        return message
    section = SECTIONS.get(match[1])
    named_by = key_field(section) if section is not None else "name"
    item = items[index]
    name = item.get(named_by) if isinstance(item, dict) else None
    return f"{message} (item {name!r})" if isinstance(name, str) else message


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}") from None


class Command(BaseCommand):
    help = "Export and import a project's monitors, channels and windows as code."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        export = actions.add_parser("export", help="Write the configuration.")
        export.add_argument("--format", choices=("yaml", "json"), default="yaml")
        export.add_argument("-o", "--output", help="A file (default: stdout).")
        for name, what in (
            ("import", "a document written by export (YAML or JSON)"),
            ("import-kuma", "an Uptime Kuma backup (JSON)"),
            ("import-gatus", "a Gatus config.yaml"),
        ):
            sub = actions.add_parser(name, help=f"Apply {what}.")
            sub.add_argument("file")
            sub.add_argument("--dry-run", action="store_true", help="Diff only.")
            if name == "import":
                sub.add_argument(
                    "--prune", action="store_true", help="Delete what is not listed."
                )
        for sub in actions.choices.values():
            sub.add_argument("--project", required=True, help="Slug or id.")
            sub.add_argument("--user", help="Act as this user (default: the owner).")

    def handle(self, *args: Any, **options: Any) -> None:
        project = _project(options["project"])
        try:
            if options["action"] == "export":
                self._export(project, options)
            else:
                self._import(project, options)
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None

    def _export(self, project: Project, options: dict[str, Any]) -> None:
        text = dump_document(export_document(project), options["format"])
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")

    def _import(self, project: Project, options: dict[str, Any]) -> None:
        text = _read(options["file"])
        unmapped: list[str] = []
        if options["action"] == "import-kuma":
            document, unmapped = kuma_document(text)
        elif options["action"] == "import-gatus":
            document, unmapped = gatus_document(text)
        else:
            document = parse_document(text)
        try:
            result = self._apply(project, document, options)
        except ConfigError as exc:
            raise CommandError(_named(str(exc), exc.path, document)) from None
        self.stdout.write(result.describe())
        for line in unmapped:
            self.stdout.write(self.style.WARNING(f"Not imported: {line}"))
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was applied.")
        else:
            self.stdout.write(f"Applied {len(result.changes)} change(s).")

    def _apply(
        self, project: Project, document: dict[str, Any], options: dict[str, Any]
    ) -> ImportResult:
        return import_document(
            document,
            project=project,
            user=_user(project, options["user"]),
            environ=os.environ,
            dry_run=options["dry_run"],
            prune=options.get("prune", False),
        )
