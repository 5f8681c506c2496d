"""Shared by the packaging tests: what the real CLI offers."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def cli_verbs() -> list[str]:
    """The verbs `netdwg` registers (its modules in netdwg/cli/), sorted."""
    from netdwg.cli import build_parser

    actions = [a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction"]
    return sorted(actions[0].choices) if actions else []
