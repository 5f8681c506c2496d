"""Shared pytest set-up: markers, the golden-file update flag, root detection."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Shared test helpers (golden_support, test_apply_lab, test_plan_cli) are plain modules
# on sys.path; with --import-mode=importlib pytest no longer puts test dirs there.
for _helpers in (REPO, REPO / "tests", REPO / "tests" / "unit", REPO / "tests" / "integration"):
    if str(_helpers) not in sys.path:
        sys.path.insert(0, str(_helpers))
CORPUS = REPO / "tests" / "data"  # samples of hand-written files (tests/data/README.md)


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files from the current renderers (review the git diff)")


@pytest.fixture
def update_golden(request) -> bool:
    return bool(request.config.getoption("--update-golden"))


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (network namespaces)")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)
