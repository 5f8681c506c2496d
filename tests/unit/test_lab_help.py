"""`netdwg lab --help` teaches every verb with an example (no root needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_lab_help_teaches():
    res = subprocess.run([sys.executable, "-m", "netdwg", "lab", "--help"], capture_output=True, text=True,
                         cwd=REPO)
    assert res.returncode == 0
    for verb in ("up", "check", "roam", "exec", "status", "down", "demo"):
        assert f"netdwg lab {verb}" in res.stdout
