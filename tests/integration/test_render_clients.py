"""Real clients accept what the renderers write:

- netplan 0.106: `netplan generate --root-dir` on our YAML gives networkd files with the
  same peers, keys, AllowedIPs, addresses and routes as our own networkd renderer's;
- wg-quick: our confs pass real `wg-quick strip`, and `wg setconf` loads the result into a
  wireguard-go device whose `wg showconf` matches the compiled host;
- systemd-networkd 252 loads our .netdev/.network without a warning and configures the
  addresses, MTU and routes on a (wireguard-go) interface;
- nftables: every ruleset passes `nft -c -f` and loads twice (replace) in a throwaway netns;
- sysctl: every drop-in applies with systemd-sysctl in a throwaway netns.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import time
from pathlib import Path, PurePosixPath

import pytest

from netdwg.render import render_host, render_interfaces
from netdwg.topology.compile import compile_topology
from netdwg.unitfile import effective_unit, parse_unit
from netdwg.unitfile.views import network_view, route_views, to_wg_device
from netdwg.wgquick import load_wgquick, strip
from golden_support import SCENARIOS, load_scenario

pytestmark = pytest.mark.root

ALL_HOSTS = [(s, h.name) for s in SCENARIOS for h in load_scenario(s)[0].hosts]


def compiled(scenario):
    return compile_topology(*load_scenario(scenario))


def write_tree(root: Path, files) -> None:
    for f in files:
        target = root / f.relative_to_root()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f.text)
        os.chmod(target, f.mode)


def read_networkd(files_by_path, netdev_path, network_path, read_secret=None):
    netdev = files_by_path[netdev_path]
    network = files_by_path[network_path]
    device = to_wg_device(effective_unit(parse_unit(netdev, str(netdev_path))), read_secret)
    eff = effective_unit(parse_unit(network, str(network_path)))
    return device, set(network_view(eff).addresses), {r.destination for r in route_views(eff)}


def key_reader(root: Path):
    def read(path: PurePosixPath, span):
        full = root / path.relative_to("/")
        if not full.exists():  # a host's own key file: not ours to know
            from netdwg.keys import genkey

            return genkey().reveal_base64()
        return full.read_text()
    return read


def same_peers(a, b) -> bool:
    """Same peers with the same configuration, in any order (wg showconf orders them its own way)."""
    return len(a.peers) == len(b.peers) and all(
        (other := b.peer(x.public_key)) is not None and x.same_config(other) for x in a.peers)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_netplan_generate_gives_the_same_networkd_files(tmp_path, scenario):
    configs = compiled(scenario)
    # netplan generate mostly waits (1.7 s wall, 0.3 s CPU here): run every host at once.
    jobs = []
    for host, config in configs.items():
        for key_files in (False, True):
            base = tmp_path / f"{host}-{'keyfiles' if key_files else 'inline'}"
            write_tree(base / "ours", render_interfaces(config, "networkd", key_files=key_files))
            write_tree(base / "netplan", render_interfaces(config, "netplan", key_files=key_files))
            proc = subprocess.Popen(["netplan", "generate", "--root-dir", str(base / "netplan")],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            jobs.append((config, base, proc))
    for config, base, proc in jobs:
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        assert "too open" not in stderr, stderr
        root, ours = base / "netplan", base / "ours"
        gen = {PurePosixPath("/" + str(p.relative_to(root))): p.read_text()
               for p in (root / "run/systemd/network").iterdir()}
        mine = {PurePosixPath("/" + str(p.relative_to(ours))): p.read_text()
                for p in (ours / "etc/systemd/network").iterdir()}
        for iface in config.interfaces:
            theirs_dev, theirs_addr, theirs_routes = read_networkd(
                gen, PurePosixPath(f"/run/systemd/network/10-netplan-{iface.name}.netdev"),
                PurePosixPath(f"/run/systemd/network/10-netplan-{iface.name}.network"), key_reader(root))
            my_dev, my_addr, my_routes = read_networkd(
                mine, PurePosixPath(f"/etc/systemd/network/50-{iface.name}.netdev"),
                PurePosixPath(f"/etc/systemd/network/50-{iface.name}.network"), key_reader(ours))
            assert same_peers(theirs_dev, my_dev), f"{config.name} {base.name}"
            assert [p.public_key for p in theirs_dev.peers] == [p.public_key for p in iface.device.peers]
            if iface.device.private_key is not None:
                assert theirs_dev.private_key == my_dev.private_key == iface.device.private_key
            assert theirs_dev.listen_port == my_dev.listen_port
            assert theirs_addr == my_addr == set(iface.addresses)
            assert theirs_routes == my_routes


# --- wg-quick ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def wg_node():
    from netdwg.lab.sandbox import Sandbox

    with Sandbox(prefix="ndwt") as sb:
        node = sb.node(sb.netns("wgq"))
        node.start_wireguard_go("wgt")
        yield node


@pytest.mark.parametrize("scenario,host", ALL_HOSTS)
def test_wg_quick_conf_passes_real_strip_and_setconf(tmp_path, wg_node, scenario, host):
    config = compiled(scenario)[host]
    for f in render_interfaces(config, "wg-quick"):
        path = tmp_path / f.path.name
        path.write_text(f.text)
        os.chmod(path, f.mode)
        res = subprocess.run(["wg-quick", "strip", str(path)], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        assert "world accessible" not in res.stderr
        stripped = res.stdout
        assert stripped == strip(f.text)  # the teammate's strip agrees with the real one
        iface = config.interface(f.path.stem)
        if iface.device.private_key is None:  # a host that keeps its key: give the device one
            from netdwg.keys import genkey

            stripped = stripped.replace("[Interface]\n", f"[Interface]\nPrivateKey = {genkey().reveal_base64()}\n", 1)
        wg_node.write_file("/tmp/stripped.conf", stripped, mode=0o600)
        wg_node.run(["wg", "setconf", "wgt", "/tmp/stripped.conf"])
        shown = wg_node.run(["wg", "showconf", "wgt"]).stdout
        live = load_wgquick(shown, "showconf", "wgt").device
        assert same_peers(live, iface.device), shown
        if iface.device.private_key is not None:
            assert live.private_key == iface.device.private_key
        assert live.listen_port == iface.device.listen_port or iface.device.listen_port is None


# --- networkd ------------------------------------------------------------------------------

WARNING_WORDS = ("Unknown key", "too permissive", "Permission denied", "Failed to parse", "Invalid",
                 "ignoring", "Ignoring")


@pytest.mark.parametrize("key_files", [False, True], ids=["inline", "keyfiles"])
@pytest.mark.parametrize("scenario,host", [("hub-spokes", "relay"), ("hub-spokes", "ana"),
                                           ("hub-spokes", "bergen"), ("site-to-site", "alpha"),
                                           ("dual-stack", "office"), ("relay", "east")])
def test_networkd_252_loads_our_files_without_warnings(networkd_node, scenario, host, key_files):
    config = compiled(scenario)[host]
    assert_networkd_loads(networkd_node, config, render_interfaces(config, "networkd", key_files=key_files))


def assert_networkd_loads(node, config, files) -> None:
    """networkd 252 configures every interface's addresses, MTU and routes from `files`, with no warning."""
    for iface in config.interfaces:
        node.start_wireguard_go(iface.name)  # networkd cannot create the device without the kernel module
    for f in files:
        node.write_file(str(f.path), f.text, mode=f.mode, owner=f.owner, group=f.group)
    if config.interfaces[0].device.private_key is None:  # bergen keeps its own key: put one where it says
        from netdwg.keys import genkey

        node.write_file(str(config.interfaces[0].private_key_file), genkey().reveal_base64() + "\n",
                        mode=0o640, group="systemd-network")
    node.run(["networkctl", "reload"])
    for iface in config.interfaces:
        deadline = time.monotonic() + 15
        while True:
            addrs = json.loads(node.run(["ip", "-j", "addr", "show", "dev", iface.name]).stdout)[0]
            have = {ipaddress.ip_interface(f"{a['local']}/{a['prefixlen']}") for a in addrs["addr_info"]}
            # networkd may set the MTU a moment after the addresses: wait for both
            if (set(iface.addresses) <= have and addrs["mtu"] == iface.mtu) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert set(iface.addresses) <= have, node.networkd_log()[-3000:]
        assert addrs["mtu"] == iface.mtu
        for route in iface.routes:
            family = "-6" if route.destination.version == 6 else "-4"
            out = node.run(["ip", family, "route", "show", str(route.destination), "dev", iface.name]).stdout
            deadline = time.monotonic() + 5
            while not out.strip() and time.monotonic() < deadline:
                time.sleep(0.1)
                out = node.run(["ip", family, "route", "show", str(route.destination), "dev", iface.name]).stdout
            assert out.strip(), f"route {route.destination} missing\n{node.networkd_log()[-3000:]}"
    log = node.networkd_log()
    ours = [line for line in log.splitlines()
            if any(str(f.path) in line or f.path.name in line for f in files)
            and any(w in line for w in WARNING_WORDS)]
    assert not ours, "\n".join(ours)


def _setup_state(node, ifname: str) -> str:
    out = node.run(["networkctl", "list", "--no-legend", "--no-pager"]).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[1] == ifname:
            return fields[-1]
    return "(missing)"


@pytest.mark.parametrize("scenario,host", [("dual-stack", "office"), ("hub-spokes", "relay")])
def test_networkd_configures_our_wireguard_link_without_waiting_for_a_router(networkd_node, scenario, host):
    """No IPv6 link-local/RA on the tunnel: "configured" at once, not after NDisc's ~12 s timeout.

    wireguard-go makes a tun device, for which networkd 252 (unlike for kind "wireguard")
    would otherwise add a fe80:: address and solicit routers. IPv6 addresses and routes
    must still be configured without the link-local address (dual-stack).
    """
    node = networkd_node
    config = compiled(scenario)[host]
    iface = config.interfaces[0]
    node.start_wireguard_go(iface.name)
    for f in render_interfaces(config, "networkd"):
        node.write_file(str(f.path), f.text, mode=f.mode, owner=f.owner, group=f.group)
    started = time.monotonic()
    node.run(["networkctl", "reload"])
    state = _setup_state(node, iface.name)
    while state != "configured" and time.monotonic() - started < 15:
        time.sleep(0.02)
        state = _setup_state(node, iface.name)
    took = time.monotonic() - started
    assert state == "configured", node.networkd_log()[-3000:]
    assert took < 1.0, f"{iface.name} took {took:.2f} s to be configured\n{node.networkd_log()[-3000:]}"
    addrs = json.loads(node.run(["ip", "-j", "addr", "show", "dev", iface.name]).stdout)[0]["addr_info"]
    have = {ipaddress.ip_interface(f"{a['local']}/{a['prefixlen']}") for a in addrs}
    assert set(iface.addresses) <= have
    assert not [a for a in have if a.version == 6 and a.ip.is_link_local], have
    for route in iface.routes:
        family = "-6" if route.destination.version == 6 else "-4"
        out = node.run(["ip", family, "route", "show", str(route.destination), "dev", iface.name]).stdout
        assert out.strip(), f"route {route.destination} missing"


# --- nftables and sysctl ---------------------------------------------------------------------

@pytest.mark.parametrize("scenario", SCENARIOS)
def test_nftables_rulesets_check_and_load_in_a_throwaway_netns(sandbox, tmp_path, scenario):
    ns = sandbox.netns("nft")
    for host, config in compiled(scenario).items():
        for f in render_host(config):
            if f.path.suffix != ".nft":
                continue
            path = tmp_path / f"{host}.nft"
            path.write_text(f.text)
            res = ns.run(["nft", "-c", "-f", str(path)], check=False)
            assert res.returncode == 0, f"{host}: {res.stderr}"
            ns.run(["nft", "-f", str(path)])
            ns.run(["nft", "-f", str(path)])  # loading again replaces the table, no duplicates
            listed = ns.run(["nft", "list", "table", "inet", "netdwg"]).stdout
            assert listed.count("ct state established,related accept") == (1 if "chain forward" in f.text else 0)
            ns.run(["nft", "delete", "table", "inet", "netdwg"])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_sysctl_dropins_apply(sandbox, tmp_path, scenario):
    ns = sandbox.netns("sysctl")
    for host, config in compiled(scenario).items():
        for f in render_host(config):
            if not str(f.path).startswith("/etc/sysctl.d/"):
                continue
            path = tmp_path / f"{host}.conf"
            path.write_text(f.text)
            # systemd-sysctl is what applies /etc/sysctl.d at boot (and honours the "-" prefix)
            res = ns.run(["/lib/systemd/systemd-sysctl", str(path)], check=False)
            assert res.returncode == 0 and not res.stderr.strip(), f"{host}: {res.stderr}"
            for s in config.sysctls:
                if s.ignore_missing:
                    continue
                assert ns.run(["sysctl", "-n", s.key]).stdout.strip() == s.value
