"""One D-Bus method call on the system bus (or a given bus address) over a short connection, errors
worded for the user: the one way apply's adapters (networkd, NetworkManager) call a service."""

from __future__ import annotations

from netdwg.errors import ExternalError, ServiceUnavailableError

_NOT_RUNNING = ("org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner")


async def call_method(bus_address: str | None, destination: str, path: str, interface: str, member: str,
                      signature: str = "", body: list | None = None, *, service: str, start_fix: str,
                      what: str) -> list:
    """The reply's body; ExternalError when the bus is unreachable, `service` is not running (named with
    `start_fix`), or the call fails (`what` names the service in the message)."""
    from netdwg.dbus_compat import BusType, DBusError, Message, MessageBus, MessageType

    try:
        if bus_address:
            bus = await MessageBus(bus_address=bus_address).connect()
        else:
            bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    except (OSError, DBusError) as err:
        raise ServiceUnavailableError(f"cannot reach the system D-Bus: {err}",
                            fix="is dbus running? (systemctl status dbus)") from None
    try:
        reply = await bus.call(Message(destination=destination, path=path, interface=interface,
                                       member=member, signature=signature, body=body or []))
    finally:
        bus.disconnect()
    if reply is not None and reply.message_type == MessageType.ERROR:
        error = reply.error_name or ""
        text = reply.body[0] if reply.body else error
        # Spawn.*: the bus tried to activate the service and it exited (e.g. masked, or no systemd).
        if error in _NOT_RUNNING or error.startswith("org.freedesktop.DBus.Error.Spawn."):
            raise ServiceUnavailableError(f"{service} is not running (nothing owns {destination})", fix=start_fix) from None
        raise ExternalError(f"{what} {member} failed: {text} [{error}]")
    return reply.body if reply is not None else []
