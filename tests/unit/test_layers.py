"""The import contract in pyproject.toml ([tool.importlinter]): the layers of README's
"Code layout", host/ used only by apply, guard and lab, no import cycles. A broken
contract prints the offending import chains."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# import-linter comes with the test extra (make venv); Debian 12 does not package it, so the
# unit suite run against the .deb (make deb-test) has no lint-imports.
pytest.importorskip("importlinter", reason="import-linter is not installed (pip install -e '.[test]')")

REPO = Path(__file__).resolve().parents[2]


def test_imports_keep_the_layer_contract():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint_imports), "--no-cache", str(REPO / "pyproject.toml")], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout
