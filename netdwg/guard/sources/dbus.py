"""D-Bus sources: systemd-networkd and NetworkManager, over the system bus.

- networkd: `PropertiesChanged` on Link objects triggers `DescribeLink`, whose
  JSON gives the DHCP server (ConfigProvider of the DHCPv4 address), the router
  (Gateway of the DHCPv4 default route) and domains. 252 has no lease section
  and no DHCPv4Client interface (v255+; there a renewal shows as
  State bound->renewing->bound, and we re-describe on it too: any
  PropertiesChanged of a link object is followed by DescribeLink;
  netdwg.networkd_versions: dhcpv4_client_state).
  `NameOwnerChanged` for org.freedesktop.network1 means networkd (re)started:
  it flushes foreign routes, so the guard re-reads everything and re-asserts.
- NetworkManager: `DHCP4Config.Options` (every value a string); renewals
  change `expiry`, so they are visible (unlike networkd 252). The lease is
  taken from the PropertiesChanged signal that carries the Options (no call
  back to NetworkManager on the reaction path); a device's `Dhcp4Config`
  changing ties a DHCP4Config object to its interface, or ends the lease ("/").
  The devices are read in full only at start, after a restart of
  NetworkManager or the bus, and when the device list changes.

Every event is delivered with the time the signal that brought it arrived
(the guard's reaction time starts there; netdwg/guard/tally.py).

The bus connection is re-made when dbus-daemon restarts, with backoff.
dbus-fast preferred, dbus-next (Debian 12 python3-dbus-next) accepted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
import time
from typing import Callable

from netdwg.guard.observed import Lease, LeaseGone, LeaseSeen

try:
    from netdwg import dbus_compat as _compat  # dbus-fast or dbus-next, whichever is installed

    dbus = _compat.dbus
except (ImportError, AttributeError):
    try:
        import dbus_fast as dbus
    except ImportError:  # Debian 12: python3-dbus-next
        import dbus_next as dbus  # type: ignore[no-redef]

log = logging.getLogger("netdwg.guard")

NETWORKD = "org.freedesktop.network1"
NETWORKD_PATH = "/org/freedesktop/network1"
NM = "org.freedesktop.NetworkManager"
NM_PATH = "/org/freedesktop/NetworkManager"
NM_DEVICE = NM + ".Device"
NM_DHCP4 = NM + ".DHCP4Config"
PROPS = "org.freedesktop.DBus.Properties"
# NetworkManager signals dozens of property changes per activation (IP4Config, ActiveConnection, ...);
# arg0, the interface whose properties changed, keeps all but the three read here on the bus daemon's side.
MATCHES = (
    f"type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',arg0='{NETWORKD}'",
    f"type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',arg0='{NM}'",
    f"type='signal',interface='{PROPS}',member='PropertiesChanged',path_namespace='{NETWORKD_PATH}'",
    *(f"type='signal',interface='{PROPS}',member='PropertiesChanged',path_namespace='{NM_PATH}',arg0='{i}'"
      for i in (NM, NM_DEVICE, NM_DHCP4)),
)


def unescape_path_component(text: str) -> str:
    """sd-bus object path escaping: `_XX` is a hex byte (ifindex 12 -> `_312`)."""
    return re.sub(r"_([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text)


def link_index_of_path(path: str) -> int | None:
    prefix = NETWORKD_PATH + "/link/"
    if not path.startswith(prefix):
        return None
    try:
        return int(unescape_path_component(path[len(prefix):]))
    except ValueError:
        return None


def _ip_of_bytes(value) -> object:
    if isinstance(value, list) and len(value) in (4, 16):
        return ipaddress.ip_address(bytes(value))
    if isinstance(value, str):
        try:
            return ipaddress.ip_address(value)
        except ValueError:
            return None
    return None


def lease_of_description(text: str) -> Lease | None:
    """The DHCPv4 facts of a networkd DescribeLink JSON (252 and later spellings)."""
    return _lease_of_link(json.loads(text))


def _lease_of_link(data: dict) -> Lease | None:
    dev = data.get("Name", "")
    address = server = router = None
    for addr in data.get("Addresses", []) or []:
        if addr.get("ConfigSource") == "DHCPv4" and addr.get("Family", 2) == 2:
            address = _ip_of_bytes(addr.get("Address"))
            server = _ip_of_bytes(addr.get("ConfigProvider"))
    for route in data.get("Routes", []) or []:
        if route.get("ConfigSource") == "DHCPv4" and route.get("Gateway") and not route.get("DestinationPrefixLength"):
            router = _ip_of_bytes(route.get("Gateway"))
    domain = ""
    for entry in data.get("SearchDomains", []) or []:
        if isinstance(entry, dict) and entry.get("ConfigSource") == "DHCPv4":
            domain = str(entry.get("Domain", "")).lower().rstrip(".")
            break
    if address is None and server is None:
        return None
    return Lease(dev=dev, address=address, server_id=server, router=router, domain=domain, source="networkd")


def lease_of_nm_options(dev: str, options: dict) -> Lease:
    def value(key: str) -> str:
        v = options.get(key, "")
        return str(getattr(v, "value", v) or "")

    def ip(text: str):
        try:
            return ipaddress.ip_address(text.split()[0]) if text.strip() else None
        except ValueError:
            return None

    return Lease(dev=dev, address=ip(value("ip_address")), server_id=ip(value("dhcp_server_identifier")),
                 router=ip(value("routers")), domain=value("domain_name").lower().rstrip("."),
                 source="networkmanager")


class DbusSources:
    """Keeps a system-bus connection; delivers lease events and calls `on_restart(what)`
    when networkd or NetworkManager (re)appears or the bus itself came back."""

    def __init__(self, deliver: Callable[[list, float], None], on_restart: Callable[[str], None],
                 bus_address: str | None = None) -> None:
        self.deliver = deliver
        self.on_restart = on_restart
        self.bus_address = bus_address
        self.bus = None
        self.connected = asyncio.Event()
        self._nm_devs: set[str] = set()  # interfaces with a lease delivered
        self._nm_names: dict[str, str] = {}  # device object path -> interface name
        self._nm_configs: dict[str, str] = {}  # DHCP4Config object path -> device object path
        self._unmanaged: set[int] = set()  # links networkd said it does not manage
        self._describing: dict[int, float | None] = {}  # links with a DescribeLink in flight -> next one due
        self._nm_options: dict[str, dict] = {}  # DHCP4Config object path -> its latest Options signalled
        # A scan (a new device: each roam's LAN link) and a device's Dhcp4Config change both read and
        # replace the maps above across awaits: interleaved, the scan's older view of a device ("/",
        # no lease yet) overwrote the mapping the change had just made, and the lease's Options signal
        # then found no device and was never delivered. One at a time, in the order signalled.
        self._nm_lock = asyncio.Lock()
        self._last: dict[tuple, object] = {}
        self._task: asyncio.Task | None = None
        self._pending: set[asyncio.Task] = set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        if self.bus is not None:
            try:
                self.bus.disconnect()
            except Exception:
                pass

    async def _connect(self):
        from_aio = __import__(dbus.__name__ + ".aio", fromlist=["MessageBus"])
        if self.bus_address:
            return await from_aio.MessageBus(bus_address=self.bus_address).connect()
        return await from_aio.MessageBus(bus_type=dbus.BusType.SYSTEM).connect()

    async def _run(self) -> None:
        delay = 0.05
        first = True
        while True:
            try:
                self.bus = await self._connect()
                for rule in MATCHES:
                    await self._call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                     "AddMatch", "s", [rule])
                self.bus.add_message_handler(self._on_message)
                self.connected.set()
                delay = 0.05
                log.info("D-Bus: connected to the system bus")
                if not first:
                    self._last.clear()
                    self.on_restart("dbus")
                first = False
                await self._describe_all()
                await self._scan_nm(time.monotonic())
                await self.bus.wait_for_disconnect()
                log.warning("D-Bus: system bus connection lost; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as err:  # no bus yet, or it went away while we set up
                log.debug("D-Bus: %s; retrying in %.2fs", err, delay)
            self.connected.clear()
            self.bus = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _call(self, dest, path, iface, member, signature="", body=None):
        reply = await self.bus.call(dbus.Message(destination=dest, path=path, interface=iface, member=member,
                                                 signature=signature, body=body or []))
        if reply is None or reply.message_type == dbus.MessageType.ERROR:
            raise RuntimeError(f"{member}: {reply.error_name if reply else 'no reply'}")
        return reply.body

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _on_message(self, msg):
        if msg.message_type != dbus.MessageType.SIGNAL:
            return None
        at = time.monotonic()
        if msg.member == "NameOwnerChanged" and len(msg.body) == 3 and msg.body[2]:
            name = msg.body[0]
            if name == NETWORKD:
                self.on_restart("networkd")
                self._spawn(self._describe_all())
            elif name == NM:
                self.on_restart("NetworkManager")
                self._nm_names.clear()  # object paths are NetworkManager's numbering of one run
                self._spawn(self._scan_nm(at))
        elif msg.member == "PropertiesChanged" and len(msg.body) >= 2:
            path = msg.path or ""
            index = link_index_of_path(path)
            if index is not None:
                # a link networkd leaves alone (NetworkManager's LAN) holds no networkd lease: only its
                # carrier and address states change, until networkd takes it over
                if index not in self._unmanaged or "AdministrativeState" in msg.body[1]:
                    self._describe_soon(index, at)
            elif path.startswith(NM_PATH):
                self._nm_changed(path, msg.body[0], msg.body[1], at)
        return None

    def _nm_changed(self, path: str, interface: str, changed: dict, at: float) -> None:
        if interface == NM_DHCP4 and "Options" in changed:
            options = self._nm_options[path] = changed["Options"].value
            while len(self._nm_options) > 64:  # objects of leases long gone
                del self._nm_options[next(iter(self._nm_options))]
            device = self._nm_configs.get(path)
            if device in self._nm_names:  # a new lease, or a renewal (only `expiry` differs: not delivered)
                self._deliver([LeaseSeen(lease_of_nm_options(self._nm_names[device], options))], at)
            elif device is not None:
                self._spawn(self._nm_device_config(device, path, at))
            # else: the device's Dhcp4Config points here next, and the Options are kept for then
        elif interface == NM_DEVICE and "Dhcp4Config" in changed:
            self._spawn(self._nm_device_config(path, changed["Dhcp4Config"].value, at))
        elif interface == NM and ("Devices" in changed or "AllDevices" in changed):
            self._spawn(self._scan_nm(at))

    async def _nm_name(self, device: str) -> str:
        name = self._nm_names.get(device)
        if name is None:
            name = await self._get(device, NM_DEVICE, "IpInterface")
            if name:  # set once the device is activated; the plain Interface until then, not kept
                self._nm_names[device] = name
            else:
                name = await self._get(device, NM_DEVICE, "Interface")
        return name

    async def _nm_device_config(self, device: str, config: str, at: float) -> None:
        """A device's Dhcp4Config changed: the lease it points to, or none ("/")."""
        async with self._nm_lock:
            await self._nm_device_config_now(device, config, at)

    async def _nm_device_config_now(self, device: str, config: str, at: float) -> None:
        try:
            dev = await self._nm_name(device)
            for stale in [c for c, d in self._nm_configs.items() if d == device and c != config]:
                del self._nm_configs[stale]
                self._nm_options.pop(stale, None)
            if not config or config == "/":
                self._nm_devs.discard(dev)
                self._deliver([LeaseGone(dev, "networkmanager")], at)
                return
            self._nm_configs[config] = device
            options = self._nm_options.get(config)
            if options is None:
                fetched = await self._get(config, NM_DHCP4, "Options")
                options = self._nm_options.get(config, fetched)  # a signal meanwhile is newer than the reply
        except Exception as err:
            log.debug("D-Bus: NetworkManager device %s: %s", device, err)
            return
        # NetworkManager points the device to its DHCP4Config before the lease is in it (Options empty);
        # the lease follows in that object's own PropertiesChanged
        self._nm_devs.add(dev)
        self._deliver([LeaseSeen(lease_of_nm_options(dev, options))] if options else [], at)

    def _describe_soon(self, index: int, at: float) -> None:
        """networkd signals a burst of changes per link (carrier, states, addresses): one DescribeLink at a
        time per link, and one more after it for whatever came meanwhile, timed from the first of those."""
        if index in self._describing:
            if self._describing[index] is None:
                self._describing[index] = at
            return
        self._describing[index] = None
        self._spawn(self._describe_until_settled(index, at))

    async def _describe_until_settled(self, index: int, at: float | None) -> None:
        try:
            while at is not None:
                await self._describe(index, at)
                at, self._describing[index] = self._describing[index], None
        finally:
            self._describing.pop(index, None)

    async def _describe(self, index: int, at: float) -> None:
        try:
            (text,) = await self._call(NETWORKD, NETWORKD_PATH, NETWORKD + ".Manager", "DescribeLink", "i", [index])
            data = json.loads(text)
            lease = _lease_of_link(data)
        except Exception as err:
            log.debug("D-Bus: DescribeLink(%d): %s", index, err)
            return
        name = data.get("Name", "")
        if data.get("AdministrativeState") == "unmanaged":
            self._unmanaged.add(index)
        else:
            self._unmanaged.discard(index)
        self._deliver([LeaseSeen(lease)] if lease else [LeaseGone(name, "networkd")] if name else [], at)

    async def _describe_all(self) -> None:
        try:
            (links,) = await self._call(NETWORKD, NETWORKD_PATH, NETWORKD + ".Manager", "ListLinks")
        except Exception as err:
            log.debug("D-Bus: networkd not there: %s", err)
            return
        for index, _name, _path in links:
            await self._describe(index, time.monotonic())

    async def _get(self, path: str, iface: str, prop: str):
        (variant,) = await self._call(NM, path, PROPS, "Get", "ss", [iface, prop])
        return variant.value

    async def _scan_nm(self, at: float) -> None:
        """Every device's lease, read afresh: at start, after a restart, when the device list changed."""
        async with self._nm_lock:
            await self._scan_nm_now(at)

    async def _scan_nm_now(self, at: float) -> None:
        try:
            (devices,) = await self._call(NM, NM_PATH, NM, "GetDevices")
        except Exception:
            return  # NetworkManager is not running: nothing to read
        seen: set[str] = set()
        events: list = []
        configs: dict[str, str] = {}
        self._nm_names = {d: n for d, n in self._nm_names.items() if d in devices}
        self._nm_options.clear()
        for device in devices:
            try:
                dev = await self._nm_name(device)
                config = await self._get(device, NM_DEVICE, "Dhcp4Config")
                if not config or config == "/":
                    continue
                configs[config] = device
                options = await self._get(config, NM_DHCP4, "Options")
            except Exception as err:
                log.debug("D-Bus: NetworkManager device %s: %s", device, err)
                continue
            seen.add(dev)
            events.append(LeaseSeen(lease_of_nm_options(dev, options)))
        events += [LeaseGone(dev, "networkmanager") for dev in self._nm_devs - seen]
        self._nm_devs = seen
        self._nm_configs = configs
        self._deliver(events, at)

    def _deliver(self, events: list, at: float) -> None:
        # networkd sends several PropertiesChanged per join; pass on only what changed
        fresh = []
        for event in events:
            key = (event.lease.dev, event.lease.source) if isinstance(event, LeaseSeen) else (event.dev, event.source)
            if self._last.get(key) != event:
                self._last[key] = event
                fresh.append(event)
        if fresh:
            self.deliver(fresh, at)
