"""The office hosts a site's proof names: the lab runs them, with keys of its own.

A site's ``ssh_host_key = "HOST KEYTYPE BASE64"`` pins the key of an office
host that must sign an SSH key exchange before a laptop's guard trusts the
LAN. The lab cannot hold the real office's private key (nor the hosts'
WireGuard keys: `state.lab_topology`), so for each such site it generates an
ed25519 host key, pins that key in the topology its hosts get, and runs sshd
with it on HOST in the LAN's test device (HOST is added to the device when it
is another address of the LAN). ``tls_pin`` is not simulated.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import Mapping

from netdwg.host.files import Tree
from netdwg.lab.sandbox import wait_until
from netdwg.topology.model import Topology

SSHD = "/usr/sbin/sshd"


@dataclass(frozen=True, slots=True)
class OfficeHost:
    site: str
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int


@dataclass(frozen=True, slots=True)
class HostKey:
    private_openssh: bytes  # the sshd host key file (written 0600 under the lab's run directory)
    public_line: str  # "ssh-ed25519 BASE64"


def office_hosts(topology: Topology) -> tuple[OfficeHost, ...]:
    """Every office host a site's ssh_host_key names (its checked form: HOST or [HOST]:PORT first)."""
    out = []
    for host in topology.hosts:
        for lan in host.lans:
            pinned = lan.fingerprint.ssh_host_key
            if pinned:
                where, port = pinned.split()[0], 22
                if where.startswith("[") and "]:" in where:
                    where, _, port_text = where[1:].partition("]:")
                    port = int(port_text)
                out.append(OfficeHost(host.name, ipaddress.ip_address(where.strip("[]")), port))
    return tuple(dict.fromkeys(out))


def generate_host_key() -> HostKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return HostKey(private, public.decode())


def known_hosts_line(office: OfficeHost, key: HostKey) -> str:
    host = str(office.address) if office.port == 22 and office.address.version == 4 else (
        f"[{office.address}]:{office.port}")
    return f"{host} {key.public_line}"


def pin_lab_keys(text: str, pins: Mapping[str, str]) -> str:
    """The topology text with each site's ssh_host_key value replaced by pins[site] (the rest of
    the file byte for byte: the lab's hosts get the admin's file, with the lab's keys)."""
    out, host = [], None
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("[["):
            host = stripped.strip("[]").strip()
        elif stripped.startswith("[") and not stripped.startswith("[["):
            host = None
        key = stripped.split("=", 1)[0].strip() if "=" in stripped and not stripped.startswith("#") else ""
        if key == "ssh_host_key" and host in pins:
            indent = line[:len(line) - len(line.lstrip())]
            line = f'{indent}ssh_host_key = "{pins[host]}"' + ("\n" if line.endswith("\n") else "")
        out.append(line)
    return "".join(out)


def start_office_hosts(lab, keys: Mapping[str, HostKey]) -> int:
    """sshd with the lab's key on every office host a proof names; returns how many."""
    started = 0
    for office in office_hosts(lab.topology):
        lan = next(lan for lan in lab.world.lans_of(office.site)
                   if office.address in lan.prefix or (lan.prefix6 and office.address in lan.prefix6))
        device = lab.ns(lan.device)
        plen = lan.prefix.prefixlen if office.address.version == 4 else lan.prefix6.prefixlen
        if office.address not in (lan.device_address.ip, lan.device_address6 and lan.device_address6.ip):
            device.run(["ip", "addr", "add", f"{office.address}/{plen}", "dev", "eth0", "nodad"])
        keyfile = lab.sandbox.rundir / f"{office.site}-ssh_host_ed25519_key"
        Tree(keyfile.parent).write(keyfile.name, keys[office.site].private_openssh, 0o600)  # netdwg's one writer
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
        listen = f"[{office.address}]:{office.port}" if office.address.version == 6 else \
            f"{office.address}:{office.port}"
        lab.sandbox.spawn(device, [SSHD, "-D", "-e", "-f", "/dev/null", "-h", str(keyfile), "-o",
                                   f"ListenAddress={listen}", "-o", "PidFile=none"], name="sshd")
        log = lab.sandbox.rundir / f"{device.name}-sshd.log"
        wait_until(lambda: log.exists() and "Server listening" in log.read_text(errors="replace"), 15,
                   what=f"sshd on {office.site}'s office host {office.address}")
        started += 1
    return started
