"""`netdwg check` across hosts: two ends' keys and PSKs must agree."""

from __future__ import annotations

import os
import shutil

from netdwg.cli import main
from tests.conftest import CORPUS


def test_psk_missing_on_one_end_is_an_error_naming_both_files(tmp_path, capsys):
    relay = tmp_path / "30-relay-wg.netdev"
    ana = tmp_path / "ana.conf"
    shutil.copy(CORPUS / "networkd" / "30-relay-wg.netdev", relay)
    shutil.copy(CORPUS / "wg-quick" / "ana.conf", ana)
    os.chmod(relay, 0o640)
    os.chmod(ana, 0o600)

    code = main(["check", str(relay), str(ana)])

    out = capsys.readouterr().out
    assert code == 2
    assert "NDW031" in out and str(relay) in out and str(ana) in out


def test_each_file_alone_has_no_cross_host_finding(tmp_path, capsys):
    relay = tmp_path / "30-relay-wg.netdev"
    shutil.copy(CORPUS / "networkd" / "30-relay-wg.netdev", relay)
    os.chmod(relay, 0o640)

    main(["check", str(relay)])

    assert "NDW03" not in capsys.readouterr().out
