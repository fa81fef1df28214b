from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # alerts plugs into monitors' extension points; monitors never
        # imports alerts.
        from monitors.api.extensions import register_monitor_field
        from monitors.timeline import register_timeline_provider
        from uptime.metrics import register_collector

        from . import config, config_policies, receivers  # noqa: F401
        from .api.fields import channels_field
        from .metrics import collect
        from .timeline import notification_entries

        register_monitor_field("channels", channels_field)
        register_timeline_provider(notification_entries)
        register_collector(collect)
        config.register()
        config_policies.register()
