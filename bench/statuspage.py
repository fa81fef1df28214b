"""Server time of a status page with 200 monitors in groups.

    .venv/bin/python bench/statuspage.py [--monitors 200] [--ticks 2000000]

Seeds its own database (``uptime_bench_statuspage``, or BENCH_DATABASE_URL)
the way bench/dashboard.py does (a few incidents per monitor over 30 days,
2 % down now), puts every monitor on one page in groups of 20 with an open
incident carrying updates, and times whole requests through Django's test
client: rendered each time (the cache off) and served from the cache.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/uptime_bench_statuspage"
)

from bench.dashboard import ensure_database, seed, timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--monitors", type=int, default=200)
    parser.add_argument("--ticks", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client

    from monitors.incident_updates import incident_update_post
    from monitors.models import Incident, Monitor
    from statuspages.models import StatusPage
    from statuspages.services import status_page_create

    call_command("migrate", verbosity=0)
    seed(args.monitors, args.ticks)
    user = User.objects.get(username="bench")
    project = user.projects.get()
    monitors = list(Monitor.objects.filter(project=project).order_by("id"))
    StatusPage.objects.filter(slug="bench").delete()
    layout = [
        {
            "name": f"Group {g + 1}",
            "monitors": [
                {"monitor": m, "display_name": f"Service {m.pk}"}
                for m in monitors[g * 20 : (g + 1) * 20]
            ],
        }
        for g in range((len(monitors) + 19) // 20)
    ]
    page = status_page_create(
        user=user,
        project=project,
        fields={"slug": "bench", "title": "Bench status"},
        layout=layout,
    )
    for incident in Incident.objects.filter(monitor__project=project, status="open"):
        if not incident.updates.exists():
            for status in ("investigating", "identified"):
                incident_update_post(
                    user=user, incident=incident, status=status, body="Working on it."
                )
    client = Client()
    url = page.get_absolute_url()
    print(f"status page with {len(monitors)} monitors in {len(layout)} groups")
    print(f"{'case':40} {'median':>9} {'max':>9} {'queries':>8} {'bytes':>9}")
    settings.STATUS_PAGE_CACHE_SECONDS = 0  # every request renders
    cases = [("rendered (cache off)", url)]
    for label, path in cases:
        median, worst, queries, size = timed(client, path, args.runs)
        print(f"{label:40} {median:7.1f}ms {worst:7.1f}ms {queries:8d} {size:9,d}")
    settings.STATUS_PAGE_CACHE_SECONDS = 10
    for label, path in [
        ("served from the cache", url),
        ("Atom feed", url + "feed.atom"),
    ]:
        median, worst, queries, size = timed(client, path, args.runs)
        print(f"{label:40} {median:7.1f}ms {worst:7.1f}ms {queries:8d} {size:9,d}")


if __name__ == "__main__":
    main()
