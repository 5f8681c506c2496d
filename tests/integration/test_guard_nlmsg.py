"""The guard's own rtnetlink reader (sources/nlmsg.py) against pyroute2, in a throwaway
namespace: the same kernel messages must mean the same guard events, whoever parses them."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from guard_scenario import REPO

pytestmark = pytest.mark.root

SCRIPT = textwrap.dedent(r'''
import json, socket, struct, select, subprocess
from netdwg.guard.sources.netlink import LinkNames, events_of, unbound_iproute
from netdwg.guard.sources.nlmsg import open_monitor_socket, parse_messages

def sh(cmd):
    subprocess.run(["sh", "-c", cmd], check=True)

sh("ip link add lan0 type veth peer name peer0 && ip link set lan0 up && ip link set peer0 up"
   " && ip addr add 172.20.10.5/24 dev lan0 && ip addr add 2001:db8:10::5/64 dev lan0 nodad"
   " && ip route add default via 172.20.10.1 dev lan0 metric 1024"
   " && ip route add 10.9.0.0/16 dev lan0 table 1000 metric 7 src 172.20.10.5"
   " && ip neigh replace 172.20.10.1 lladdr 02:AA:bb:cc:dd:01 dev lan0 nud reachable")

def raw_dump(kind, family=socket.AF_UNSPEC):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    body = struct.pack("=B", family) + b"\0" * (15 if kind == 18 else 11 if kind in (26, 30) else 7)
    s.send(struct.pack("=IHHII", 16 + len(body), kind, 0x301, 1, 0) + body)
    msgs = []
    while True:
        data = s.recv(1 << 16)
        msgs += parse_messages(data)
        # NLMSG_DONE may follow other messages in the same datagram
        off = 0
        while off + 16 <= len(data):
            ln, ty = struct.unpack_from("=IH", data, off)
            if ty == 3:
                s.close()
                return msgs
            off += (ln + 3) & ~3

def evs(msgs, links):
    # AddressAdded carries the monotonic time it was parsed: compare the address only
    return sorted(repr(getattr(e, "address", e)) for m in msgs for e in events_of(m, links))

out = {}
with unbound_iproute() as ipr:
    links = LinkNames()
    out["links_equal"] = evs(raw_dump(18), links) == evs(ipr.get_links(), LinkNames())
    out["addr_equal"] = evs(raw_dump(22), links) == evs(ipr.get_addr(), links)
    out["route_equal"] = evs(raw_dump(26, socket.AF_INET) + raw_dump(26, socket.AF_INET6), links) == \
        evs(list(ipr.get_routes(family=socket.AF_INET)) + list(ipr.get_routes(family=socket.AF_INET6)), links)
    out["neigh_equal"] = evs(raw_dump(30), links) == evs(ipr.get_neighbours(), links)
    out["sample"] = evs(raw_dump(30), links) + [e for e in evs(raw_dump(26, socket.AF_INET), links) if "1000" in e]
    out["addr_v6"] = [e for e in evs(raw_dump(22), links) if "2001:db8" in e]

mon = open_monitor_socket()
sh("ip route add 172.31.0.0/16 via 172.20.10.1 dev lan0 metric 50 && ip route del 172.31.0.0/16 via 172.20.10.1 dev lan0 metric 50"
   " && ip neigh replace 172.20.10.9 lladdr 02:00:00:00:00:09 dev lan0 && ip link set peer0 down")
got = []
while select.select([mon], [], [], 0.5)[0]:
    for m in parse_messages(mon.recv(1 << 16)):
        got += [repr(e) for e in events_of(m, links)]
out["live"] = got
print(json.dumps(out))
''')


def test_raw_reader_means_what_pyroute2_means(sandbox):
    ns = sandbox.netns("nlmsg")
    out = json.loads(ns.run([sys.executable, "-c", SCRIPT], env={"PYTHONPATH": str(REPO)}).stdout)
    assert out["links_equal"] and out["addr_equal"] and out["route_equal"] and out["neigh_equal"]
    assert ("NeighbourSeen(neighbour=Neighbour(dev='lan0', ip=IPv4Address('172.20.10.1'), "
            "mac='02:aa:bb:cc:dd:01'))") in out["sample"]
    assert ("RouteAdded(route=Route(dst=IPv4Network('10.9.0.0/16'), dev='lan0', metric=7, table=1000, proto=3, "
            "scope=253, gateway=None, prefsrc=IPv4Address('172.20.10.5')))") in out["sample"]
    assert out["addr_v6"] == ["Address(dev='lan0', interface=IPv6Interface('2001:db8:10::5/64'))"]
    live = out["live"]
    added = ("RouteAdded(route=Route(dst=IPv4Network('172.31.0.0/16'), dev='lan0', metric=50, table=254, "
             "proto=3, scope=0, gateway=IPv4Address('172.20.10.1'), prefsrc=None))")
    assert live[0] == added and live[1] == added.replace("RouteAdded", "RouteRemoved")
    assert ("NeighbourSeen(neighbour=Neighbour(dev='lan0', ip=IPv4Address('172.20.10.9'), "
            "mac='02:00:00:00:00:09'))") in live
    assert "LinkState(dev='peer0', carrier=False, admin_up=False)" in live
    assert "LinkState(dev='lan0', carrier=False, admin_up=True)" in live
