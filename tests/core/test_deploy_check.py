"""`manage.py check --deploy` is clean with the production settings the
README lists, and each of them is an environment variable with a safe
default."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parents[2]
HTTPS_NAMES = re.compile(r"^(SECURE_\w+|SESSION_COOKIE_SECURE)$")


def readme_production_settings() -> dict[str, str]:
    """The sh block under the README's "Production settings (HTTPS)"."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Production settings (HTTPS)\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    pairs = [line.split("=", 1) for line in block.group(1).splitlines() if line]
    return {name: value for name, value in pairs}


def check_deploy(**env: str) -> subprocess.CompletedProcess[str]:
    full = {
        name: value
        for name, value in os.environ.items()
        if not HTTPS_NAMES.match(name)
        # DJANGO_ALLOW_ASYNC_UNSAFE: set by tests that use the database from
        # async code (Playwright); check --deploy rightly refuses it.
        and name not in ("DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    full.update(
        DJANGO_SETTINGS_MODULE="uptime.settings",
        # What check --deploy wants of a key: long, varied, not a dev key.
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="uptime.example.com",
        **env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_deploy_passes_with_the_readmes_production_settings() -> None:
    result = check_deploy(**readme_production_settings())
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "System check identified no issues" in result.stdout


def test_the_defaults_are_plain_http_and_check_deploy_names_each_setting() -> None:
    result = check_deploy()
    assert result.returncode != 0
    for warning in ("W004", "W008", "W012", "W016"):
        assert f"security.{warning}" in result.stderr


def test_the_readme_lists_exactly_the_https_settings_the_code_reads() -> None:
    source = (ROOT / "uptime" / "settings.py").read_text()
    read = {
        name
        for name in re.findall(r'env_\w+\(\s*"(\w+)"', source)
        if HTTPS_NAMES.match(name)
    }
    assert set(readme_production_settings()) == read
    example = (ROOT / ".env.example").read_text()
    for name in read:
        assert re.search(rf"^{name}=", example, re.M), name


def test_a_bad_proxy_header_name_fails_at_start_with_the_variable_name() -> None:
    result = check_deploy(SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https")
    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER" in result.stderr


@pytest.mark.django_db
@override_settings(
    SECURE_SSL_REDIRECT=True,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
)
def test_https_redirect_spares_the_health_checks_and_trusts_the_proxy() -> None:
    client = Client()
    login = client.get("/accounts/login/")
    assert login.status_code == 301
    assert login["Location"] == "https://testserver/accounts/login/"
    assert (
        client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https").status_code
        == 200
    )
    for path in ("/healthz", "/healthz/pipeline"):
        assert client.get(path).status_code != 301, path
