"""Round trip on generated networks: render every host, import the files, compile again: nothing differs."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings, strategies as st

from netdwg.render import render_host
from netdwg.topology import parse_topology
from netdwg.topology.compile import compile_topology
from netdwg.topology.importer import compare_hosts, import_hosts
from netdwg.topology.importer_files import read_hosts
from netdwg.topology.secrets import Secrets, complete_secrets


@st.composite
def networks(draw):
    v6 = draw(st.booleans())
    port = draw(st.sampled_from([51820, 51999]))
    lines = ["[network]", "name = gen", "interface = wg-gen",
             "pool = 10.70.0.0/16" + (", fd70::/64" if v6 else ""),
             f"mtu = {draw(st.sampled_from([1280, 1380, 1420]))}", f"keepalive = {draw(st.sampled_from([15, 25]))}",
             f"port = {port}",
             "[hosts]", "  [[hub]]", "  role = hub", f"  endpoint = 198.51.100.70:{port}",
             "  address = 10.70.0.1" + (", fd70::1" if v6 else ""),
             f"  backend = {draw(st.sampled_from(['networkd', 'netplan', 'wg-quick']))}"]
    if draw(st.booleans()):  # a LAN behind the hub itself
        lines += ["  lan = 10.90.0.0/24", "  lan_address = 10.90.0.1", "  lan_interface = eth1",
                  "  return_path = masquerade"]
    n_sites = draw(st.integers(0, 3))
    sites = [f"site{i}" for i in range(n_sites)]
    for i, name in enumerate(sites):
        two = draw(st.booleans())  # a second LAN
        lines += [f"  [[{name}]]", "  role = site", f"  address = 10.70.1.{i + 1}",
                  f"  lan = 10.{100 + i}.1.0/24" + (f", 172.{16 + i}.0.0/24" if two else ""),
                  f"  lan_address = 10.{100 + i}.1.1" + (f", 172.{16 + i}.0.1" if two else ""),
                  "  lan_interface = eth1",
                  f"  return_path = {draw(st.sampled_from(['static-route', 'masquerade']))}",
                  f"  backend = {draw(st.sampled_from(['networkd', 'netplan', 'wg-quick']))}"]
        if draw(st.booleans()):  # a site with a public address of its own
            lines.append(f"  endpoint = 203.0.113.{i + 1}:{port}")
        if draw(st.booleans()):
            lines.append(f"  keepalive = {draw(st.sampled_from([0, 10]))}")
        if draw(st.booleans()):  # roaming hosts route a covering prefix instead of this LAN
            lines += ["  guard_action = widen", f"  widen_to = 10.{100 + i}.0.0/16"]
    for i in range(draw(st.integers(1, 4))):
        lines += [f"  [[user{i}]]", "  role = roaming", f"  address = 10.70.2.{i + 1}" + (f", fd70::2:{i + 1}" if v6 and draw(st.booleans()) else ""),
                  f"  backend = {draw(st.sampled_from(['networkd', 'wg-quick', 'netplan']))}"]
        if sites and draw(st.booleans()):
            reach = draw(st.lists(st.sampled_from(sites), unique=True))
            lines.append(f"  reach = {', '.join(reach) if reach else ','}")
        if draw(st.booleans()):
            lines.append("  mtu = 1280")
        if draw(st.booleans()):
            lines.append(f"  keepalive = {draw(st.sampled_from([0, 10]))}")
    return "\n".join(lines) + "\n"


@st.composite
def meshes_and_pairs(draw):
    """No hub: sites with public endpoints in a mesh, or joined by site pairs only."""
    paired = draw(st.booleans())
    lines = ["[network]", "name = gen", "interface = wg-mesh"] + ([] if paired else ["pool = 10.80.0.0/24"])
    lines.append("[hosts]")
    n = draw(st.integers(2, 3)) if not paired else 2
    for i in range(n):
        lines += [f"  [[gw{i}]]", "  role = site", f"  endpoint = 203.0.113.{i + 1}:{51821 if paired else 51820}",
                  f"  lan = 172.30.{i}.0/24", f"  lan_address = 172.30.{i}.1", "  lan_router = " + f"172.30.{i}.1",
                  "  return_path = none", f"  backend = {draw(st.sampled_from(['networkd', 'netplan', 'wg-quick']))}"]
        if not paired:
            lines.append(f"  address = 10.80.0.{i + 1}")
    if paired:
        lines += ["[pairs]", "  [[gw0-gw1]]", "  ends = gw0, gw1",
                  f"  transfer = {draw(st.sampled_from(['10.255.0.0/31', '10.255.0.4/30']))}"]
    return "\n".join(lines) + "\n"


# A hub and one roaming host: both list each other, so "everyone's peer" alone cannot tell the hub
# (an importer that wanted three hosts made both roaming and dropped their peers).
TWO_HOSTS = """\
[network]
name = gen
interface = wg-gen
pool = 10.70.0.0/16
mtu = 1280
keepalive = 15
[hosts]
  [[hub]]
  role = hub
  endpoint = 198.51.100.70:51820
  address = 10.70.0.1
  [[user0]]
  role = roaming
  address = 10.70.2.1
"""


def write_hosts(compiled, root: Path, edit=None) -> Path:
    """Every host's rendered files under root/HOST/..., each text through `edit(path, text)` if given."""
    for name, config in compiled.items():
        for file in render_host(config):
            target = root / name / file.relative_to_root()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(edit(target, file.text) if edit else file.text)
    return root


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(networks(), meshes_and_pairs()))
@example(TWO_HOSTS)
def test_render_import_compile_changes_nothing(text):
    topology = parse_topology(text, "gen.conf")
    secrets, _ = complete_secrets(topology, Secrets())
    compiled = compile_topology(topology, secrets)
    with tempfile.TemporaryDirectory() as tmp:
        hosts = read_hosts(sorted(write_hosts(compiled, Path(tmp)).iterdir()))
        imported = import_hosts(hosts, "gen")
        again = compile_topology(parse_topology(imported.text, "imported.conf"), imported.secrets)
        assert compare_hosts(hosts, again) == ()
        assert {h.name: h.role for h in parse_topology(imported.text).hosts} == {h.name: h.role for h in topology.hosts}


def _slash_host(match) -> str:
    """`Address = 10.70.0.1/16, fd70::1/64` written the way many admins do: /32 and /128."""
    return "Address = " + ", ".join(a.split("/")[0] + ("/128" if ":" in a else "/32")
                                    for a in match.group(1).split(", "))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.sampled_from([0, 15, 25]))
def test_spelling_does_not_change_the_import(text, hub_keepalive):
    """wg-quick files with every address written /32 (/128), and a hub that keeps its own keepalive
    towards the spokes: the import means the same network (issue 14: /32 made the hub a site)."""
    import re

    text = text.replace("port = ", f"hub_keepalive = {hub_keepalive}\nport = ", 1)
    topology = parse_topology(text, "gen.conf")
    secrets, _ = complete_secrets(topology, Secrets())
    compiled = compile_topology(topology, secrets)
    def slash_host(target: Path, body: str) -> str:
        if target.suffix == ".conf" and target.parent.name == "wireguard":
            return re.sub(r"^Address = (.*)$", _slash_host, body, flags=re.M)
        return body

    with tempfile.TemporaryDirectory() as tmp:
        hosts = read_hosts(sorted(write_hosts(compiled, Path(tmp), slash_host).iterdir()))
        imported = import_hosts(hosts, "gen")
        again = parse_topology(imported.text, "imported.conf")
        assert compare_hosts(hosts, compile_topology(again, imported.secrets)) == ()
        assert {h.name: h.role for h in again.hosts} == {h.name: h.role for h in topology.hosts}
        assert again.network.hub_keepalive == hub_keepalive
