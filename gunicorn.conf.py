"""gunicorn's settings file, read from the working directory at start.

Only logging: with LOG_FORMAT=json, gunicorn's own lines (start-up, worker
restarts, the access log) are JSON objects like the application's
(uptime/logs.py); otherwise gunicorn's usual format. The rest is on the
command line in the Procfile.
"""

from __future__ import annotations

import os

if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "uptime.logs.JsonFormatter"}},
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "INFO", "handlers": ["json"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
        },
    }
