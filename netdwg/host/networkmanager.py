"""NetworkManager over D-Bus (org.freedesktop.NetworkManager, system bus): load the profiles netdwg wrote,
read back what NetworkManager holds, and change an active WireGuard connection's peers in place.

No nmcli: every call is NetworkManager's documented D-Bus API (1.42):
    Settings.LoadConnections(as filenames) -> (b status, as failures)   re-read these keyfiles
    Settings.GetConnectionByUuid(s) -> o
    Settings.Connection.GetSettings() / GetSecrets(s setting) -> a{sa{sv}}   (secrets come separately)
    Settings.Connection.Update2(a{sa{sv}}, u flags, a{sv}) -> a{sv}      flags: 0x1 TO_DISK
    Device.GetAppliedConnection(u) -> (a{sa{sv}}, t version_id)
    Device.Reapply(a{sa{sv}}, t version_id, u flags)                      apply to the active device

Reapply is how NetworkManager changes WireGuard peers of an active connection without taking the link down
(nm-device-wireguard.c handles a reapply of the wireguard setting by re-syncing peers over genetlink;
unchanged peers keep their sessions). Passing the version_id from GetAppliedConnection makes NetworkManager
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
UPDATE2_TO_DISK = 0x1
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


def pack(settings: dict) -> dict:
    """{setting: {property: (signature, value)}} -> a{sa{sv}} (nested a{sv} values packed too)."""
    from netdwg.dbus_compat import Variant

    def one(signature: str, value):
        if signature == "aa{sv}":
            value = [{k: one(*v) for k, v in item.items()} for item in value]
        return Variant(signature, value)

    return {name: {key: one(*typed) for key, typed in props.items()} for name, props in settings.items()}


class NetworkManagerBus:
    """The NetworkManager port; each call opens its own short connection (apply is not a daemon)."""

    def __init__(self, bus_address: str | None = None) -> None:
        self.bus_address = bus_address

    async def _call(self, path: str, interface: str, member: str, signature: str = "", body: list | None = None):
        from netdwg.dbus_compat import BusType, DBusError, Message, MessageBus, MessageType

        try:
            if self.bus_address:
                bus = await MessageBus(bus_address=self.bus_address).connect()
            else:
                bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        except (OSError, DBusError) as err:
            raise ExternalError(f"cannot reach the system D-Bus: {err}",
                                fix="is dbus running? (systemctl status dbus)") from None
        try:
            reply = await bus.call(Message(destination=BUS_NAME, path=path, interface=interface, member=member,
                                           signature=signature, body=body or []))
        finally:
            bus.disconnect()
        if reply is not None and reply.message_type == MessageType.ERROR:
            error = reply.error_name or ""
            text = reply.body[0] if reply.body else error
            if error in ("org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner") \
                    or error.startswith("org.freedesktop.DBus.Error.Spawn."):
                raise ExternalError("NetworkManager is not running (nothing owns org.freedesktop.NetworkManager)",
                                    fix="start it: systemctl start NetworkManager") from None
            raise ExternalError(f"NetworkManager {member} failed: {text} [{error}]")
        return unpack(reply.body) if reply is not None else []

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

    def settings(self, path: str) -> dict:
        """GetSettings with the wireguard secrets (GetSecrets) merged in, as plain values."""
        (settings,) = self._run(path, CONNECTION_IFACE, "GetSettings")
        (secrets,) = self._run(path, CONNECTION_IFACE, "GetSecrets", "s", ["wireguard"])
        merge_secrets(settings, secrets)
        return settings

    def update(self, path: str, settings: dict) -> None:
        """Update2 with TO_DISK: NetworkManager stores the profile (rewrites its keyfile)."""
        self._run(path, CONNECTION_IFACE, "Update2", "a{sa{sv}}ua{sv}", [pack(settings), UPDATE2_TO_DISK, {}])

    def device_path(self, interface: str) -> str | None:
        try:
            (path,) = self._run(MANAGER_PATH, "org.freedesktop.NetworkManager", "GetDeviceByIpIface", "s",
                                [interface])
        except ExternalError as err:
            if "UnknownDevice" in str(err) or "No device found" in str(err):
                return None
            raise
        return path

    def applied_connection(self, device: str) -> tuple[dict, int]:
        settings, version = self._run(device, DEVICE_IFACE, "GetAppliedConnection", "u", [0])
        return settings, version

    def reapply(self, device: str, settings: dict, version_id: int) -> None:
        self._run(device, DEVICE_IFACE, "Reapply", "a{sa{sv}}tu", [pack(settings), version_id, 0])


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
