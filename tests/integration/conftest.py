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


@pytest.fixture
def lab_up(tmp_path):
    """Factory for whole-topology labs: ``lab = lab_up(path, mode="apply")`` -> a running `Lab`.

    Every host is configured by `netdwg apply` inside it (mode="standin": the lab's own
    commands). The lab uses a private state dir and is torn down after the test.
    """
    from netdwg.lab.state import destroy_labs, find_lab
    from netdwg.lab.up import bring_up

    state = tmp_path / "lab-state"

    def up(topology, mode: str = "apply"):
        bring_up(topology, mode=mode, state_dir=state)
        return find_lab(state)

    yield up
    destroy_labs(state)
