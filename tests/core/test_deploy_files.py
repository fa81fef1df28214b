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


def _procfile_commands() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if re.match(r"^\w+:", line))


def _unit_values(path: Path) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            values.setdefault(key, []).append(value)
    return values


def _systemd_unescape(text: str) -> str:
    # In a unit file $$ is a literal $ and %% a literal %.
    return text.replace("$$", "$").replace("%%", "%")


SYSTEMD_UNITS = {
    "uptime-web.service": "web",
    "uptime-beat.service": "beat",
    "uptime-dispatch.service": "dispatch",
    "uptime-worker.service": "worker",
    "uptime-checks@.service": "checks",
}


def test_each_systemd_unit_runs_its_procfile_command() -> None:
    units = ROOT / "deploy" / "systemd"
    assert {p.name for p in units.glob("*.service")} == set(SYSTEMD_UNITS)
    commands = _procfile_commands()
    assert set(SYSTEMD_UNITS.values()) == set(commands) - {"release"}
    for unit, process in SYSTEMD_UNITS.items():
        values = _unit_values(units / unit)
        [exec_start] = values["ExecStart"]
        assert _systemd_unescape(exec_start) == f"/bin/sh -c 'exec {commands[process]}'"
        # Outside the sh -c quotes nothing else is systemd-expanded: every $
        # and % of the Procfile command is escaped.
        assert "$" not in exec_start.replace("$$", "")
        assert "%" not in exec_start.replace("%%", "")
        assert values["EnvironmentFile"] == ["/etc/uptime/uptime.env"]
        assert values["Restart"] == ["always"]
        assert values["WantedBy"] == ["multi-user.target"]


def test_the_checks_unit_takes_its_region_from_the_instance_name() -> None:
    values = _unit_values(ROOT / "deploy" / "systemd" / "uptime-checks@.service")
    assert "UPTIME_REGION=%i" in values["Environment"]
    # A shared environment file setting UPTIME_REGION would override it.
    example = (ROOT / ".env.example").read_text()
    assert not re.search(r"^UPTIME_REGION=", example, re.M)
