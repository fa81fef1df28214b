"""Beat's once-a-second tasks do not fill the log at INFO."""

from __future__ import annotations

import logging

import pytest

import uptime.celery  # noqa: F401  (installs the filters)


@pytest.mark.parametrize(
    "logger", ["celery.beat", "celery.worker.strategy", "celery.app.trace"]
)
def test_routine_dispatch_lines_are_left_out_and_others_kept(
    logger: str, caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger(logger)
    with caplog.at_level(logging.INFO, logger=logger):
        log.info(
            "Scheduler: Sending due task %s (%s)", "dispatch", "monitors.dispatch_due"
        )
        log.info("Task %s[abc] succeeded in 0.01s: 0", "monitors.regions_health_record")
        log.info("Task %s[abc] received", "alerts.deliver")
        log.warning("Task %s[abc] raised: boom", "monitors.dispatch_due")
    messages = [r.getMessage() for r in caplog.records if r.name == logger]
    assert messages == [
        "Task alerts.deliver[abc] received",
        "Task monitors.dispatch_due[abc] raised: boom",
    ]


def test_the_operator_can_have_them_back(
    settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.UPTIME_LOG_ROUTINE_TASKS = True
    log = logging.getLogger("celery.app.trace")
    with caplog.at_level(logging.INFO, logger="celery.app.trace"):
        log.info("Task %s[abc] succeeded in 0.01s: 0", "monitors.dispatch_due")
    assert [r.getMessage() for r in caplog.records] == [
        "Task monitors.dispatch_due[abc] succeeded in 0.01s: 0"
    ]
