"""systemd 258's key tables (generated from commit 781d9d0789, "Finalize NEWS and meson.version for
v258"): what its gperf tables add over 257's (the "systemd-networkd" part of NEWS' "CHANGES WITH
258") is accepted at 258 and is "newer than the target" at 252 and 257; the keys 258 renamed keep
their old names, as networkd 258 reads both."""

from __future__ import annotations

import json

import pytest

from netdwg.unitfile import check_unit_file, schema

NETWORK = "[Match]\nName=lan0\n"
VXLAN = "[NetDev]\nName=vx0\nKind=vxlan\n[VXLAN]\nVNI=7\n"
L2TP = "[NetDev]\nName=l2tp0\nKind=l2tp\n[L2TP]\nTunnelId=10\nPeerTunnelId=11\n"
LINK = "[Match]\nOriginalName=eth*\n"

# (file, text before the line, the line): each line holds a key the 258 gperf tables added
NEW_IN_258 = [
    ("50-lan.network", NETWORK + "[Network]\n", "IPv4DuplicateAddressDetectionTimeoutSec=200ms"),
    ("50-lan.network", NETWORK + "[Network]\n", "MPLSRouting=yes"),
    ("50-lan.network", NETWORK + "[DHCPv4]\n", "BOOTP=yes"),
    ("50-lan.network", NETWORK + "[DHCPv6]\n", "UseSIP=yes"),
    ("50-lan.network", NETWORK + "[Bridge]\n", "Locked=yes"),
    ("50-lan.network", NETWORK + "[Bridge]\n", "MACAuthenticationBypass=yes"),
    ("50-lan.network", NETWORK + "[Bridge]\n", "VLANTunnel=yes"),
    ("50-lan.network", NETWORK + "[IPv6RoutePrefix]\nRoute=2001:db8:1::/64\n", "Preference=high"),
    ("50-lan.network", "[Match]\n", "Version=>=258"),
    ("10-vx0.netdev", VXLAN, "External=yes"),
    ("10-vx0.netdev", VXLAN, "VNIFilter=yes"),
    ("10-br0.netdev", "[NetDev]\nName=br0\nKind=bridge\n[Bridge]\n", "LinkLocalLearning=yes"),
    ("10-l2tp0.netdev", L2TP, "UDPChecksum=yes"),
    ("10-l2tp0.netdev", L2TP, "UDP6ChecksumRx=yes"),
    ("10-eth.link", LINK + "[Link]\n", "ReceiveFCS=yes"),
    ("10-eth.link", LINK + "[Link]\n", "ReceiveAll=yes"),
    ("10-eth.link", LINK + "[Link]\n", "PartialGenericSegmentationOffload=yes"),
]


@pytest.mark.parametrize("name,head,line", NEW_IN_258, ids=[line.split("=")[0] for _n, _h, line in NEW_IN_258])
def test_a_key_new_in_258_is_accepted_at_258_and_newer_than_the_target_before(name, head, line):
    text = head + line + "\n"
    key = line.split("=")[0]
    section = [h for h in head.split("\n") if h.startswith("[")][-1].strip("[]")
    assert schema.key_since(schema.unit_kind(name), section, key) == 258
    for version in (258, 259, 260):
        assert check_unit_file(name, text, target_version=version) == [], version
    for version in (252, 257):
        [d] = check_unit_file(name, text, target_version=version)
        assert (d.code, d.severity.value, d.span.line) == ("UNIT004", "warning", text.count("\n"))
        assert d.message.endswith(f"({key}= needs systemd 258; the target is systemd {version})")


HSR = "[NetDev]\nName=hsr0\nKind=hsr\n[HSR]\nPorts=eth0 eth1\nProtocol=prp\nSupervision=9\n"


def test_a_section_new_in_258_is_accepted_at_258_and_newer_than_the_target_before():
    text = LINK + "[EnergyEfficientEthernet]\nEnable=yes\nTxLowPowerIdleSec=1ms\n"
    assert check_unit_file("10-eth.link", text, target_version=258) == []
    for version in (252, 257):
        [d] = check_unit_file("10-eth.link", text, target_version=version)
        assert (d.code, d.span.line) == ("UNIT004", 3)
        assert d.message == ("Unknown section 'EnergyEfficientEthernet'. Ignoring. ([EnergyEfficientEthernet] "
                             f"needs systemd 258; the target is systemd {version})")


def test_an_hsr_device_is_made_from_258_on():
    assert check_unit_file("10-hsr0.netdev", HSR, target_version=258) == []
    for version in (252, 257):
        # networkd 257 cannot parse the kind, warns about [HSR] and ignores the file
        found = sorted(check_unit_file("10-hsr0.netdev", HSR, target_version=version), key=lambda d: d.span.line)
        assert [(d.code, d.severity.value, d.span.line) for d in found] == [
            ("UNIT009", "error", 1), ("UNIT007", "warning", 3), ("UNIT004", "warning", 4)]
        assert found[0].message == 'NetDev has no Kind= configured in "10-hsr0.netdev", ignoring.'
        assert found[1].message == ("Failed to parse netdev kind, ignoring assignment: hsr "
                                    f"(Kind=hsr needs systemd 258; the target is systemd {version})")
        assert found[2].message.endswith(f"([HSR] needs systemd 258; the target is systemd {version})")


def test_a_netdevsim_device_is_not_made_from_258_on():
    # commit 67bdb6bee0 "network/netdev: remove support of netdevsim": 258 has no such kind
    text = "[NetDev]\nName=sim0\nKind=netdevsim\n"
    for version in (252, 257):
        assert check_unit_file("10-sim0.netdev", text, target_version=version) == []
    found = sorted(check_unit_file("10-sim0.netdev", text, target_version=258), key=lambda d: d.span.line)
    assert [(d.code, d.severity.value, d.span.line) for d in found] == [("UNIT009", "error", 1),
                                                                         ("UNIT007", "warning", 3)]
    assert found[1].message == ("Failed to parse netdev kind, ignoring assignment: netdevsim "
                                "(Kind=netdevsim was removed after systemd 257)")


def test_a_kind_no_release_has_is_networkds_warning_and_the_file_is_ignored():
    text = "[NetDev]\nName=wg0\nKind=wirguard\nKind=wireguard\n[WireGuard]\nPrivateKeyFile=/etc/wg0.key\n"
    # networkd keeps the first kind it can parse: the device is made
    [d] = check_unit_file("30-wg0.netdev", text, target_version=258)
    assert (d.code, d.span.line, d.fix) == ("UNIT007", 3, "did you mean Kind=wireguard?")
    assert d.message == "Failed to parse netdev kind, ignoring assignment: wirguard"
    alone = text.replace("Kind=wireguard\n", "")
    assert sorted(d.code for d in check_unit_file("30-wg0.netdev", alone, target_version=252)) == ["UNIT007", "UNIT009"]


def test_an_hsr_device_reads_only_its_own_section():
    text = HSR + "[VXLAN]\nVNI=7\n"
    [d] = check_unit_file("10-hsr0.netdev", text, target_version=258)
    assert d.code == "UNIT002" and d.span.line == 8


def test_the_checksum_keys_258_renamed_are_read_under_both_names():
    # netdev-gperf.gperf of 258: UDPChecksum= is new, UDPCheckSum= stays ("/* deprecated */", same
    # parser, no warning); 257 knows only the old name
    old = L2TP + "UDPCheckSum=yes\nUDP6CheckSumRx=yes\nUDP6CheckSumTx=no\n"
    for version in (252, 257, 258, 260):
        assert check_unit_file("10-l2tp0.netdev", old, target_version=version) == [], version
    new = L2TP + "UDPChecksum=yes\nUDP6ChecksumRx=yes\nUDP6ChecksumTx=no\n"
    assert check_unit_file("10-l2tp0.netdev", new, target_version=258) == []
    assert [d.span.line for d in check_unit_file("10-l2tp0.netdev", new, target_version=257)] == [7, 8, 9]


def test_258_drops_no_key_257_had():
    # no gperf entry of 257 is gone in 258 (nor in 259 or 260): a 257 file means the same to 258
    for kind in ("network", "netdev", "link"):
        for section in schema.sections_for(kind, target_version=257):
            assert schema.known_keys(kind, section, 257) <= schema.known_keys(kind, section, 258), (kind, section)
            assert all(schema.key_until(kind, section, k) is None for k in schema.known_keys(kind, section, 257))


def test_check_at_258_uses_the_258_tables(netdwg, tmp_path):
    path = tmp_path / "50-lan.network"
    path.write_text(NETWORK + "[Network]\nMPLSRouting=yes\nIPv4DuplicateAddressDetectionTimeoutSec=200ms\n")
    path.chmod(0o644)
    out = netdwg("check", "--json", "--systemd-version", "258", str(path))
    assert out.returncode == 0 and json.loads(out.stdout)["diagnostics"] == []
    out = netdwg("check", "--systemd-version", "257", str(path))
    assert out.returncode == 0 and out.stdout.count("needs systemd 258; the target is systemd 257") == 2
