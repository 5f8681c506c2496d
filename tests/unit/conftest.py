"""Fixtures shared by the unit tests."""

from __future__ import annotations

import subprocess

import pytest


@pytest.fixture
def netdwg(capsys):
    """Run the CLI in this process (its start-up costs a second as a subprocess)."""
    from netdwg.cli import main

    def run(*args: str) -> subprocess.CompletedProcess:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return run
