"""Bad configuration stops the process at start, naming the variable."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[2]


def start_with(**env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "DJANGO_SETTINGS_MODULE": "uptime.settings", **env}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("UPTIME_ALLOW_PRIVATE_TARGETS", "sure"),
        ("UPTIME_MIN_INTERVAL_SECONDS", "ten"),
        ("UPTIME_MIN_INTERVAL_SECONDS", "0"),
        ("UPTIME_REGIONS", "EU West"),
        ("UPTIME_REGION", "Mars!"),
        ("EMAIL_PORT", "smtp"),
        ("UPTIME_INVITE_MAX_AGE_DAYS", "0"),
        ("REDIS_URL", "localhost:6379"),
        ("DATABASE_URL", "nonsense://"),
        ("DATABASE_URL", "sqlite:///db.sqlite3"),
        ("DATABASE_URL", "mysql://root:secret@127.0.0.1:3306/uptime"),
        ("UPTIME_THROTTLE_LOGIN", "ten per minute"),
        ("UPTIME_THROTTLE_API_USER", "0/min"),
        ("REGISTRATION_OPEN", "perhaps"),
        ("UPTIME_NUM_PROXIES", "-1"),
        ("DATA_UPLOAD_MAX_MEMORY_SIZE", "lots"),
        ("REDIS_SSL_CERT_REQS", "sometimes"),
        ("UPTIME_PIPELINE_GRACE_SECONDS", "0"),
        ("UPTIME_FLAP_WINDOW", "2"),
        ("UPTIME_FLAP_LOW_PERCENT", "30"),  # not below the high threshold (25)
        ("UPTIME_FLAP_HIGH_PERCENT", "101"),
    ],
)
def test_a_bad_value_fails_at_start_with_the_variable_name(
    name: str, value: str
) -> None:
    result = start_with(**{name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_a_database_other_than_postgresql_is_refused_without_its_password() -> None:
    result = start_with(DATABASE_URL="mysql://root:hunter2@127.0.0.1:3306/uptime")
    assert result.returncode != 0
    assert "DATABASE_URL must be a PostgreSQL URL" in result.stderr
    assert "not mysql://" in result.stderr
    assert "hunter2" not in result.stderr


def test_without_database_url_it_uses_the_local_development_database() -> None:
    full = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    full["DJANGO_SETTINGS_MODULE"] = "uptime.settings"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "db = settings.DATABASES['default']; "
            "print(db['ENGINE'], db['HOST'], db['PORT'], db['USER'], db['NAME'])",
        ],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.split() == [
        "django.db.backends.postgresql",
        "127.0.0.1",
        "5432",
        "postgres",
        "uptime_dev",
    ]


def test_good_values_start() -> None:
    result = start_with(
        DEBUG="true", UPTIME_REGIONS="eu,us", UPTIME_REGION="us", DATABASE_URL=""
    )
    assert result.returncode == 0, result.stderr


def region_queues(**env: str) -> str:
    full = {k: v for k, v in os.environ.items() if k != "UPTIME_REGION"}
    full.update(DJANGO_SETTINGS_MODULE="uptime.settings", **env)
    out = subprocess.run(
        [sys.executable, "manage.py", "region_queues"],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.strip()


def test_a_check_worker_consumes_its_own_region_queue() -> None:
    assert region_queues(UPTIME_REGIONS="eu,us", UPTIME_REGION="us") == "checks.us"


def test_without_a_region_one_worker_consumes_every_region_queue() -> None:
    assert region_queues(UPTIME_REGIONS="eu,us") == "checks.eu,checks.us"


def _settings_env() -> dict[str, str]:
    """This process's environment without any setting the code reads."""
    names = _names_read_by_settings()
    return {k: v for k, v in os.environ.items() if k not in names}


def _names_read_by_settings() -> set[str]:
    source = (ROOT / "uptime" / "settings.py").read_text()
    return set(re.findall(r'env_(?:str|bool|int|list|rate)\(\s*"([A-Z_0-9]+)"', source))


def test_env_example_lists_every_setting_the_code_reads() -> None:
    example = (ROOT / ".env.example").read_text()
    missing = [
        name
        for name in sorted(_names_read_by_settings())
        if not re.search(rf"^#? ?{name}=", example, re.M)
    ]
    assert missing == []


def test_a_copy_of_env_example_keeps_the_quick_start_defaults() -> None:
    values = {k: v or "" for k, v in dotenv_values(ROOT / ".env.example").items()}
    assert "DATABASE_URL" not in values  # commented out: the local default stays
    env = {**_settings_env(), **values, "DEBUG": "true"}
    env["DJANGO_SETTINGS_MODULE"] = "uptime.settings"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.DATABASES['default']['NAME'], settings.EMAIL_BACKEND)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "uptime_dev",
        "django.core.mail.backends.console.EmailBackend",
    ]


def test_without_debug_a_missing_secret_key_stops_the_start() -> None:
    env = {
        **_settings_env(),
        "DEBUG": "false",
        "DATABASE_URL": os.environ["DATABASE_URL"],
    }
    env["DJANGO_SETTINGS_MODULE"] = "uptime.settings"
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "SECRET_KEY is not set" in done.stderr


def test_a_dotenv_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    # A copy of the project whose .env we may write (never the checkout's own).
    shutil.copytree(
        ROOT / "uptime",
        tmp_path / "uptime",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (tmp_path / ".env").write_text(
        "UPTIME_MIN_INTERVAL_SECONDS=42\nUPTIME_TICK_RETENTION_DAYS=100\n"
    )
    env = {**_settings_env(), "DEBUG": "true", "UPTIME_TICK_RETENTION_DAYS": "200"}
    env["DJANGO_SETTINGS_MODULE"] = "uptime.settings"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, '.'); "
            "from django.conf import settings; "
            "print(settings.UPTIME_MIN_INTERVAL_SECONDS, "
            "settings.UPTIME_TICK_RETENTION_DAYS)",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["42", "200"]
