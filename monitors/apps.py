from __future__ import annotations

from django.apps import AppConfig


class MonitorsConfig(AppConfig):
    name = "monitors"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from uptime.metrics import register_collector

        from . import health, receivers  # noqa: F401
        from .config import maintenance, monitors  # noqa: F401  # register sections

        register_collector(health.collect)
