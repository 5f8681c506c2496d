"""What the event sources read: lease files, networkd's DescribeLink, NM's DHCP4Config, netlink fold."""

from __future__ import annotations

import ipaddress
import json
import socket

from netdwg.guard.observed import (Address, AddressAdded, AddressRemoved, Lease, LeaseGone, LeaseSeen, LinkGone,
                                   LinkState, Observed, Route, RouteAdded, Snapshot, fold)
from netdwg.guard.sources.dbus import (lease_of_description, lease_of_nm_options, link_index_of_path,
                                       unescape_path_component)
from netdwg.guard.sources.leases import parse_lease, read_all_leases

ip = ipaddress.ip_address

LEASE_252 = """\
# This is private data. Do not parse.
ADDRESS=192.168.77.83
NETMASK=255.255.255.0
ROUTER=192.168.77.1 192.168.77.2
SERVER_ADDRESS=192.168.77.1
NEXT_SERVER=192.168.77.1
T1=60
LIFETIME=120
DNS=192.168.77.1
DOMAINNAME=Example.Test
CLIENTID=ff4b45d0
"""


def test_networkd_252_lease_file():
    lease = parse_lease(LEASE_252, "lan0")
    assert lease == Lease("lan0", ip("192.168.77.83"), ip("192.168.77.1"), ip("192.168.77.1"), "example.test",
                          "lease-file")


def test_lease_file_missing_keys_are_absent_not_errors():
    assert parse_lease("# nothing\nGARBAGE\nROUTER=not-an-ip\n", "x") == Lease("x", source="lease-file")


def test_lease_directory_maps_ifindex_to_names(tmp_path):
    (tmp_path / str(socket.if_nametoindex("lo"))).write_text(LEASE_252)
    (tmp_path / "999999").write_text(LEASE_252)  # a link that does not exist here: skipped
    (tmp_path / ".#tmp").write_text("x")
    events = read_all_leases(tmp_path)
    assert [type(e) for e in events] == [LeaseSeen] and events[0].lease.dev == "lo"
    assert read_all_leases(tmp_path / "missing") == []


def test_sd_bus_path_unescaping():
    assert unescape_path_component("_312") == "12"
    assert link_index_of_path("/org/freedesktop/network1/link/_39") == 9
    assert link_index_of_path("/org/freedesktop/network1/link/_3100") == 100
    assert link_index_of_path("/org/freedesktop/network1/network/x") is None


def test_describe_link_252_json():
    text = json.dumps({
        "Index": 3, "Name": "lan0",
        "Addresses": [{"Family": 2, "Address": [172, 20, 10, 106], "PrefixLength": 24, "ConfigSource": "DHCPv4",
                       "ConfigProvider": [172, 20, 10, 1]},
                      {"Family": 10, "Address": [254, 128] + [0] * 14, "ConfigSource": "foreign"}],
        "Routes": [{"Family": 2, "Destination": [0, 0, 0, 0], "DestinationPrefixLength": 0,
                    "Gateway": [172, 20, 10, 1], "ConfigSource": "DHCPv4"}],
        "SearchDomains": [{"Domain": "oslo.harbor.test", "ConfigSource": "DHCPv4"}],
    })
    assert lease_of_description(text) == Lease("lan0", ip("172.20.10.106"), ip("172.20.10.1"), ip("172.20.10.1"),
                                               "oslo.harbor.test", "networkd")
    assert lease_of_description(json.dumps({"Index": 1, "Name": "lo", "Addresses": []})) is None


def test_networkmanager_dhcp4_options():
    class Variant:  # what dbus-fast hands over: .value holds the string
        def __init__(self, value):
            self.value = value

    opts = {"ip_address": Variant("10.0.0.5"), "dhcp_server_identifier": Variant("10.0.0.1"),
            "routers": Variant("10.0.0.1 10.0.0.2"), "domain_name": Variant("Corp.Example."),
            "expiry": Variant("1700000000")}
    assert lease_of_nm_options("wlp2s0", opts) == Lease("wlp2s0", ip("10.0.0.5"), ip("10.0.0.1"), ip("10.0.0.1"),
                                                        "corp.example", "networkmanager")


def test_fold_is_idempotent_and_link_loss_forgets_its_facts():
    addr = Address("lan0", ipaddress.ip_interface("172.20.10.9/24"))
    route = Route(ipaddress.ip_network("172.20.10.0/24"), "lan0", 1024)
    o = Observed()
    for e in (AddressAdded(addr, 5.0), AddressAdded(addr, 9.0), RouteAdded(route), RouteAdded(route),
              LeaseSeen(Lease("lan0", source="lease-file"))):
        o = fold(o, e)
    assert o.addresses == {addr} and o.routes == {route} and o.seen_since(addr) == 5.0
    gone = fold(o, LinkGone("lan0"))
    assert gone.addresses == frozenset() and gone.routes == frozenset() and gone.leases == ()
    assert fold(o, AddressRemoved(addr)).seen_since(addr) is None
    assert fold(o, LeaseGone("lan0", "lease-file")).lease_for("lan0") is None


def test_admin_down_forgets_routes_the_kernel_flushes_silently():
    route = Route(ipaddress.ip_network("198.51.100.0/24"), "inet0", 0)
    o = fold(Observed(), RouteAdded(route))
    assert fold(o, LinkState("inet0", carrier=False, admin_up=True)).routes == {route}, "carrier loss keeps them"
    assert fold(o, LinkState("inet0", carrier=False, admin_up=False)).routes == frozenset()


def test_snapshot_replaces_netlink_facts_but_keeps_leases():
    o = fold(Observed(), LeaseSeen(Lease("lan0", source="networkd")))
    o = fold(o, Snapshot(frozenset(), frozenset(), frozenset(), 1.0, frozenset({"lan0"})))
    assert o.lease_for("lan0") is not None and o.down_links == {"lan0"}


def test_lease_watcher_follows_networkd_creating_the_directory_then_files(tmp_path):
    import asyncio

    from netdwg.guard.sources.leases import LeaseWatcher

    async def scenario():
        seen: list = []
        netif = tmp_path / "netif"
        netif.mkdir()
        watcher = LeaseWatcher(asyncio.get_running_loop(), lambda events, at: seen.extend(events),
                               netif / "leases")
        watcher.start()
        try:
            (netif / "leases").mkdir()  # networkd's first lease
            index = socket.if_nametoindex("lo")
            for _ in range(100):
                await asyncio.sleep(0.02)
                if watcher._watch is not None and watcher._watch.path == str(netif / "leases"):
                    break
            tmp = netif / "leases" / f".#{index}tmp"
            tmp.write_text(LEASE_252)
            tmp.rename(netif / "leases" / str(index))  # networkd writes a temp file, then renames
            for _ in range(100):
                await asyncio.sleep(0.02)
                if any(isinstance(e, LeaseSeen) for e in seen):
                    break
            lease = next(e.lease for e in seen if isinstance(e, LeaseSeen))
            assert (lease.dev, lease.domain) == ("lo", "example.test")
            (netif / "leases" / str(index)).unlink()  # lease lost
            for _ in range(100):
                await asyncio.sleep(0.02)
                if any(isinstance(e, LeaseGone) for e in seen):
                    break
            assert any(isinstance(e, LeaseGone) and e.dev == "lo" for e in seen)
            assert sum(isinstance(e, LeaseSeen) for e in seen) == 1, "our own reads must not echo back"
        finally:
            watcher.stop()

    asyncio.run(scenario())
