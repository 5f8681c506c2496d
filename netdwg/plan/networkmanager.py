"""The NetworkManager step of a plan: which profiles to load, where to Reapply, what to say.

NetworkManager owns a WireGuard device whose profile it holds: netdwg writes the profile (its one atomic
writer), has NetworkManager re-read it (Settings.LoadConnections; a removed file unloads the profile) and,
where the connection is active, Reapplies the stored profile on its device, so peers change in place
(Device.Reapply, version-checked by the caller). netdwg does not change peers over UAPI/genetlink behind
NetworkManager's back: NetworkManager would put its own peers back on the next reapply or reconnect.

A profile whose file is as rendered but which NetworkManager holds otherwise (not loaded, loaded from
another file, other settings: netdwg.plan.nm_drift, from what observe asked over D-Bus) is loaded again
too: the file is the configuration, and NetworkManager's copy of it must follow.

What Reapply does to sessions, from NetworkManager's source (nm-device-wireguard.c, link_config): in
reapply mode it sets peers without WGDEVICE_F_REPLACE_PEERS unless a peer was removed; when one is, it
replaces every peer, so every other peer handshakes again.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from netdwg.errors import NetdwgError
from netdwg.keyfiles import CONNECTIONS_DIR, NmWireGuard, load_nm_wireguard
from netdwg.plan.model import DesiredHost, FileChange, HostState, NmLoad
from netdwg.plan.nm_drift import held_differences



def desired_profiles(desired: DesiredHost) -> tuple[tuple[PurePosixPath, NmWireGuard], ...]:
    """(path, profile) of every NetworkManager profile the host should have, each read once."""
    return tuple((f.path, load_nm_wireguard(f.text, str(f.path))) for f in desired.files
                 if f.path.parent == CONNECTIONS_DIR and f.path.suffix == ".nmconnection")


def _profile(text: str | None):
    if text is None:
        return None
    try:
        return load_nm_wireguard(text)
    except NetdwgError:
        return None


def plan_networkmanager(files: tuple[FileChange, ...], desired: DesiredHost, observed: HostState,
                        notes: list[str]) -> NmLoad | None:
    changed = [f for f in files if f.path.parent == CONNECTIONS_DIR and f.path.suffix == ".nmconnection"]
    paths = [f.path for f in changed if f.action != "chmod" or f.old is not None]
    stale = _held_otherwise(desired, observed, {f.path for f in changed}, notes)
    paths += [path for path, _ in stale]
    if any(kind == "networkmanager" for kind, _ in observed.pending):  # an interrupted apply: load them all
        paths = sorted({*paths, *(f.path for f in desired.files if f.path.parent == CONNECTIONS_DIR)}, key=str)
    if not paths:
        return None
    active = set(observed.nm_active or ())
    reapply = []
    for change in changed:
        new = _profile(change.new.text if change.new is not None and change.action != "remove" else None)
        old = _profile(change.old.text if change.old is not None else None)
        name = (new or old).interface_name if (new or old) else change.path.stem
        if change.action == "remove":
            if name in active:
                notes.append(f"{name}: its profile goes; NetworkManager unloads it (the active connection "
                             f"stays up until it is deactivated: nmcli connection down {name})")
            continue
        if name not in active:
            notes.append(f"{name}: NetworkManager holds the new profile; the connection is not active, so it takes "
                         f"effect when activated (autoconnect, or nmcli connection up {name})")
            continue
        reapply.append(name)
        if old is not None and new is not None:
            kept = {p.public_key for p in new.device.peers}
            gone = [p.public_key.short() for p in old.device.peers if p.public_key not in kept]
            if gone:
                notes.append(f"{name}: peer(s) {', '.join(gone)} removed: NetworkManager's Reapply then replaces "
                             f"every peer (nm-device-wireguard.c), so the other peers handshake again")
    reapply += [name for _, name in stale if name in active]
    return NmLoad(tuple(paths), tuple(dict.fromkeys(reapply)))


def _held_otherwise(desired: DesiredHost, observed: HostState, changing: set,
                    notes: list[str]) -> list[tuple[PurePosixPath, str]]:
    """(path, interface) of each profile whose file stays as it is but which NetworkManager holds otherwise."""
    texts = {f.path: f.text for f in desired.files}
    out = []
    for held in observed.nm_held or ():
        wanted = _profile(texts.get(held.path))
        if held.path in changing or wanted is None:
            continue
        differences = held_differences(wanted, held)
        if differences:
            out.append((held.path, wanted.interface_name))
            notes.append(f"{wanted.interface_name}: NetworkManager holds {held.path} otherwise than the file "
                         f"({len(differences)} difference(s), netdwg status names them): LoadConnections re-reads it")
    return out
