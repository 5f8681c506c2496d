"""`netdwg status` on a NetworkManager host (backend = networkmanager): what NetworkManager holds.

NetworkManager owns the WireGuard device there, so "in sync" means more than the keyfile on disk: the
profile must be loaded (a connection with the rendered uuid, loaded from the rendered file) and hold the
rendered settings (GetSettings, plus GetSecrets as root). observe asks NetworkManager that once
(HostState.nm_held); plan reloads a profile held otherwise (a drift step like any other), and this module
shows the details (netdwg.plan.nm_drift). Whether the connection is active is reported, not counted as
drift: a laptop's tunnel may be down on purpose. When NetworkManager or the bus does not answer, status
fails (ServiceUnavailableError) rather than report a state it could not read.
"""

from __future__ import annotations

from netdwg.plan.networkmanager import desired_profiles
from netdwg.plan.nm_drift import held_differences


def nm_profiles(desired) -> dict[str, tuple[str, object]]:
    """interface -> (keyfile path, rendered profile) of the host's NetworkManager profiles."""
    return {profile.interface_name: (str(path), profile) for path, profile in desired_profiles(desired)}


def networkmanager_state(session, interface: str) -> dict | None:
    """What NetworkManager holds for the interface's profile; None when this host's interface is not
    NetworkManager's, or status is not looking at the live system (--root)."""
    desired, ports, observed = session.desired, session.ports, session.observed
    if desired.backend != "networkmanager" or observed.nm_held is None or ports.networkmanager is None:
        return None
    found = nm_profiles(desired).get(interface)
    held = next((h for h in observed.nm_held if found and str(h.path) == found[0]), None)
    if held is None:
        return None
    differences = held_differences(found[1], held)
    return {"version": ports.networkmanager.version(), "profile": str(held.path), "uuid": held.uuid,
            "loaded": held.loaded, "loaded_from": held.loaded_from or None if held.loaded else None,
            "active": interface in (observed.nm_active or ()), "secrets_compared": held.secrets,
            "settings_match": not differences if held.loaded else None,
            "differences": [d.to_json() | {"text": d.describe()} for d in differences]}


def format_nm_lines(state: dict) -> list[str]:
    compared = "secrets compared" if state["secrets_compared"] else "secrets not compared: GetSecrets needs root"
    if not state["loaded"]:
        return [f"  NetworkManager {state['version']}: {state['profile']} not loaded"]
    lines = [f"  NetworkManager {state['version']}: profile loaded from {state['loaded_from'] or '(memory only)'}, "
             f"connection {'active' if state['active'] else 'not active'}"]
    if state["settings_match"]:
        lines.append(f"  stored settings: as rendered ({compared})")
    else:
        lines.append(f"  stored settings: {len(state['differences'])} difference(s) from the profile ({compared}):")
        lines.extend(f"    {d['text']}" for d in state["differences"])
    return lines
