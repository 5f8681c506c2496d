"""Helpers for the apply integration tests: a hub and spokes as sandbox nodes
(wireguard-go, private dbus-daemon, networkd 252), files rendered the way the
networkd renderer does, and `netdwg` run inside a node.

Kept in a test_ module so pytest puts this directory on sys.path; it holds no tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from netdwg.keys import PresharedKey, PrivateKey, genkey, genpsk
from netdwg.lab.sandbox import Node, Sandbox, wait_until

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
STATE_DIR = "/etc/netdwg/state"  # inside the node's private /etc: nothing lands on the real host
PORT = 51820
# A tunnel has no use for IPv6 link-local/RA: without this networkd 252 waits ~10 s for NDisc.
NO_IPV6LL = "LinkLocalAddressing=no\nIPv6AcceptRA=no\n"
ENV = {"PYTHONPATH": str(REPO)}


@dataclass
class Host:
    name: str
    node: Node
    underlay: str  # 192.0.2.x
    vpn: str  # 10.99.0.x
    key: PrivateKey = field(default_factory=genkey)
    psk: PresharedKey = field(default_factory=genpsk)  # the spoke<->hub PSK (spokes only)

    @property
    def public(self) -> str:
        return self.key.public_key().base64


def build_lab(sb: Sandbox, spokes: int, networkd: bool = True) -> tuple[Host, list[Host], object]:
    """A switch namespace with a bridge; a hub and N spokes attached, each a node."""
    switch = sb.netns("sw")
    switch.run(["ip", "link", "add", "br0", "type", "bridge"])
    switch.run(["ip", "link", "set", "br0", "address", "02:00:00:00:00:01", "up"])
    hosts = []
    for i, name in enumerate(["hub"] + [f"s{n}" for n in range(1, spokes + 1)]):
        host = add_host(sb, switch, name, i + 1, networkd)
        hosts.append(host)
    return hosts[0], hosts[1:], switch


def add_host(sb: Sandbox, switch, name: str, index: int, networkd: bool = True) -> Host:
    ns = sb.netns(name)
    sb.veth(switch, f"p{index}", ns, "eth0")
    switch.run(["ip", "link", "set", f"p{index}", "master", "br0"])
    node = sb.node(ns)
    node.run(["ip", "addr", "add", f"192.0.2.{index}/24", "dev", "eth0"])
    if networkd:
        node.start_dbus()
        node.start_networkd(debug=True)
    node.start_wireguard_go("wg0")
    return Host(name, node, f"192.0.2.{index}", f"10.99.0.{index}")


def render_hub(hub: Host, spokes: list[Host], out: Path) -> Path:
    """What the networkd renderer writes for a hub: .netdev (inline key, 0640), .network, sysctl drop-in."""
    lines = ["[NetDev]", "Name=wg0", "Kind=wireguard", "", "[WireGuard]",
             f"PrivateKey={hub.key.reveal_base64()}", f"ListenPort={PORT}"]
    for s in spokes:
        lines += ["", f"# {s.name}", "[WireGuardPeer]", f"PublicKey={s.public}",
                  f"PresharedKey={s.psk.reveal_base64()}", f"AllowedIPs={s.vpn}/32"]
    network = f"[Match]\nName=wg0\n\n[Network]\nAddress={hub.vpn}/24\n{NO_IPV6LL}"
    sysctl = "# netdwg: the hub routes between spokes\nnet.ipv4.ip_forward = 1\nnet.ipv4.conf.all.send_redirects = 0\n"
    return write_tree(out, {"etc/systemd/network/50-wg0.netdev": "\n".join(lines) + "\n",
                            "etc/systemd/network/50-wg0.network": network,
                            "etc/sysctl.d/60-netdwg.conf": sysctl})


def render_spoke(spoke: Host, hub: Host, out: Path, extra_network: str = "") -> Path:
    netdev = "\n".join(["[NetDev]", "Name=wg0", "Kind=wireguard", "", "[WireGuard]",
                        "PrivateKeyFile=/etc/netdwg/keys/wg0.key", "",
                        f"# {hub.name}", "[WireGuardPeer]", f"PublicKey={hub.public}",
                        f"PresharedKey={spoke.psk.reveal_base64()}", "AllowedIPs=10.99.0.0/24",
                        f"Endpoint={hub.underlay}:{PORT}", "PersistentKeepalive=25"]) + "\n"
    network = f"[Match]\nName=wg0\n\n[Network]\nAddress={spoke.vpn}/24\n{NO_IPV6LL}{extra_network}"
    return write_tree(out, {"etc/systemd/network/50-wg0.netdev": netdev,
                            "etc/systemd/network/50-wg0.network": network,
                            "etc/netdwg/keys/wg0.key": spoke.key.reveal_base64() + "\n"})


def write_tree(out: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        target.chmod(0o600)  # the rendered tree itself holds keys
    return out


def netdwg(node: Node, *args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    argv = [PYTHON, "-m", "netdwg", *args]
    if args and args[0] in ("plan", "apply", "status") and "--state-dir" not in args:
        argv += ["--state-dir", STATE_DIR]
    return node.run(argv, check=False, env=ENV, input=input, timeout=timeout)


def popen_netdwg(node: Node, *args: str) -> subprocess.Popen:
    """Start netdwg in the node without waiting (nsenter execs it: the Popen pid is netdwg's)."""
    env = dict(os.environ)
    env.update(ENV)
    return subprocess.Popen(["nsenter", "-t", str(node.pid), "-m", "-n", PYTHON, "-m", "netdwg", *args,
                             "--state-dir", STATE_DIR],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


@dataclass(frozen=True)
class PeerLive:
    endpoint: str
    handshake: int
    allowed_ips: str
    keepalive: str


def wg_dump(node: Node, iface: str = "wg0") -> dict[str, PeerLive]:
    """The live peers as the real `wg` tool sees them (an observer independent of netdwg)."""
    out = node.run(["wg", "show", iface, "dump"]).stdout.splitlines()[1:]
    peers = {}
    for line in out:
        public, _psk, endpoint, ips, handshake, _rx, _tx, keepalive = line.split("\t")
        peers[public] = PeerLive(endpoint, int(handshake), ips, keepalive)
    return peers


def wait_handshake(node: Node, public: str, timeout: float = 15.0, iface: str = "wg0") -> PeerLive:
    wait_until(lambda: wg_dump(node, iface).get(public, PeerLive("", 0, "", "")).handshake > 0, timeout=timeout,
               what=f"a handshake with {public[:8]} in {node.name}")
    return wg_dump(node, iface)[public]


def ping(node: Node, address: str, count: int = 2) -> bool:
    return node.run(["ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-W", "2", address], check=False).returncode == 0


def mtimes(node: Node, paths: list[str]) -> dict[str, int]:
    return {p: node.path(p).stat().st_mtime_ns for p in paths}


def stamp() -> float:
    return time.time()
