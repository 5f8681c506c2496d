"""A .netdev whose Kind= the target systemd lacks (hsr before 258; netdevsim after 257; a typo):
`netdwg check` says what a real systemd-networkd 252 in a namespace logs for it, at the same line,
and that networkd ignores the file."""

from __future__ import annotations

import re
import time

import pytest

from netdwg.unitfile import check_unit_file

pytestmark = pytest.mark.root

RUNDIR = "/run/systemd/network"
_LINE_MSG = re.compile(r"^(/\S+):(\d+): (.*)$")


def test_an_unknown_kind_is_networkds_warning_and_the_device_is_ignored(networkd_node):
    node = networkd_node
    files = {f"{RUNDIR}/90-ndwhsr.netdev": "[NetDev]\nName=ndwhsr0\nKind=hsr\n",
             f"{RUNDIR}/91-ndwtypo.netdev": "[NetDev]\nName=ndwtypo0\nKind=dumy\n",
             f"{RUNDIR}/92-ndwdummy.netdev": "[NetDev]\nName=ndwdummy0\nKind=dumy\nKind=dummy\n"}
    for path, text in files.items():
        node.write_file(path, text, mode=0o644)
    before = len(node.networkd_log())
    node.run(["networkctl", "reload"])
    time.sleep(0.5)  # networkctl returns when the files are read; let the log reach the file
    log = node.networkd_log()[before:]
    for path, text in files.items():
        theirs = {(int(m.group(2)), m.group(3).split(": Invalid argument")[0])
                  for m in map(_LINE_MSG.match, (line.strip() for line in log.splitlines()))
                  if m and m.group(1) == path}
        found = check_unit_file(path, text, target_version=252)
        ours = {(d.span.line, d.message.split(" (Kind=")[0]) for d in found if d.code == "UNIT007"}
        assert ours == theirs and len(ours) == 1, (path, ours, log[-3000:])
        ignored = f'NetDev has no Kind= configured in "{path}", ignoring.'
        assert (ignored in log) is any(d.message == ignored for d in found), (path, log[-3000:])
    # networkd took the kind it could parse after the typo (making a dummy device may then fail
    # in a container: the kernel decides that, not the file), and made nothing of the others
    assert 'ndwdummy0: loaded "dummy"' in log and "ndwhsr0: loaded" not in log and "ndwtypo0: loaded" not in log
    assert [d.code for d in check_unit_file(f"{RUNDIR}/92-ndwdummy.netdev", files[f"{RUNDIR}/92-ndwdummy.netdev"],
                                            target_version=252)] == ["UNIT007"]
