"""LOG_FORMAT=json: one JSON object per line (time, level, logger, message,
exception) from the web process (Django and gunicorn) and from Celery."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.targets import free_port
from uptime.logs import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]


def json_lines(output: str) -> list[dict[str, Any]]:
    """Every non-empty line, parsed: fails on the first that is not JSON."""
    records = []
    for line in output.splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except ValueError:
                pytest.fail(f"not a JSON line: {line!r}")
    return records


def web_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "uptime.settings"}
    env.update(
        SECRET_KEY="test-secret-key-for-the-json-log-test",
        DEBUG="false",
        ALLOWED_HOSTS="testserver,127.0.0.1",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def test_a_record_is_one_json_line_with_its_exception() -> None:
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        record = logging.getLogger("uptime.test").makeRecord(
            "uptime.test",
            logging.ERROR,
            __file__,
            1,
            "it %s",
            ("broke",),
            sys.exc_info(),
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "uptime.test"
    assert entry["message"] == "it broke"
    assert entry["time"].endswith("+00:00")
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert "ValueError: bad\nvalue" in entry["exception"]


WEB_SCRIPT = """
import logging
import django
django.setup()
from django.test import Client
Client().get("/no-such-page/")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("uptime.test").exception("the handler broke")
"""


def run_web_script(log_format: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", WEB_SCRIPT],
        cwd=ROOT,
        env=web_env(LOG_FORMAT=log_format),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_django_logs_json_lines_with_the_exception_text() -> None:
    records = json_lines(run_web_script("json"))
    assert {
        "level": "WARNING",
        "logger": "django.request",
        "message": "Not Found: /no-such-page/",
    }.items() <= next(r for r in records if r["logger"] == "django.request").items()
    [broke] = [r for r in records if r["logger"] == "uptime.test"]
    assert broke["level"] == "ERROR"
    assert broke["message"] == "the handler broke"
    assert "ZeroDivisionError: division by zero" in broke["exception"]
    assert all(set(r) >= {"time", "level", "logger", "message"} for r in records)


def test_text_is_the_default_format() -> None:
    output = run_web_script("")
    assert " WARNING django.request Not Found: /no-such-page/" in output
    assert "ZeroDivisionError" in output
    assert not any(line.startswith("{") for line in output.splitlines())


def test_a_bad_log_format_fails_at_start_with_the_variable_name() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=web_env(LOG_FORMAT="xml"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "LOG_FORMAT" in result.stderr


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_gunicorn_start_up_and_access_lines_are_json_too() -> None:
    port = free_port()
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "uptime.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            "-",
        ],
        cwd=ROOT,
        env=web_env(LOG_FORMAT="json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status = _get(f"http://127.0.0.1:{port}/no-such-page/")
                break
            except OSError:
                if time.monotonic() > deadline or web.poll() is not None:
                    raise
                time.sleep(0.1)
        assert status == 404
    finally:
        web.terminate()
        output, _ = web.communicate(timeout=30)
    records = json_lines(output)
    loggers = {r["logger"] for r in records}
    assert {"gunicorn.error", "gunicorn.access", "django.request"} <= loggers
    [access] = [r for r in records if r["logger"] == "gunicorn.access"]
    assert '"GET /no-such-page/ HTTP/1.1" 404' in access["message"]


WORKER_SHUTDOWN = "worker: Warm shutdown (MainProcess)"  # printed, not logged


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_logs_json_lines_with_a_failed_tasks_traceback(
    tmp_path: Path,
) -> None:
    from tests.e2e_support import celery_worker, purge_broker, wait_for
    from uptime.celery import app

    purge_broker()
    log = tmp_path / "worker.log"
    with celery_worker(["json-logs"], log_path=log, LOG_FORMAT="json"):
        # Sent by name, past the client-side argument check: it fails in
        # the worker, which logs the error with its traceback.
        app.send_task("monitors.run_checks", args=["nowhere"], queue="json-logs")
        wait_for(lambda: "raised unexpected" in log.read_text(), timeout=30)
    output = log.read_text()
    # No start-up banner: the first line is already a record.
    assert output.lstrip().startswith("{")
    records = json_lines(output.replace(WORKER_SHUTDOWN, ""))
    assert any(r["message"].endswith(" ready.") for r in records)
    [failed] = [r for r in records if "raised unexpected" in r["message"]]
    assert failed["level"] == "ERROR"
    assert failed["logger"] == "celery.app.trace"
    assert "TypeError" in failed["exception"]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_celery_beat_logs_json_lines_without_its_banner(tmp_path: Path) -> None:
    from tests.e2e_support import celery_beat

    log = tmp_path / "beat.log"
    with celery_beat(log_path=log, LOG_FORMAT="json"):
        pass
    # Every line a record: the plain-text banner is left out.
    records = json_lines(log.read_text())
    assert any(
        r["logger"] == "celery.beat" and r["message"] == "beat: Starting..."
        for r in records
    )
