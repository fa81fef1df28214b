"""JSON log lines (LOG_FORMAT=json): one object per line for a log collector.

The standard library's logging with a small formatter: the five fields a
collector needs do not call for a dependency.
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message"}``, plus ``exception`` (the
    traceback's text) when the record carries one and ``stack`` for
    ``stack_info``. Newlines stay inside JSON strings, so one record is
    always one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(config: dict[str, Any]) -> None:
    """settings.LOGGING_CONFIG: the dictionary, and Python warnings (such as
    Celery's about running as root or a deprecation) as log records, so they
    come out in the same format as everything else."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)
