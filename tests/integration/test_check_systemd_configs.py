"""systemd 252's own test configs (tests/data/systemd-v252-test-network) read by a real
systemd-networkd 252 in a namespace, as systemd's test suite installs them (/run/systemd/network):
every finding `netdwg check --systemd-version 252` has for them is one networkd logs too, at the
same file and line, and networkd takes the drop-in's private key as check does."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from netdwg.cli import main

pytestmark = pytest.mark.root

DATA = Path(__file__).resolve().parents[1] / "data" / "systemd-v252-test-network"
RUNDIR = "/run/systemd/network"
_LINE_MSG = re.compile(r"^(/\S+):(\d+): (.*)$")


def test_check_findings_are_networkds_own(networkd_node, capsys):
    node = networkd_node
    files = [p for p in sorted(DATA.rglob("*")) if p.is_file() and p.name not in ("README.md", "LICENSE.LGPL2.1")]
    for path in files:
        node.write_file(f"{RUNDIR}/{path.relative_to(DATA)}", path.read_bytes(), mode=0o640, owner="root",
                        group="systemd-network")
    before = len(node.networkd_log())
    node.run(["networkctl", "reload"])
    time.sleep(0.5)  # networkctl returns when the files are read; let the log reach the file
    log = node.networkd_log()[before:]
    theirs = {(m.group(1).removeprefix(RUNDIR + "/"), int(m.group(2)))
              for m in map(_LINE_MSG.match, (line.strip() for line in log.splitlines())) if m
              and m.group(1).startswith(RUNDIR)}
    assert ("25-address-static.network", 14) in theirs, log[-3000:]  # networkd read the set
    assert "wg99" in log and "Missing PrivateKey=" not in log  # the drop-in's key was taken

    capsys.readouterr()
    code = main(["check", "--json", "--systemd-version", "252", str(node.path(RUNDIR))])
    doc = json.loads(capsys.readouterr().out)
    root = str(node.path(RUNDIR)) + "/"
    ours = {(d["file"].removeprefix(root), d["line"], d["severity"]) for d in doc["diagnostics"]}
    assert code == 0 and not [o for o in ours if o[2] == "error"], ours
    # the same file:line findings as networkd 252, no more and no fewer
    assert {o[:2] for o in ours} == theirs, (ours, log[-3000:])


def test_networkd_version_is_read_from_the_running_daemon(networkd_node):
    from netdwg.host.networkd import NetworkdBus

    bus = NetworkdBus(f"unix:path={networkd_node.path('/run/dbus/system_bus_socket')}")
    assert bus.version() == 252


def test_address_family_findings_are_networkds(networkd_node):
    from netdwg.unitfile import check_unit_file

    node = networkd_node
    path = f"{RUNDIR}/90-ndwfam.network"
    text = ("[Match]\nName=ndwfam0\n[Address]\nBroadcast=10.0.0.255\nAddress=fd00::1/64\n"
            "[Address]\nAddress=fd00::2/64\nBroadcast=yes\nBroadcast=10.0.0.255\nPeer=10.0.0.9/32\n"
            "[Address]\nAddress=10.0.0.3/24\nBroadcast=0.0.0.0\n")
    node.write_file(path, text, mode=0o644)
    before = len(node.networkd_log())
    node.run(["networkctl", "reload"])
    time.sleep(0.5)
    theirs = {(int(m.group(2)), m.group(3).split(": Invalid argument")[0])
              for m in map(_LINE_MSG.match, (line.strip() for line in node.networkd_log()[before:].splitlines()))
              if m and m.group(1) == path}
    ours = {(d.span.line, d.message) for d in check_unit_file(path, text)}
    assert ours == theirs and len(ours) == 4, (ours, theirs)
