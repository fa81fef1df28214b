from __future__ import annotations

from django.apps import AppConfig


class StatusPagesConfig(AppConfig):
    name = "statuspages"
    verbose_name = "Status pages"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import config, receivers  # noqa: F401  (connects the signal receivers)

        config.register()
