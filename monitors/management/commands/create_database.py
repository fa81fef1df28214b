from __future__ import annotations

import psycopg
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from uptime.database import database_create


class Command(BaseCommand):
    help = (
        "Create the PostgreSQL database DATABASE_URL names when it is missing "
        "(run before migrate on a fresh machine)."
    )

    def handle(self, *args: object, **options: object) -> None:
        settings_dict = connections["default"].settings_dict
        name = settings_dict["NAME"]
        where = f"{settings_dict.get('HOST') or 'localhost'}:"
        where += str(settings_dict.get("PORT") or 5432)
        try:
            created = database_create(settings_dict=settings_dict)
        except psycopg.OperationalError as exc:
            raise CommandError(
                f"cannot reach PostgreSQL at {where} to create {name!r}: {exc}\n"
                "Start it with: bash scripts/ensure-services.sh"
            ) from None
        if created:
            self.stdout.write(f"Created database {name!r} on {where}")
        else:
            self.stdout.write(f"Database {name!r} on {where} exists")
