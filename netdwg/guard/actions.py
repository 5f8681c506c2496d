"""The guard's effects behind two small ports: routes (netlink, `RoutePort`,
implemented by netdwg.guard.rtnl.RtnlRoutes) and a peer's AllowedIPs and
endpoint (the WireGuard device, `WgPort`: UAPI socket or `wg`).

Every effect is announced in wg-quick's ``[#] ...`` style in the log.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import socket
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Protocol

from netdwg.errors import ExternalError
from netdwg.guard.observed import Route
from netdwg.guard.policy import AddRoute, AddRule, Apply, Change, DeleteRoute, Probe, Step, SwapAllowedIps, Undo
from netdwg.keys import PublicKey
from netdwg.wireguard import IPNetwork

log = logging.getLogger("netdwg.guard")

SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)


class RoutePort(Protocol):
    def add_route(self, route: Route) -> None: ...
    def forget_neighbour(self, dev: str, ip) -> None:
        """Drop an unresolved (INCOMPLETE/FAILED) neighbour entry so the next packet sends a
        fresh ARP/NS at once instead of waiting for the kernel's 1 s retransmit timer."""
        try:
            self._ipr.neigh("del", dst=str(ip), ifindex=self.ifindex(dev),
                            family=socket.AF_INET if ip.version == 4 else socket.AF_INET6)
        except Exception:  # not there, or already resolved meanwhile: fine
            pass

    def delete_route(self, route: Route, seen_present: bool = False) -> None: ...
    def add_rule(self, rule: AddRule) -> None: ...
    def delete_rule(self, rule: AddRule) -> None: ...


class WgPort(Protocol):
    def allowed_ips(self, peer: PublicKey) -> tuple[IPNetwork, ...]: ...
    def set_allowed_ips(self, peer: PublicKey, ips: Iterable[IPNetwork]) -> None: ...
    def set_endpoint(self, peer: PublicKey, endpoint: str) -> None: ...


# Routes: netdwg.guard.rtnl.RtnlRoutes (a stdlib rtnetlink writer; see why there).


# --- the WireGuard device --------------------------------------------------------

def _uapi_path(interface: str) -> Path | None:
    for base in ("/run/wireguard", "/var/run/wireguard"):
        path = Path(base) / f"{interface}.sock"
        if path.exists():
            return path
    return None


class UapiWg:
    """A userspace device (wireguard-go) over its UAPI socket; keys in hex."""

    def __init__(self, interface: str, path: Path | None = None) -> None:
        self.interface = interface
        self.path = path

    def _call(self, request: str) -> str:
        path = self.path or _uapi_path(self.interface)
        if path is None:
            raise ExternalError(f"no UAPI socket for {self.interface}")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2.0)
            sock.connect(str(path))
            sock.sendall(request.encode())
            data = b""
            while not data.endswith(b"\n\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        text = data.decode()
        for line in text.splitlines():
            if line.startswith("errno=") and line != "errno=0":
                raise ExternalError(f"{self.interface}: UAPI answered {line}")
        return text

    def allowed_ips(self, peer: PublicKey) -> tuple[IPNetwork, ...]:
        current = None
        out: dict[str, list[IPNetwork]] = {}
        for line in self._call("get=1\n\n").splitlines():
            key, _, value = line.partition("=")
            if key == "public_key":
                current = value
                out[current] = []
            elif key == "allowed_ip" and current is not None:
                out[current].append(ipaddress.ip_network(value))
        return tuple(out.get(peer.hex, ()))

    def set_allowed_ips(self, peer: PublicKey, ips: Iterable[IPNetwork]) -> None:
        lines = [f"allowed_ip={ip}" for ip in ips]
        self._call("set=1\n" f"public_key={peer.hex}\nupdate_only=true\nreplace_allowed_ips=true\n"
                   + "".join(l + "\n" for l in lines) + "\n")

    def set_endpoint(self, peer: PublicKey, endpoint: str) -> None:
        self._call(f"set=1\npublic_key={peer.hex}\nupdate_only=true\nendpoint={endpoint}\n\n")


class WgToolWg:
    """A kernel device through `wg` (wireguard-tools): `wg set` replaces AllowedIPs as
    given, with no pyroute2 0.7/0.9 flag differences to get wrong (netdwg.host.kernel_wg says which)."""

    def __init__(self, interface: str) -> None:
        self.interface = interface

    def _wg(self, *args: str) -> str:
        proc = subprocess.run(["wg", *args], capture_output=True, text=True)
        if proc.returncode:
            raise ExternalError(f"wg {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def allowed_ips(self, peer: PublicKey) -> tuple[IPNetwork, ...]:
        for line in self._wg("show", self.interface, "allowed-ips").splitlines():
            key, _, ips = line.partition("\t")
            if key == peer.base64:
                return tuple(ipaddress.ip_network(i) for i in ips.split() if i != "(none)")
        return ()

    def set_allowed_ips(self, peer: PublicKey, ips: Iterable[IPNetwork]) -> None:
        self._wg("set", self.interface, "peer", peer.base64, "allowed-ips", ",".join(map(str, ips)))

    def set_endpoint(self, peer: PublicKey, endpoint: str) -> None:
        self._wg("set", self.interface, "peer", peer.base64, "endpoint", endpoint)


def wg_port_for(interface: str) -> WgPort:
    """UAPI when a userspace implementation serves the interface, else the kernel via `wg`."""
    path = _uapi_path(interface)
    return UapiWg(interface, path) if path else WgToolWg(interface)


# --- executing steps ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Outcome:
    step: Step
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def swap_allowed_ips(wg: WgPort, change: SwapAllowedIps, undo: bool, keep: frozenset[IPNetwork]) -> None:
    current = list(wg.allowed_ips(change.peer))
    if undo:
        new = [ip for ip in current if ip != change.widen_to or ip in keep]
        if change.lan not in new:
            new.append(change.lan)
    else:
        new = [ip for ip in current if ip != change.lan]
        if change.widen_to not in new:
            new.append(change.widen_to)
    if new != current:
        wg.set_allowed_ips(change.peer, new)


def probe_neighbour(dev: str, ip) -> None:
    """Send one datagram to ip:9 (discard) out of dev: the kernel resolves the MAC.
    SO_BINDTODEVICE keeps it off the tunnel route that may still cover ip;
    it needs no CAP_NET_RAW since Linux 5.7."""
    family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, dev.encode())
            sock.setblocking(False)
            sock.sendto(b"", (str(ip), 9))
        except OSError:
            pass


async def fetch_certificate_sha256(dev: str, host, port: int, timeout: float = 2.0) -> str:
    """SHA-256 (hex) of the DER certificate host:port presents, reached out of `dev` only
    (SO_BINDTODEVICE: the tunnel route may still cover the host). No CA check on purpose:
    the pin *is* the trust anchor, as with an SSH known_hosts entry."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET if host.version == 4 else socket.AF_INET6, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, dev.encode())
        sock.setblocking(False)
        await asyncio.wait_for(loop.sock_connect(sock, (str(host), port)), timeout)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(sock=sock, ssl=ctx, server_hostname=""), timeout)
        try:
            der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        finally:
            writer.close()
        return hashlib.sha256(der).hexdigest()
    except BaseException:
        sock.close()
        raise


def _announce(verb: str, change: Change, why: str) -> None:
    log.info("[#] %s %s (%s: %s)", verb, change.describe(), change.site or "-", why)


def execute(steps: Iterable[Step], routes: RoutePort, wg: WgPort | None,
            keep_widened: frozenset[IPNetwork] = frozenset(),
            present: frozenset[Route] = frozenset()) -> tuple[Outcome, ...]:
    """Run steps in order; a failed step is reported and the rest still run.
    `present`: routes the latest events showed to exist (saves a dump before an exact delete)."""
    outcomes = []
    for step in steps:
        try:
            if isinstance(step, Probe):
                if step.retry and hasattr(routes, "forget_neighbour"):
                    routes.forget_neighbour(step.dev, step.ip)
                probe_neighbour(step.dev, step.ip)
            elif isinstance(step, (Apply, Undo)):
                undo = isinstance(step, Undo)
                change = step.change
                _announce("undo" if undo else "do", change, step.why)
                if isinstance(change, DeleteRoute):
                    if undo:
                        routes.add_route(change.route)
                    else:
                        routes.delete_route(change.route, change.route in present)
                elif isinstance(change, AddRoute):
                    if undo:
                        routes.delete_route(change.route, change.route in present)
                    else:
                        routes.add_route(change.route)
                elif isinstance(change, AddRule):
                    if undo:
                        routes.delete_rule(change)
                    else:
                        routes.add_rule(change)
                elif isinstance(change, SwapAllowedIps):
                    if wg is None:
                        raise ExternalError("no WireGuard device to change AllowedIPs on")
                    swap_allowed_ips(wg, change, undo, keep_widened)
            outcomes.append(Outcome(step))
        except Exception as err:  # one failed route must not stop the others
            log.warning("failed: %s: %s", getattr(getattr(step, "change", None), "describe", lambda: step)(), err)
            outcomes.append(Outcome(step, str(err) or type(err).__name__))
    return tuple(outcomes)


def resolve_endpoint(host: str, port: int) -> str:
    """host:port with host as an address (UAPI takes addresses only); re-resolves DNS names
    on every call, which networkd never does (systemd #9911)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        ip = ipaddress.ip_address(info[0][4][0])
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"
