"""NetworkManager over D-Bus (org.freedesktop.NetworkManager, system bus): load the profiles netdwg wrote,
read back what NetworkManager holds, and change an active WireGuard connection's peers in place.

No nmcli: every call is NetworkManager's documented D-Bus API (1.42):
    Settings.LoadConnections(as filenames) -> (b status, as failures)   re-read these keyfiles
    Settings.GetConnectionByUuid(s) -> o
    Settings.Connection.GetSettings() / GetSecrets(s setting) -> a{sa{sv}}   (secrets come separately)
    Settings.Connection.Filename (property)                              the keyfile it was loaded from
    Device.GetAppliedConnection(u) -> (a{sa{sv}}, t version_id)
    Device.Reapply(a{sa{sv}}, t version_id, u flags)                      apply to the active device

The stored profile is changed by writing its keyfile (netdwg's one atomic writer) and LoadConnections,
not Update2: Update2 with TO_DISK would make NetworkManager a second writer of the file. Reapply is how
NetworkManager changes WireGuard peers of an active connection without taking the link down
(nm-device-wireguard.c handles a reapply of the wireguard setting by re-syncing peers over genetlink;
unchanged peers keep their sessions unless a peer was removed: then it replaces all peers). Passing the version_id from GetAppliedConnection makes NetworkManager
refuse the reapply if the applied connection changed in between.
"""

from __future__ import annotations

from netdwg.errors import ExternalError

BUS_NAME = "org.freedesktop.NetworkManager"
MANAGER_PATH = "/org/freedesktop/NetworkManager"
SETTINGS_PATH = "/org/freedesktop/NetworkManager/Settings"
SETTINGS_IFACE = "org.freedesktop.NetworkManager.Settings"
CONNECTION_IFACE = "org.freedesktop.NetworkManager.Settings.Connection"
DEVICE_IFACE = "org.freedesktop.NetworkManager.Device"
ACTIVE_IFACE = "org.freedesktop.NetworkManager.Connection.Active"
DEVICE_STATE_ACTIVATED = 100


def unpack(value):
    """Plain Python values from D-Bus variants, recursively."""
    from netdwg.dbus_compat import Variant

    if isinstance(value, Variant):
        return unpack(value.value)
    if isinstance(value, dict):
        return {k: unpack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unpack(v) for v in value]
    return value


class NetworkManagerBus:
    """The NetworkManager port; each call opens its own short connection (apply is not a daemon)."""

    def __init__(self, bus_address: str | None = None) -> None:
        self.bus_address = bus_address

    async def _call(self, path: str, interface: str, member: str, signature: str = "", body: list | None = None):
        from netdwg.host.dbus_call import call_method

        return unpack(await call_method(self.bus_address, BUS_NAME, path, interface, member, signature, body,
                                        service="NetworkManager",
                                        start_fix="start it: systemctl start NetworkManager", what="NetworkManager"))

    def _run(self, path, interface, member, signature="", body=None):
        import asyncio  # imported here: a large import an apply without NetworkManager never needs

        return asyncio.run(self._call(path, interface, member, signature, body))

    def load_connections(self, filenames: list[str]) -> list[str]:
        """Have NetworkManager (re-)read these keyfiles; the ones it could not load (empty: all loaded).

        A removed file unloads its profile. NetworkManager logs why it failed (e.g. "File permissions
        (100644) are insecure"); the caller reports the paths."""
        # status false: NetworkManager did not even try (e.g. not permitted); failures: what it tried and
        # could not load
        status, failures = self._run(SETTINGS_PATH, SETTINGS_IFACE, "LoadConnections", "as", [list(filenames)])
        return list(failures) if status else list(filenames)

    def connection_path(self, uuid: str) -> str | None:
        try:
            (path,) = self._run(SETTINGS_PATH, SETTINGS_IFACE, "GetConnectionByUuid", "s", [uuid])
        except ExternalError as err:
            if "InvalidConnection" in str(err) or "No connection with the UUID" in str(err):
                return None
            raise
        return path

    def settings(self, path: str, secrets: bool = True) -> dict:
        """GetSettings, as plain values, with the wireguard secrets (GetSecrets) merged in when `secrets`
        (GetSecrets needs root where NetworkManager's polkit policy says so; GetSettings never has them)."""
        (settings,) = self._run(path, CONNECTION_IFACE, "GetSettings")
        if secrets:
            (found,) = self._run(path, CONNECTION_IFACE, "GetSecrets", "s", ["wireguard"])
            merge_secrets(settings, found)
        return settings

    def held_profile(self, uuid: str, secrets: bool) -> tuple[str, object] | None:
        """(the file it was loaded from, the profile) NetworkManager holds with this uuid; None if none."""
        from netdwg.keyfiles.settings import profile_from_settings

        path = self.connection_path(uuid)
        if path is None:
            return None
        return self.filename(path), profile_from_settings(self.settings(path, secrets=secrets))

    def filename(self, path: str) -> str:
        """The file NetworkManager loaded the connection from ("" for one it holds only in memory)."""
        return self._property(path, CONNECTION_IFACE, "Filename")

    def device_path(self, interface: str) -> str | None:
        try:
            (path,) = self._run(MANAGER_PATH, "org.freedesktop.NetworkManager", "GetDeviceByIpIface", "s",
                                [interface])
        except ExternalError as err:
            if "UnknownDevice" in str(err) or "No device found" in str(err):
                return None
            raise
        return path

    def _property(self, path: str, interface: str, name: str):
        (value,) = self._run(path, "org.freedesktop.DBus.Properties", "Get", "ss", [interface, name])
        return value

    def version(self) -> str:
        """NetworkManager's version; ExternalError when it is not running (checked before any change)."""
        return self._property(MANAGER_PATH, "org.freedesktop.NetworkManager", "Version")

    def is_active(self, interface: str, uuid: str) -> bool:
        """Is the connection `uuid` activated on the device `interface`?"""
        device = self.device_path(interface)
        if device is None or self._property(device, DEVICE_IFACE, "State") != DEVICE_STATE_ACTIVATED:
            return False
        active = self._property(device, DEVICE_IFACE, "ActiveConnection")
        return active not in ("", "/") and self._property(active, ACTIVE_IFACE, "Uuid") == uuid

    def dhcp4_options(self, interface: str) -> dict | None:
        """DHCP4Config.Options of the device (the lease NetworkManager holds: ip_address, routers,
        dhcp_server_identifier, expiry, ...; every value a string); None without a device or a lease."""
        device = self.device_path(interface)
        if device is None:
            return None
        config = self._property(device, DEVICE_IFACE, "Dhcp4Config")
        if config in ("", "/"):
            return None
        return self._property(config, "org.freedesktop.NetworkManager.DHCP4Config", "Options")

    def applied_version(self, device: str) -> int:
        """The version id of the connection applied on the device (GetAppliedConnection)."""
        _, version = self._run(device, DEVICE_IFACE, "GetAppliedConnection", "u", [0])
        return int(version)

    def reapply(self, interface: str, version_id: int | None = None) -> None:
        """Reapply the stored profile on the device (an empty connection argument means "the settings
        connection as NetworkManager holds it now"); with `version_id`, NetworkManager refuses if the
        applied connection changed since it was read."""
        device = self.device_path(interface)
        if device is None:
            raise ExternalError(f"NetworkManager has no device {interface} to reapply on")
        version = self.applied_version(device) if version_id is None else version_id
        self._run(device, DEVICE_IFACE, "Reapply", "a{sa{sv}}tu", [{}, version, 0])


def merge_secrets(settings: dict, secrets: dict) -> None:
    """Put GetSecrets' wireguard private key and per-peer PSKs into GetSettings' dict (in place)."""
    wg_secrets = secrets.get("wireguard", {})
    wg = settings.setdefault("wireguard", {})
    if "private-key" in wg_secrets:
        wg["private-key"] = wg_secrets["private-key"]
    by_key = {p.get("public-key"): p for p in wg_secrets.get("peers", ())}
    for peer in wg.get("peers", ()):
        secret = by_key.get(peer.get("public-key"), {})
        if "preshared-key" in secret:
            peer["preshared-key"] = secret["preshared-key"]
