"""Fixtures for namespace tests: a throwaway Sandbox and a node running networkd.

Both need root; tests using them must be marked ``@pytest.mark.root``.
"""

from __future__ import annotations

import pytest

from netdwg.lab.sandbox import Node, Sandbox


@pytest.fixture
def sandbox():
    """A Sandbox (namespaces prefixed ndwt<pid>x<n>) removed after the test, failed or not."""
    with Sandbox(prefix="ndwt") as sb:
        yield sb


@pytest.fixture
def networkd_node(sandbox: Sandbox) -> Node:
    """A node in its own netns with a private dbus-daemon and systemd-networkd (debug log) running."""
    node = sandbox.node(sandbox.netns("nd"))
    node.start_dbus()
    node.start_networkd(debug=True)
    return node
