"""`netdwg check` reads what networkd reads: a named unit file with its drop-ins and their key
files; a directory by file kind from name and place; networkd's severities; the entry at fault."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from netdwg.keys import genkey, genpsk

PUB = "7kvBXBelMiBAzO8Pryc5S7sbbPFS4TcXGK+Mt4LFdlo="


def write(path: Path, text: str, mode: int = 0o640) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def diags(out: subprocess.CompletedProcess) -> list[dict]:
    return json.loads(out.stdout)["diagnostics"]


NETDEV = "[NetDev]\nName=wg99\nKind=wireguard\n\n[WireGuard]\nListenPort=51820\n"


def test_named_netdev_is_read_with_the_private_key_of_its_dropin(netdwg, tmp_path):
    main = write(tmp_path / "25-wireguard.netdev", NETDEV)
    write(tmp_path / "25-wireguard.netdev.d/private-key.conf",
          f"[WireGuard]\nPrivateKey={genkey().reveal_base64()}\n")
    write(tmp_path / "25-wireguard.netdev.d/peer.conf", f"[WireGuardPeer]\nPublicKey={PUB}\nAllowedIPs=10.0.0.0/24\n")
    out = netdwg("check", "--json", main)
    assert out.returncode == 0 and diags(out) == [], out.stdout
    # without the drop-in networkd ignores the device: an error
    (tmp_path / "25-wireguard.netdev.d/private-key.conf").unlink()
    out = netdwg("check", "--json", main)
    assert out.returncode == 2
    assert [d["code"] for d in diags(out)] == ["UNIT009"]


def test_dropin_findings_come_with_the_main_file_once(netdwg, tmp_path):
    main = write(tmp_path / "net/30-wg.netdev", NETDEV + f"PrivateKey={genkey().reveal_base64()}\n")
    dropin = write(tmp_path / "net/30-wg.netdev.d/50-x.conf", "[WireGuardPeer]\nPublicKy=x\n")
    for args in ([main], [str(tmp_path / "net")], [main, dropin]):
        found = [(d["file"], d["line"], d["code"]) for d in diags(netdwg("check", "--json", *args))]
        assert found.count((dropin, 2, "UNIT003")) == 1, (args, found)


def test_key_files_named_in_dropins_are_read_like_networkd(netdwg, tmp_path):
    main = write(tmp_path / "30-wg.netdev", NETDEV)
    key = tmp_path / "wg.key"
    write(tmp_path / "30-wg.netdev.d/key.conf", f"[WireGuard]\nPrivateKeyFile={key}\n")
    psk = tmp_path / "peer.psk"
    write(tmp_path / "30-wg.netdev.d/peer.conf", f"[WireGuardPeer]\nPublicKey={PUB}\nPresharedKeyFile={psk}\n")
    write(key, "not a key\n")
    write(psk, genpsk().reveal_base64() + "\n", 0o644)
    out = netdwg("check", "--json", main)
    assert out.returncode == 2
    found = {(Path(d["file"]).name, d["line"], d["severity"], d["message"]) for d in diags(out)}
    assert found == {
        ("key.conf", 2, "error", f"wg99: Failed to read private key from {key}. Ignoring network device."),
        ("peer.conf", 3, "warning",
         f"{psk} has 0644 mode that is too permissive, please adjust the ownership and access mode."),
    }
    write(key, genkey().reveal_base64() + "\n")
    psk.chmod(0o640)
    assert netdwg("check", "--strict", main).returncode == 0
    # a key file missing here: silent for a copy checked elsewhere (it may be written on the host) ...
    key.unlink()
    assert netdwg("check", "--strict", main).returncode == 0
    # ... networkd's error for a file checked in place, in a networkd directory
    from netdwg.unitfile.check import _key_file_diagnostics
    from netdwg.unitfile import effective_unit, parse_unit

    eff = effective_unit(parse_unit(NETDEV + f"PrivateKeyFile={key}\n", "/etc/systemd/network/30-wg.netdev"))
    (diag,) = _key_file_diagnostics(eff, 252)
    assert (diag.severity.value, diag.span.line) == ("error", 7)
    assert diag.message == f"wg99: Failed to read private key from {key}. Ignoring network device."


def test_directory_kinds_come_from_name_and_place_not_content(netdwg, tmp_path):
    conf = tmp_path / "conf"
    write(conf / "isc-dhcpd.conf", "default-lease-time 600;\nsubnet6 3ffe:501:ffff:100::/64 {\n}\n")
    write(conf / "org.freedesktop.NetworkManager.conf", "<busconfig>\n</busconfig>\n")
    write(conf / "networkd-manage-foreign-routes-no.conf", "[Network]\nManageForeignRoutes=no\n")
    write(conf / "10-dummy.netdev", "[NetDev]\nName=dummy98\nKind=dummy\n")
    out = netdwg("check", "--json", str(conf))
    doc = json.loads(out.stdout)
    assert out.returncode == 0 and doc["diagnostics"] == [], out.stdout
    assert doc["files"] == [{"path": str(conf / "10-dummy.netdev"), "kind": "unit"}]
    # sysctl.d and /etc/wireguard by place
    write(tmp_path / "sysctl.d/10-fwd.conf", "net.ipv4.ip_forward = 1\n", 0o644)
    write(tmp_path / "wireguard/wg0.conf", f"[Interface]\nPrivateKey = {genkey().reveal_base64()}\n", 0o600)
    doc = json.loads(netdwg("check", "--json", str(tmp_path / "sysctl.d"), str(tmp_path / "wireguard")).stdout)
    assert [f["kind"] for f in doc["files"]] == ["sysctl", "wg-quick"]


def test_a_value_networkd_ignores_is_a_warning_quoting_the_entry(netdwg, tmp_path):
    network = write(tmp_path / "a.network", "[Match]\nName=wg0\n[Network]\nAddress=10.0.0.300/24\n")
    out = netdwg("check", "--json", network)
    (diag,) = diags(out)
    assert out.returncode == 0
    assert (diag["severity"], diag["message"]) == ("warning", "Invalid address '10.0.0.300/24', ignoring assignment")
    netdev = write(tmp_path / "b.netdev", NETDEV + f"PrivateKey={genkey().reveal_base64()}\n[WireGuardPeer]\n"
                   f"PublicKey={PUB}\nAllowedIPs=10.0.0.0/24, 10.1.0.300/24,10.2.0.1/24,fd00::/64\n")
    found = [(d["severity"], d["message"]) for d in diags(netdwg("check", "--json", netdev))]
    assert found == [("warning", "Network address is invalid, ignoring assignment: 10.1.0.300/24"),
                     ("warning", "Specified address '10.2.0.1/24' is not properly masked, assuming '10.2.0.0/24'.")]


def test_wgquick_host_bits_warning_names_the_entry(netdwg, tmp_path):
    path = write(tmp_path / "wg0.conf", f"[Interface]\nPrivateKey = {genkey().reveal_base64()}\n[Peer]\n"
                 f"PublicKey = {PUB}\nAllowedIPs = 10.0.0.0/24, 10.1.0.3/24, fd00::/64\n", 0o600)
    (diag,) = diags(netdwg("check", "--json", path))
    assert diag["code"] == "WGQ007" and diag["line"] == 5
    assert diag["message"] == "AllowedIPs entry '10.1.0.3/24' has a nonzero host part; wg masks it to 10.1.0.0/24"
    assert diag["fix"] == "write 10.1.0.0/24"


def test_networkmanager_keyfiles_are_checked_by_name_and_place(netdwg, tmp_path):
    """.nmconnection files (netdwg.keyfiles, read as NetworkManager 1.42 reads them): a WireGuard
    profile in full, mode included; another profile for its syntax only."""
    data = Path(__file__).resolve().parents[1] / "data" / "networkmanager"
    conns = tmp_path / "etc/NetworkManager/system-connections"
    profile = write(conns / "wg0.nmconnection", (data / "modified-wg0.nmconnection").read_text(), 0o600)
    write(conns / "lan.nmconnection", "[connection]\nid=lan\ntype=ethernet\ninterface-name=eth0\n\n[ipv4]\n"
          "method=auto\n", 0o600)
    out = netdwg("check", "--json", str(tmp_path))  # a host tree: found below it by place
    doc = json.loads(out.stdout)
    assert out.returncode == 0 and doc["diagnostics"] == [], out.stdout
    assert sorted((Path(f["path"]).name, f["kind"]) for f in doc["files"]) == [
        ("lan.nmconnection", "nm-keyfile"), ("wg0.nmconnection", "nm-keyfile")]
    Path(profile).chmod(0o644)  # NetworkManager does not load a profile others can read
    out = netdwg("check", "--json", profile)
    (diag,) = diags(out)
    assert out.returncode == 2 and diag["code"] == "NMK003" and "insecure" in diag["message"]


def test_one_address_section_holds_one_family_in_networkd_order():
    from netdwg.unitfile import check_unit_file

    text = ("[Match]\nName=eth0\n[Address]\nBroadcast=10.0.0.255\nAddress=fd00::1/64\n"
            "[Address]\nAddress=fd00::2/64\nBroadcast=yes\nBroadcast=10.0.0.255\nPeer=10.0.0.9/32\n"
            "[Address]\nAddress=10.0.0.3/24\nBroadcast=0.0.0.0\n")
    found = [(d.span.line, d.message) for d in check_unit_file("a.network", text)]
    assert found == [
        (5, "Address is incompatible, ignoring assignment: fd00::1/64"),
        (9, "Broadcast is not valid for IPv6 addresses, ignoring assignment: 10.0.0.255"),
        (10, "Address is incompatible, ignoring assignment: 10.0.0.9/32"),
        (13, "Broadcast cannot be ANY address, ignoring assignment: 0.0.0.0"),
    ]
