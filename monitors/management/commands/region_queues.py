from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from uptime.queues import checks_queue


class Command(BaseCommand):
    help = "Print the check queues of every configured region, comma-separated."

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(",".join(checks_queue(c) for c in settings.UPTIME_REGIONS))
