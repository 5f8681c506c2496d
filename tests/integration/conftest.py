"""Fixtures for namespace tests: a throwaway Sandbox and a node running networkd.

Both need root; tests using them must be marked ``@pytest.mark.root``.
"""

from __future__ import annotations

import os
import re
import subprocess

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
    """Factory for whole-topology labs: ``lab = lab_up(path)`` -> a running `Lab`.

    Every host is configured by `netdwg apply` inside it. The lab uses a private state dir
    and is torn down after the test.
    """
    from netdwg.lab.state import destroy_labs, find_lab
    from netdwg.lab.up import bring_up

    state = tmp_path / "lab-state"
    records = []

    def up(topology):
        bring_up(topology, state_dir=state)
        lab = find_lab(state)
        records.append(lab.sandbox.record)
        return lab

    yield up
    destroy_labs(state)
    for record in records:  # nothing of it may outlive the test: namespaces and processes, by record
        assert not set(record.netns) & set(_netns_names()), f"{record.sandbox_id}: namespaces left behind"
        assert not [p for p in record.procs if p.is_alive()], f"{record.sandbox_id}: processes left behind"


def _netns_names() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="session", autouse=True)
def no_namespaces_left_behind():
    """After the session: no namespace this test process named (ndwt<pid>x..., ndwl<pid>x...) remains."""
    yield
    if os.geteuid() != 0:
        return
    mine = [n for n in _netns_names() if re.match(rf"ndw[a-z]*{os.getpid()}x\d", n)]
    assert not mine, f"namespaces left behind by this test session: {mine}"
