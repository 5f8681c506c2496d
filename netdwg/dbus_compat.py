"""One import for D-Bus: dbus-fast (preferred) or dbus-next (Debian 12's python3-dbus-next).

Both expose the same module-level API: `aio.MessageBus`,
`BusType`, `Message`, `MessageType`, `Variant`, `errors.DBusError`. Use named
arguments and plain callbacks so dbus-next's arity check never bites.
"""

from __future__ import annotations

try:  # dbus-fast: maintained, Debian 12 ships 1.84
    import dbus_fast as dbus
    from dbus_fast import BusType, Message, MessageType, Variant
    from dbus_fast.aio import MessageBus
    from dbus_fast.errors import DBusError
    IMPLEMENTATION = "dbus-fast"
except ImportError:  # pragma: no cover - exercised only where dbus-fast is missing
    import dbus_next as dbus  # type: ignore[no-redef]
    from dbus_next import BusType, Message, MessageType, Variant  # type: ignore[no-redef]
    from dbus_next.aio import MessageBus  # type: ignore[no-redef]
    from dbus_next.errors import DBusError  # type: ignore[no-redef]
    IMPLEMENTATION = "dbus-next"

__all__ = ["BusType", "DBusError", "IMPLEMENTATION", "Message", "MessageBus", "MessageType", "Variant", "dbus"]
