"""Cross-file checks of existing host files (for `netdwg check FILE...`).

    check_files(files) -> tuple[Diagnostic, ...]

NDW030  public-key mismatch: one end lists the other, the other does not list it back
NDW031  preshared key mismatch: both ends list each other with different PSKs
NDW032  a private key or PSK in a file (or key file) that every user may read

An end is a WireGuard interface whose private key is known (inline, or in a
readable key file); its public key is what other files must list. The files come
in as values (`HostFile`, read at the CLI's edge): this layer reads nothing.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from netdwg.errors import Diagnostic, Severity, Span
from netdwg.keys import PublicKey, pubkey
from netdwg.topology.importer_files import HostFiles, ReadInterface


@dataclass(frozen=True, slots=True)
class HostFile:
    """One host file as read: its interfaces, its text (for line numbers) and the modes
    (st_mode) of the files it exposes or names as key files, by path."""
    path: str
    host: HostFiles
    text: str
    modes: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class _End:
    path: str
    text: str
    iface: ReadInterface
    key: PublicKey | None  # None: private key unknown

    def line_of(self, key: PublicKey) -> Span:
        for number, line in enumerate(self.text.splitlines(), start=1):
            if key.base64 in line:
                return Span(self.path, number)
        return Span(self.path)


def check_files(files: Iterable[HostFile], permissions: bool = True) -> tuple[Diagnostic, ...]:
    """Cross-file findings; `permissions=False` leaves NDW032 to a per-file checker that already warns."""
    found: list[Diagnostic] = []
    ends: list[_End] = []
    for file in files:
        host = file.host
        for exposed in host.exposed if permissions else ():
            mode = stat.S_IMODE(file.modes[exposed])
            found.append(Diagnostic("NDW032", Severity.WARNING,
                                    f"holds a private key or preshared key, but has mode {mode:04o}: every user may read it",
                                    Span(exposed), fix=f"chmod o-rwx {exposed} (networkd reads 0640 root:systemd-network; wg-quick and netplan files 0600)"))
        for iface in host.interfaces:
            key = pubkey(iface.device.private_key) if iface.device.private_key is not None else None
            ends.append(_End(file.path, file.text, iface, key))
            key_mode = file.modes.get(str(iface.key_file)) if iface.key_file else None
            if permissions and key_mode is not None and key_mode & stat.S_IROTH:
                found.append(Diagnostic("NDW032", Severity.WARNING,
                                        f"private key file {iface.key_file} is readable by every user",
                                        Span(file.path), fix=f"chmod 0640 {iface.key_file} (group systemd-network)"))
    by_key = {e.key: e for e in ends if e.key is not None}
    known = set(by_key)
    reported: set = set()
    for a in ends:
        if a.key is None:
            continue
        for peer in a.iface.device.peers:
            b = by_key.get(peer.public_key)
            if b is None or b is a:
                continue
            back = next((p for p in b.iface.device.peers if p.public_key == a.key), None)
            if back is None:
                strangers = [p.public_key.short() for p in b.iface.device.peers if p.public_key not in known]
                hint = (f"; its peer(s) {', '.join(strangers)} match no given file: one is probably an old key of "
                        f"{a.iface.name} in {a.path}" if strangers else "")
                found.append(Diagnostic(
                    "NDW030", Severity.ERROR,
                    f"{b.iface.name} has no peer with public key {a.key.base64}, which {a.path} uses "
                    f"(and {a.path} lists this file's key){hint}", Span(b.path), f"interface {b.iface.name}",
                    fix=f"add [Peer]/[WireGuardPeer] PublicKey={a.key.base64}, or replace the stale key"))
                continue
            pair = frozenset((a.path + a.iface.name, b.path + b.iface.name))
            if back.preshared_key != peer.preshared_key and pair not in reported:
                reported.add(pair)
                which = "only one end has a preshared key" if None in (back.preshared_key, peer.preshared_key) \
                    else "the preshared keys differ"
                found.append(Diagnostic(
                    "NDW031", Severity.ERROR, f"{which} between this peer and {b.path}: the handshake will fail",
                    a.line_of(peer.public_key), f"interface {a.iface.name}",
                    fix="put the same PresharedKey on both ends (netdwg keys generate makes one per pair)"))
    return tuple(found)
