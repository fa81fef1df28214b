"""The Heroku-style deploy files agree with the Procfile and the settings."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _procfile_processes() -> set[str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {line.split(":", 1)[0] for line in lines if re.match(r"^\w+:", line)}


def test_app_json_starts_every_procfile_process_once() -> None:
    app = json.loads((ROOT / "app.json").read_text())
    assert set(app["formation"]) == _procfile_processes() - {"release"}
    # Exactly one beat: two would dispatch every check twice.
    assert app["formation"]["beat"]["quantity"] == 1
    assert "heroku-postgresql" in app["addons"] and "heroku-redis" in app["addons"]


def test_app_json_sets_only_settings_the_code_reads() -> None:
    app = json.loads((ROOT / "app.json").read_text())
    settings_source = (ROOT / "uptime" / "settings.py").read_text()
    example = (ROOT / ".env.example").read_text()
    for name in app["env"]:
        assert f'"{name}"' in settings_source, name
        assert re.search(rf"^#? ?{name}=", example, re.M), name
    assert app["env"]["SECRET_KEY"] == {
        "description": app["env"]["SECRET_KEY"]["description"],
        "generator": "secret",
    }


def test_the_python_version_file_names_a_supported_python() -> None:
    version = (ROOT / ".python-version").read_text().strip()
    assert re.fullmatch(r"3\.(1[1-9])", version)
