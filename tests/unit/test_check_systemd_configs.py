"""`netdwg check` at 252 over valid unit files from systemd 252's own test configs
(tests/data/systemd-v252-test-network): no error, no key or section networkd 252 would call
unknown, and only the warnings networkd 252 logs for the same files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "systemd-v252-test-network"

# What networkd 252 itself logs for these files (checked against it in
# tests/integration/test_check_systemd_configs.py): systemd's test sets two invalid
# addresses on purpose, and one AllowedIPs entry has host bits.
NETWORKD_252_WARNINGS = {
    ("25-address-static.network", 14, "Invalid address 'hogehoge', ignoring assignment"),
    ("25-address-static.network", 15, "Invalid address 'foofoo', ignoring assignment"),
    ("25-address-static.network", 36, "Invalid address 'hoge', ignoring assignment"),
    ("25-address-static.network", 43, "Invalid address 'hoge', ignoring assignment"),
    ("25-address-static.network", 49, "Address is incompatible, ignoring assignment: 2001:db8:0:f103::10/128"),
    ("25-address-static.network", 92, "Broadcast is invalid, ignoring assignment: ::1"),
    ("25-address-static.network", 97, "Broadcast is not valid for IPv6 addresses, ignoring assignment: ::1"),
    ("25-address-static.network", 106, "Could not parse RouteMetric=, ignoring assignment: hoge"),
    ("25-wireguard.netdev", 15, "Specified address '192.168.26.3/24' is not properly masked, assuming "
                                "'192.168.26.0/24'."),
}


def _copy(tmp_path: Path) -> Path:
    conf = tmp_path / "conf"
    shutil.copytree(DATA, conf)
    for path in conf.rglob("*"):
        if path.is_file():
            path.chmod(0o640)  # as a key-bearing .netdev should be: mode warnings are another test's
    return conf


def test_check_at_252_reports_nothing_networkd_252_would_not(netdwg, tmp_path):
    conf = _copy(tmp_path)
    out = netdwg("check", "--json", "--systemd-version", "252", str(conf))
    doc = json.loads(out.stdout)
    assert out.returncode == 0, out.stdout
    found = {(str(Path(d["file"]).relative_to(conf)), d["line"], d["message"]) for d in doc["diagnostics"]}
    assert [d for d in doc["diagnostics"] if d["severity"] == "error"] == []
    assert found == NETWORKD_252_WARNINGS
    # every unit file and drop-in was read as a unit file; the DHCP server's and networkd.conf's
    # .conf files in that directory were left out, not read as sysctl
    kinds = {str(Path(f["path"]).relative_to(conf)): f["kind"] for f in doc["files"]}
    assert set(kinds.values()) == {"unit"}
    assert "25-wireguard.netdev.d/private-key.conf" in kinds and "25-sriov.link" in kinds
    assert not any(name.endswith("-dhcp6pd.conf") or name.startswith("networkd-") for name in kinds)


def test_each_main_file_named_alone_reads_its_dropins(netdwg, tmp_path):
    conf = _copy(tmp_path)
    for name in ("25-wireguard.netdev", "10-dropin-test.netdev", "21-vlan.netdev", "12-dummy.network"):
        out = netdwg("check", "--json", "--systemd-version", "252", str(conf / name))
        errors = [d for d in json.loads(out.stdout)["diagnostics"] if d["severity"] == "error"]
        assert out.returncode == 0 and errors == [], (name, out.stdout)
