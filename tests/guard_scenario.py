"""The roaming-conflict world in namespaces, for the guard's integration tests
and benchmark (bench/bench_guard.py), built on netdwg.lab.sandbox.

    inet (bridge, 198.51.100.0/24) ── hub 198.51.100.10, wg0 10.99.0.1 (+172.20.20.1: the other site's LAN)
         │                         └─ gw wan0 198.51.100.20, wg0 10.99.0.2, NAT, dnsmasq on lan
         └─ laptop inet0 198.51.100.30 (static)
    lan (bridge) ── gw 172.20.10.1 (MAC 02:00:00:0a:0a:01) ── dev 172.20.10.5 (iperf3 -s)
         └─ laptop lan0 (networkd, DHCP)
    cafe ── a café router handing out 172.20.10.0/24 too, from 172.20.10.1 with MAC 02:00:00:0c:0c:01
         └─ laptop cafe0 (networkd, DHCP)

The laptop runs dbus-daemon, systemd-networkd 252 (lan0, cafe0 by DHCP; wg0
address and the routes to both site LANs, metric 0), wireguard-go and
netdwg-guard. Joining a LAN = its switch port gets carrier. Under NetworkManager
the laptop's wg0 (a wireguard-go device) is configured by `netdwg apply` from
LAPTOP_TOPOLOGY, the laptop's view of this world (backend networkd: keys and peer
over UAPI, address and routes by networkd); the hub and the office gateway are
set up by hand.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from netdwg.keys import genkey
from netdwg.lab.sandbox import Netns, Node, Sandbox, wait_until
from netdwg.topology.guard_config import Action, Fingerprint, GuardConfig, GuardSite, Trust, render_guard_config
from netdwg.wireguard import Endpoint

REPO = Path(__file__).resolve().parents[1]
OFFICE_LAN = ipaddress.ip_network("172.20.10.0/24")
OTHER_LAN = ipaddress.ip_network("172.20.20.0/24")
OFFICE_ROUTER = ipaddress.ip_address("172.20.10.1")
OFFICE_MAC = "02:00:00:0a:0a:01"
CAFE_MAC = "02:00:00:0c:0c:01"
DEVICE = ipaddress.ip_address("172.20.10.5")
OTHER_HOST = ipaddress.ip_address("172.20.20.1")
HUB_PUBLIC = "198.51.100.10"
LAPTOP_NETWORKD = {
    "10-lan0.network": "[Match]\nName=lan0\n\n[Network]\nDHCP=ipv4\n\n[DHCPv4]\nClientIdentifier=mac\n",
    "10-cafe0.network": "[Match]\nName=cafe0\n\n[Network]\nDHCP=ipv4\n\n[DHCPv4]\nClientIdentifier=mac\n",
    "20-wg0.network": ("[Match]\nName=wg0\n\n[Network]\nAddress=10.99.0.4/16\n\n"
                       f"[Route]\nDestination={OFFICE_LAN}\n\n[Route]\nDestination={OTHER_LAN}\n"),
}
# The laptop's view of the world: oslo is the office behind gw, bergen the other site (the hub answers for
# it, 172.20.20.1 on its lo). The hub and bergen keep their own keys; the laptop's key and the PSKs are in
# the store next to it. No guard = yes: each test writes the guard.conf it needs.
LAPTOP_TOPOLOGY = """\
[network]
name = roaming
interface = wg0
pool = 10.99.0.0/16
port = 51820
keepalive = 25

[hosts]
  [[hub]]
  role = hub
  endpoint = {hub_public}:51820
  address = 10.99.0.1
  public_key = {hub}

  [[oslo]]
  role = site
  address = 10.99.0.2
  lan = {office_lan}
  lan_address = 172.20.10.1
  return_path = masquerade
  public_key = {gw}

  [[bergen]]
  role = site
  address = 10.99.0.3
  lan = {other_lan}
  lan_address = 172.20.20.2
  return_path = static-route
  public_key = {bergen}

  [[lap]]
  role = roaming
  address = 10.99.0.4
  reach = oslo, bergen
"""
TOPOLOGY_PATH = "/etc/netdwg/netdwg.conf"
STATE_DIR = "/etc/netdwg/state"  # in the node's private /etc


def laptop_secrets(topology_text: str, lap_key):
    """The laptop's store: its own key, and a PSK per pair of the topology."""
    from netdwg.topology import parse_topology
    from netdwg.topology.secrets import Secrets, complete_secrets

    secrets, _ = complete_secrets(parse_topology(topology_text, TOPOLOGY_PATH), Secrets(private_keys={"lap": lap_key}))
    return secrets


def laptop_netdwg(lap: Node, command: str, *args: str):
    """`netdwg COMMAND --topology LAPTOP_TOPOLOGY --host lap` in the laptop (plan, apply, status)."""
    return lap.run([sys.executable, "-m", "netdwg", command, "--topology", TOPOLOGY_PATH, "--host", "lap",
                    "--state-dir", STATE_DIR, *args], check=False, env={"PYTHONPATH": str(REPO)}, timeout=120)


def apply_laptop_tunnel(lap: Node, topology_text: str, secrets) -> None:
    """`netdwg apply --topology` on the laptop: wg0's keys, peer, address and routes from the topology."""
    from netdwg.topology.secrets import format_secrets

    lap.write_file(TOPOLOGY_PATH, topology_text)
    lap.write_file(TOPOLOGY_PATH.replace(".conf", ".secrets"), format_secrets(secrets), mode=0o600)
    result = laptop_netdwg(lap, "apply")
    if result.returncode != 0:
        raise AssertionError(f"netdwg apply on the laptop failed ({result.returncode}):\n{result.stdout}{result.stderr}")


def _dnsmasq(iface: str, router: str, domain: str, leasefile: Path, lease_time: str = "2m") -> list[str]:
    return ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", f"--interface={iface}",
            "--bind-interfaces", "--except-interface=lo", "--port=0",
            f"--dhcp-range=172.20.10.100,172.20.10.199,255.255.255.0,{lease_time}",
            f"--dhcp-option=option:router,{router}", f"--domain={domain}", "--dhcp-authoritative",
            f"--dhcp-leasefile={leasefile}", "--pid-file=", "--user=root", "--log-facility=-",
            "--no-ping"]  # dnsmasq otherwise pings a new address for 3 s before offering it


@dataclass
class RoamingLab:
    sb: Sandbox
    hub: Node
    gw: Node
    lap: Node
    dev: Netns
    lan: Netns
    cafe: Netns
    hub_key: object
    guard_pid: int | None = None
    paths: dict = field(default_factory=dict)

    # --- the laptop's world ---------------------------------------------------------
    def lap_sh(self, cmd: str, check: bool = True) -> str:
        return self.lap.run(["sh", "-c", cmd], check=check).stdout

    def route_dev(self, dst) -> str:
        """The interface `ip route get dst` on the laptop picks."""
        out = self.lap.run(["ip", "-j", "route", "get", str(dst)]).stdout
        return json.loads(out)[0].get("dev", "")

    def wg_routes(self) -> list[dict]:
        return json.loads(self.lap.run(["ip", "-j", "route", "show", "dev", "wg0"]).stdout)

    def has_lan_address(self, ifname: str = "lan0") -> bool:
        out = json.loads(self.lap.run(["ip", "-j", "-4", "addr", "show", "dev", ifname]).stdout)
        return any(a.get("family") == "inet" for l in out for a in l.get("addr_info", []))

    def join(self, which: str = "office") -> None:
        ns, port = (self.lan, "p-lap") if which == "office" else (self.cafe, "c-lap")
        ns.run(["ip", "link", "set", port, "up"])

    def leave(self, which: str = "office") -> None:
        ns, port = (self.lan, "p-lap") if which == "office" else (self.cafe, "c-lap")
        ns.run(["ip", "link", "set", port, "down"])

    def reset(self) -> None:
        """Away again: the guard stopped, both LANs left and networkd's leases on them gone."""
        self.stop_guard()
        self.leave("office")
        self.leave("cafe")
        wait_until(lambda: not self.has_lan_address("lan0") and not self.has_lan_address("cafe0"), timeout=20,
                   what="networkd to drop the leases")

    # --- the guard ---------------------------------------------------------------------
    def write_guard_config(self, action: Action, fingerprint: Fingerprint | None = None,
                           keep_hosts=(DEVICE,), timeout: float = 3.0,
                           hub_endpoint: Endpoint = Endpoint(HUB_PUBLIC, 51820),
                           trust: Trust = Trust.PASSIVE) -> GuardConfig:
        """oslo opts into passive trust unless told otherwise: most roaming tests are about what the
        guard does once a LAN is trusted; with a proof in `fingerprint`, the proof is required anyway."""
        fp = fingerprint if fingerprint is not None else Fingerprint(
            dhcp_servers=(OFFICE_ROUTER,), routers=(OFFICE_ROUTER,), router_macs=(OFFICE_MAC,),
            dns_domains=("oslo.harbor.test",))
        site = GuardSite(name="oslo", lan=OFFICE_LAN, action=action, peer=self.hub_key,
                         widen_to=ipaddress.ip_network("172.20.0.0/16") if action is Action.WIDEN else None,
                         fingerprint=fp, keep_hosts=tuple(keep_hosts), trust=trust)
        other = GuardSite(name="bergen", lan=OTHER_LAN, action=Action.REMOVE, peer=self.hub_key,
                          fingerprint=Fingerprint(dhcp_servers=(ipaddress.ip_address("172.20.20.1"),)))
        config = GuardConfig(interface="wg0", hub_peer=self.hub_key,
                             hub_endpoint=hub_endpoint, sites=(site, other),
                             identify_timeout=timeout)
        self.lap.write_file("/etc/netdwg/guard.conf", render_guard_config(config))
        return config

    def guard_argv(self, *extra: str) -> list[str]:
        rd = self.lap.rundir
        self.paths = {"state": rd / "guard.state", "status": rd / "guard.status", "learned": rd / "learned.json"}
        return [sys.executable, "-m", "netdwg.guard.daemon", "--foreground", "-v",
                "--config", "/etc/netdwg/guard.conf", "--state", str(self.paths["state"]),
                "--status", str(self.paths["status"]), "--learned", str(self.paths["learned"]), *extra]

    def start_guard(self, *extra: str, env: dict | None = None) -> int:
        pid = self.lap.spawn(self.guard_argv(*extra), name="netdwg-guard",
                             env={"PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", **(env or {})})
        self.guard_pid = pid
        wait_until(lambda: self.guard_status() is not None and self.guard_status().get("pid") == pid,
                   timeout=15, what="netdwg-guard status")
        return pid

    def guard_status(self) -> dict | None:
        try:
            return json.loads(self.paths["status"].read_text())
        except (OSError, ValueError, KeyError):
            return None

    def guard_log(self) -> str:
        try:
            return (self.lap.rundir / "netdwg-guard.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop_guard(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        pid = self.guard_pid
        if pid is None:
            return
        self.guard_pid = None
        if _comm(pid) != "python3" and not (_comm(pid) or "").startswith("python"):
            return
        os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid if _comm(pid) is None else 0
            if done == pid:
                return
            time.sleep(0.02)
        raise TimeoutError(f"netdwg-guard {pid} did not stop; log:\n{self.guard_log()[-3000:]}")

    def restart_daemon(self, name: str) -> int:
        """Stop one of the laptop's daemons by PID (SIGTERM) and start it again."""
        pid = self.lap.daemons[name]
        if _comm(pid) is not None:
            os.kill(pid, signal.SIGTERM)
            wait_until(lambda: _reap_dead(pid), timeout=10, what=f"{name} to stop")
        if name == "dbus-daemon":
            self.lap.run(["rm", "-f", "/run/dbus/system_bus_socket"])
            return self.lap.start_dbus()
        if name == "networkd":
            return self.lap.start_networkd(debug=False)
        raise ValueError(name)


def _comm(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    if stat.rsplit(")", 1)[1].split()[0] == "Z":
        return None
    return Path(f"/proc/{pid}/comm").read_text().strip()


def _reap_dead(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return _comm(pid) is None


def build_roaming_lab(sb: Sandbox, join_office: bool = False, cafe_copies_office: bool = False,
                      lan_manager: str = "networkd", tunnel: str | None = None) -> RoamingLab:
    """`cafe_copies_office`: the café's router takes the office router's MAC and hands out the
    office's domain too (its prefix, router and DHCP server identifier are the office's anyway).
    `lan_manager = "networkmanager"`: NetworkManager 1.42 takes the leases on lan0 and cafe0 (networkd
    keeps only wg0's address and routes, as on a laptop whose tunnel netdwg configures).
    `tunnel`: who configures the laptop's wg0 (wireguard-go). "netdwg" (the default under
    NetworkManager): `netdwg apply --topology LAPTOP_TOPOLOGY --host lap`, backend networkd. "networkd"
    (the default under networkd): `wg set` and a hand-written .network, which the networkd guard tests'
    networkd restarts and wg0 down/up were written against (with apply's files, whose .netdev says
    Kind=wireguard where wireguard-go made a tun device, networkd 252 did not put wg0's routes back after
    a down/up there). "wg-quick": `wg-quick up wg0` makes
    the tunnel and its routes (main table, metric 0, as wg-quick adds AllowedIPs); networkd only takes
    the leases."""
    if tunnel is None:
        tunnel = "netdwg" if lan_manager == "networkmanager" else "networkd"
    inet, hubns, gwns, lan, devns, cafe, lapns = (sb.netns(n) for n in
                                                  ("inet", "hub", "gw", "lan", "dev", "cafe", "lap"))
    # switches: bridges with fixed MACs (else the MAC follows the lowest port)
    for ns, mac in ((inet, "02:00:00:00:01:00"), (lan, "02:00:00:00:02:00")):
        ns.run(["sh", "-c", f"ip link add br0 type bridge && ip link set br0 address {mac} && ip link set br0 up"])
    for ns, port, ifname in ((hubns, "p-hub", "eth0"), (gwns, "p-gw", "wan0"), (lapns, "p-lap", "inet0")):
        sb.veth(inet, port, ns, ifname)
        inet.run(["ip", "link", "set", port, "master", "br0"])
    for ns, port, ifname in ((gwns, "p-gw", "lan0"), (devns, "p-dev", "eth0"), (lapns, "p-lap", "lan0")):
        sb.veth(lan, port, ns, ifname, up=False)
        lan.run(["ip", "link", "set", port, "master", "br0"])
    sb.veth(cafe, "c-lap", lapns, "cafe0", up=False)
    gwns.run(["sh", "-c", f"ip link set lan0 address {OFFICE_MAC} && ip link set lan0 up && "
                          "ip addr add 172.20.10.1/24 dev lan0 && ip addr add 198.51.100.20/24 dev wan0 && "
                          "sysctl -q -w net.ipv4.ip_forward=1 && "
                          "nft add table ip nat && "
                          "nft 'add chain ip nat post { type nat hook postrouting priority 100; }' && "
                          "nft add rule ip nat post oifname wan0 ip saddr 172.20.10.0/24 masquerade"])
    lan.run(["sh", "-c", "ip link set p-gw up && ip link set p-dev up"])
    devns.run(["sh", "-c", "ip link set eth0 up && ip addr add 172.20.10.5/24 dev eth0 && "
                           "ip route add default via 172.20.10.1"])
    cafe_mac, cafe_domain = (OFFICE_MAC, "oslo.harbor.test") if cafe_copies_office else (CAFE_MAC, "cafe.test")
    cafe.run(["sh", "-c", f"ip link set c-lap address {cafe_mac} && ip addr add 172.20.10.1/24 dev c-lap"])
    hubns.run(["sh", "-c", "ip addr add 198.51.100.10/24 dev eth0 && sysctl -q -w net.ipv4.ip_forward=1 && "
                           "ip addr add 172.20.20.1/32 dev lo"])
    lapns.run(["sh", "-c", "ip addr add 198.51.100.30/24 dev inet0"])
    hub, gw, lap = sb.node(hubns), sb.node(gwns), sb.node(lapns)
    keys = {name: genkey() for name in ("hub", "gw", "lap")}
    for name, node in (("hub", hub), ("gw", gw), ("lap", lap)):
        if node is not lap or tunnel == "networkd":  # else the laptop's key is in its wg0.conf or store
            node.write_file("/etc/netdwg/wg.key", keys[name].reveal_base64() + "\n", mode=0o600)
        if node is not lap or tunnel != "wg-quick":  # wg-quick starts the laptop's own
            node.start_wireguard_go("wg0")
    pub = {n: k.public_key().base64 for n, k in keys.items()}
    topology = LAPTOP_TOPOLOGY.format(hub_public=HUB_PUBLIC, hub=pub["hub"], gw=pub["gw"],
                                      bergen=genkey().public_key().base64, office_lan=OFFICE_LAN, other_lan=OTHER_LAN)
    secrets = laptop_secrets(topology, keys["lap"]) if tunnel == "netdwg" else None
    psk = ""
    if secrets is not None:  # the hub's side of the laptop's PSK
        hub.write_file("/etc/netdwg/lap.psk", secrets.psk("hub", "lap").reveal_base64() + "\n", mode=0o600)
        psk = " preshared-key /etc/netdwg/lap.psk"
    hub.run(["sh", "-c", f"wg set wg0 private-key /etc/netdwg/wg.key listen-port 51820 "
                         f"peer {pub['gw']} allowed-ips 10.99.0.2/32,{OFFICE_LAN} "
                         f"peer {pub['lap']} allowed-ips 10.99.0.4/32{psk} && "
                         f"ip addr add 10.99.0.1/16 dev wg0 && ip link set wg0 up && "
                         f"ip route add {OFFICE_LAN} dev wg0"])
    gw.run(["sh", "-c", f"wg set wg0 private-key /etc/netdwg/wg.key "
                        f"peer {pub['hub']} allowed-ips 10.99.0.0/16,{OTHER_LAN} endpoint {HUB_PUBLIC}:51820 "
                        f"persistent-keepalive 25 && ip addr add 10.99.0.2/16 dev wg0 && ip link set wg0 up && "
                        f"ip route add {OTHER_LAN} dev wg0"])
    gw.spawn(_dnsmasq("lan0", "172.20.10.1", "oslo.harbor.test", gw.rundir / "dnsmasq.leases"), name="dnsmasq")
    sb.spawn(cafe, _dnsmasq("c-lap", "172.20.10.1", cafe_domain, sb.rundir / "cafe-dnsmasq.leases"),
             name="dnsmasq")
    sb.spawn(devns, ["iperf3", "-s", "-B", str(DEVICE)], name="iperf3")
    allowed = f"10.99.0.0/16, {OFFICE_LAN}, {OTHER_LAN}"
    if tunnel == "networkd":
        lap.run(["sh", "-c", f"wg set wg0 private-key /etc/netdwg/wg.key "
                             f"peer {pub['hub']} allowed-ips {allowed.replace(' ', '')} "
                             f"endpoint {HUB_PUBLIC}:51820 persistent-keepalive 25"])
    elif tunnel == "wg-quick":
        lap.write_file("/etc/wireguard/wg0.conf", f"[Interface]\nPrivateKey = {keys['lap'].reveal_base64()}\n"
                       f"Address = 10.99.0.4/16\n\n[Peer]\nPublicKey = {pub['hub']}\nAllowedIPs = {allowed}\n"
                       f"Endpoint = {HUB_PUBLIC}:51820\nPersistentKeepalive = 25\n", mode=0o600)
    for name, text in LAPTOP_NETWORKD.items():
        if (lan_manager == "networkd" and not name.startswith("20-wg0")) or (
                name.startswith("20-wg0") and tunnel == "networkd"):
            lap.write_file(f"/etc/systemd/network/{name}", text)
    lap.start_dbus()
    lap.start_networkd(debug=False)
    if tunnel == "netdwg":
        apply_laptop_tunnel(lap, topology, secrets)
    if tunnel == "wg-quick":
        up = lap.wg_quick_up("wg0")
        assert up.returncode == 0, up.stdout + up.stderr
    if lan_manager == "networkmanager":
        from netdwg.host.networkmanager import NetworkManagerBus
        try:  # tests/ is on sys.path under pytest; the benchmark imports this module as tests.guard_scenario
            from nm_support import CONNECTIONS, bus_address, ethernet_profile, start_networkmanager
        except ImportError:
            from tests.nm_support import CONNECTIONS, bus_address, ethernet_profile, start_networkmanager

        start_networkmanager(lap, unmanaged=("wg0", "inet0"))
        for name, interface in (("lan", "lan0"), ("cafe", "cafe0")):
            lap.write_file(f"{CONNECTIONS}/{name}.nmconnection", ethernet_profile(name, interface), mode=0o600)
        assert NetworkManagerBus(bus_address(lap)).load_connections(
            [f"{CONNECTIONS}/lan.nmconnection", f"{CONNECTIONS}/cafe.nmconnection"]) == []
    lab = RoamingLab(sb, hub, gw, lap, devns, lan, cafe, keys["hub"].public_key())
    wait_until(lambda: any(r.get("dst") == str(OFFICE_LAN) for r in lab.wg_routes()), timeout=15,
               what=f"{tunnel} to route the office LAN into wg0")
    if join_office:
        lab.join("office")
    return lab


def ping(node_or_ns, dst, count: int = 1, timeout: float = 2.0) -> bool:
    res = node_or_ns.run(["ping", "-n", "-q", "-c", str(count), "-W", str(int(max(1, timeout))), str(dst)],
                         check=False)
    return res.returncode == 0


def iperf_mbps(node: Node, dst=DEVICE, seconds: int = 1) -> float:
    out = node.run(["iperf3", "-J", "-c", str(dst), "-t", str(int(seconds)), "--connect-timeout", "3000"],
                   check=False, timeout=30).stdout
    try:
        return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e6
    except (ValueError, KeyError):
        return 0.0
