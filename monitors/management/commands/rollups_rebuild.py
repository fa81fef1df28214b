from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitors.rollups import rollups_rebuild


class Command(BaseCommand):
    help = (
        "Recompute the tick rollups from the raw ticks, from the UTC day of "
        "--since (default: the oldest tick's day). Older rollups, whose raw "
        "ticks may be gone, are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since", help="a UTC date, YYYY-MM-DD (default: the oldest tick's day)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        since = None
        if options["since"]:
            try:
                day = date.fromisoformat(options["since"])
            except ValueError:
                raise CommandError(
                    f"--since={options['since']!r} is not a date (YYYY-MM-DD)"
                ) from None
            since = datetime(day.year, day.month, day.day, tzinfo=UTC)
        rows = rollups_rebuild(since=since)
        self.stdout.write(f"Rebuilt {rows} rollup rows")
