"""Run every benchmark under bench/ (not part of the test suite)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in ("checks.py", "dashboard.py"):
    path = HERE / script
    if path.exists():
        print(f"== {script}", flush=True)
        subprocess.run([sys.executable, str(path), *sys.argv[1:]], check=True)
