"""`netdwg status` on a NetworkManager host (backend = networkmanager): what NetworkManager holds.

NetworkManager owns the WireGuard device there, so "in sync" means more than the keyfile on disk: the
profile must be loaded (Settings.GetConnectionByUuid finds the rendered uuid, loaded from the rendered
file) and NetworkManager's stored settings (Settings.Connection.GetSettings, plus GetSecrets as root)
must equal the rendered profile (netdwg.plan.nm_drift). Whether the connection is active is reported,
not counted as drift: a laptop's tunnel may be down on purpose. Every question goes to NetworkManager
over D-Bus (netdwg.host.networkmanager); when it or the bus does not answer, status fails
(ServiceUnavailableError) rather than report a state it could not read.
"""

from __future__ import annotations

import os

from netdwg.keyfiles import load_nm_wireguard
from netdwg.keyfiles.settings import profile_from_settings
from netdwg.plan.nm_drift import profile_differences

NM_CONNECTIONS = "/etc/NetworkManager/system-connections"


def nm_profiles(desired) -> dict[str, tuple[str, object]]:
    """interface -> (keyfile path, rendered profile) of the host's NetworkManager profiles."""
    out = {}
    for f in desired.files:
        if str(f.path.parent) == NM_CONNECTIONS and f.path.suffix == ".nmconnection":
            profile = load_nm_wireguard(f.text, str(f.path))
            out[profile.interface_name] = (str(f.path), profile)
    return out


def networkmanager_state(session, interface: str) -> dict | None:
    """What NetworkManager holds for the interface's profile; None when this host's interface is not
    NetworkManager's, or status is not looking at the live system (--root)."""
    desired, ports = session.desired, session.ports
    if desired.backend != "networkmanager" or not ports.live or ports.networkmanager is None:
        return None
    found = nm_profiles(desired).get(interface)
    if found is None:
        return None
    path, wanted = found
    nm = ports.networkmanager
    secrets = os.geteuid() == 0  # GetSecrets: root only under NetworkManager's default polkit policy
    state = {"version": nm.version(), "profile": path, "uuid": wanted.uuid, "loaded": False, "loaded_from": None,
             "active": interface in (session.observed.nm_active or ()), "secrets_compared": secrets,
             "settings_match": None, "differences": []}
    connection = nm.connection_path(wanted.uuid) if wanted.uuid else None
    if connection is None:
        return state
    state["loaded"] = True
    state["loaded_from"] = nm.filename(connection) or None
    held = profile_from_settings(nm.settings(connection, secrets=secrets))
    differences = profile_differences(wanted, held, secrets=secrets)
    state["settings_match"] = not differences
    state["differences"] = [d.to_json() | {"text": d.describe()} for d in differences]
    return state


def nm_problems(state: dict | None) -> list[str]:
    """The ways NetworkManager's state differs from the configuration (drift: exit status 1)."""
    if state is None:
        return []
    if not state["loaded"]:
        return [f"NetworkManager: no connection {state['uuid']}: {state['profile']} is not loaded"]
    problems = []
    if state["loaded_from"] != state["profile"]:
        problems.append(f"NetworkManager: loaded the connection from {state['loaded_from'] or '(memory only)'}, "
                        f"not {state['profile']}")
    problems.extend(f"NetworkManager: {d['text']}" for d in state["differences"])
    return problems


def format_nm_lines(state: dict) -> list[str]:
    if not state["loaded"]:
        return [f"  NetworkManager {state['version']}: {state['profile']} not loaded"]
    lines = [f"  NetworkManager {state['version']}: profile loaded from {state['loaded_from'] or '(memory only)'}, "
             f"connection {'active' if state['active'] else 'not active'}"]
    compared = "secrets compared" if state["secrets_compared"] else "secrets not compared: GetSecrets needs root"
    if state["settings_match"]:
        lines.append(f"  stored settings: as rendered ({compared})")
    else:
        lines.append(f"  stored settings: {len(state['differences'])} difference(s) from the profile ({compared})")
    return lines
