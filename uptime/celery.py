"""The Celery app, as Celery documents it for Django projects."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from celery import Celery
from celery.apps.beat import Beat as CeleryBeat
from celery.signals import beat_init, celeryd_after_setup, setup_logging, worker_ready
from celery.worker.consumer import Consumer as CeleryConsumer
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uptime.settings")

app = Celery("uptime")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Tasks beat runs every few seconds: their routine lines ("Sending due task",
# "received", "succeeded") would be most of the log at INFO. Their warnings
# and errors still show (all of them with UPTIME_LOG_ROUTINE_TASKS=true).
ROUTINE_TASKS = ("monitors.dispatch_due", "monitors.regions_health_record")


class QuietRoutineTasks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO or settings.UPTIME_LOG_ROUTINE_TASKS:
            return True
        message = record.getMessage()
        return not any(name in message for name in ROUTINE_TASKS)


for _name in ("celery.beat", "celery.worker.strategy", "celery.app.trace"):
    logging.getLogger(_name).addFilter(QuietRoutineTasks())


@setup_logging.connect
def log_through_django_settings(**kwargs: object) -> None:
    """Celery's processes log through settings.LOGGING, as the web does.

    A receiver of this signal replaces Celery's own log setup (its handler
    and format on the root logger, a separate one for task loggers), so
    LOG_FORMAT=json gives JSON lines from beat and the workers too. The
    level is LOG_LEVEL's; the command's --loglevel is not used.
    """
    from django.conf import settings

    from uptime.logs import configure

    configure(settings.LOGGING)


@celeryd_after_setup.connect
def no_banner_in_json_logs(sender: str, instance: object, **kwargs: object) -> None:
    """The worker's start-up banner is plain text printed to stdout; with
    JSON logs it would be the only lines a collector cannot parse. The
    same facts are logged as JSON instead."""
    from django.conf import settings

    if settings.LOG_FORMAT == "json":
        instance.quiet = True  # type: ignore[attr-defined]  # read right after this signal
        logging.getLogger("celery.apps.worker").info(
            "%s starting: queues %s", sender, ", ".join(_consumed_queues(instance))
        )


class Beat(CeleryBeat):
    """``celery beat``, without its plain-text start-up banner when the logs
    are JSON (the worker's is dropped by ``no_banner_in_json_logs``)."""

    def __init__(self, quiet: bool = False, **kwargs: Any) -> None:
        from django.conf import settings

        json_logs = settings.LOG_FORMAT == "json"
        super().__init__(quiet=quiet or json_logs, **kwargs)


# `celery beat` builds app.Beat (a cached property, so it can be replaced).
app.Beat = app.subclass_with_self(Beat)  # type: ignore[misc]  # settable in fact


def _consumed_queues(worker: object) -> list[str]:
    queues = getattr(worker.app.amqp.queues, "consume_from", None) or {}  # type: ignore[attr-defined]
    return sorted(queues)


def _close_after_collect(close: Callable[[], None]) -> Callable[[], None]:
    def close_quietly() -> None:
        try:
            close()
        except AttributeError:
            # collect() has already dropped the transport's client; closing
            # the channel then tries to push its unacknowledged messages
            # back to Redis through that missing client. Redis is gone at
            # this point anyway: the messages stay in its unacked hash and
            # come back through the visibility timeout, as after a crash.
            pass

    return close_quietly


class Consumer(CeleryConsumer):
    """Celery's consumer, surviving a broker restart while it holds
    unacknowledged messages.

    Celery 5.7.0 (with kombu 5.7.0 on Redis) collects the lost connection and
    then closes it. With an unacknowledged message in hand (any ``acks_late``
    task running when Redis went away) the close raises
    ``AttributeError: 'NoneType' object has no attribute 'hostname'``, which
    is not a connection error, so the worker stops with "Unrecoverable
    error" instead of reconnecting. Installed by ``CELERY_WORKER_CONSUMER``.
    """

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        connection = self.connection
        if connection is not None:
            connection.close = _close_after_collect(connection.close)  # type: ignore[method-assign]  # wrapped for this one connection
        super().on_connection_error_after_connected(exc)


@beat_init.connect
def sync_regions_on_start(**kwargs: object) -> None:
    """Regions follow UPTIME_REGIONS on start too, not only on migrate."""
    from monitors.services import regions_sync

    regions_sync()


@worker_ready.connect
def heartbeat_checked_regions(sender: object, **kwargs: object) -> None:
    """A worker that consumes checks.<region> queues heartbeats those
    regions from a small thread (monitors/regionhealth.py)."""
    from monitors.regionhealth import HeartbeatThread
    from uptime.queues import CHECKS_PREFIX

    queues = getattr(sender.app.amqp.queues, "consume_from", None) or {}  # type: ignore[attr-defined]
    codes = [
        name.removeprefix(CHECKS_PREFIX)
        for name in queues
        if name.startswith(CHECKS_PREFIX)
    ]
    if codes:
        hostname = getattr(sender, "hostname", "") or ""
        HeartbeatThread(worker=hostname, region_codes=codes).start()
