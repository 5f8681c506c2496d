"""Every file the renderers produce (the golden trees) passes `netdwg check`
without errors: our readers accept what our writers write."""

from __future__ import annotations

from pathlib import Path

import pytest

from netdwg.cli.check import check_path
from netdwg.errors import Severity

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
FILES = sorted(p for p in GOLDEN.glob("*/expected/**/*") if p.is_file() and (
    "etc/wireguard" in str(p) or "sysctl.d" in str(p) or p.suffix in (".yaml", ".netdev", ".network", ".link")))


@pytest.mark.skipif(not FILES, reason="no golden trees yet")
@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(GOLDEN)))
def test_rendered_file_checks_clean(path):
    result = check_path(str(path))
    assert result.kind != "unknown"
    errors = [d.format() for d in result.diagnostics if d.severity is Severity.ERROR]
    assert errors == []
