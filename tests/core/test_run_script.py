"""`make run`'s last step says, when Ctrl-C stops it, that PostgreSQL and
Redis are left running."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ctrl_c_stops_the_processes_and_says_the_services_are_left_running(
    tmp_path: Path,
) -> None:
    # A stand-in for honcho (first on PATH) that runs until interrupted and
    # records how it was started.
    honcho = tmp_path / "honcho"
    honcho.write_text(
        f'#!/usr/bin/env bash\necho "$*" > {tmp_path}/args\nexec sleep 60\n'
    )
    honcho.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    previous = signal.signal(
        signal.SIGINT, signal.SIG_DFL
    )  # inherited, as from a shell
    try:
        run = subprocess.Popen(
            ["bash", "scripts/run.sh"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 30
    while not (tmp_path / "args").exists():
        assert time.monotonic() < deadline, "honcho was not started"
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    output, _ = run.communicate(timeout=30)
    assert (tmp_path / "args").read_text().split() == ["-f", "Procfile.dev", "start"]
    assert "http://127.0.0.1:8000 (Ctrl-C stops them)" in output
    assert "PostgreSQL and Redis are left running" in output.split("Ctrl-C")[-1]
