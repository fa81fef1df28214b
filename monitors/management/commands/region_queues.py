from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from uptime.queues import checks_queue


class Command(BaseCommand):
    help = (
        "Print the check queues a check worker consumes: checks.$UPTIME_REGION "
        "when UPTIME_REGION is set, else every configured region's queue "
        "(one worker for all regions on a single machine)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--all", action="store_true", help="Every region's queue, always."
        )

    def handle(self, *args: object, **options: object) -> None:
        if os.environ.get("UPTIME_REGION", "").strip() and not options["all"]:
            self.stdout.write(checks_queue(settings.UPTIME_REGION))
            return
        self.stdout.write(",".join(checks_queue(c) for c in settings.UPTIME_REGIONS))
