"""The lab's stand-in for ``netdwg apply``: configure a host node from a `HostConfig` with plain commands.

``netdwg lab up`` configures each host by running ``netdwg apply`` inside the
host's node, exactly as an admin would.  While a piece of that chain is not
available (the compiler `netdwg.topology.compile`, or the `apply` verb), the
lab still has to come up: `apply_with_commands` configures the node from
the compiler's `HostConfig` with `wg set`, `ip`, `sysctl` and `nft -f`.
It is not part of netdwg's product; `up.configure_host` uses ``netdwg apply``
as soon as that verb exists.
"""

from __future__ import annotations

from netdwg.lab.sandbox import Node
from netdwg.topology.hostconfig import Firewall, HostConfig
from netdwg.wireguard import IPNetwork


def render_nft(fw: Firewall, lan_ifnames: dict[IPNetwork, str]) -> str:
    """`table inet netdwg` for the stand-in (forward allow-list and masquerade)."""
    tun = ", ".join(f'"{i}"' for i in fw.tunnel_interfaces)
    lines = ["table inet netdwg {", "  chain forward {", "    type filter hook forward priority 0; policy accept;",
             "    ct state established,related accept"]
    for a in fw.allow:
        srcs = [s for s in a.sources if s.version == a.destination.version]
        fam = "ip" if a.destination.version == 4 else "ip6"
        if srcs:
            lines.append(f"    iifname {{ {tun} }} {fam} daddr {a.destination} {fam} saddr "
                         f"{{ {', '.join(map(str, srcs))} }} accept")
    for g in fw.guarded:
        fam = "ip" if g.version == 4 else "ip6"
        lines.append(f"    iifname {{ {tun} }} {fam} daddr {g} drop")
    lines += ["  }", "  chain postrouting {", "    type nat hook postrouting priority 100; policy accept;"]
    for m in fw.masquerade:
        for src in m.sources:
            if src.version != m.destination.version:
                continue
            fam = "ip" if src.version == 4 else "ip6"
            out = m.out_interface or lan_ifnames.get(m.destination)
            oif = f'oifname "{out}" ' if out else ""
            lines.append(f"    {oif}{fam} saddr {src} {fam} daddr {m.destination} masquerade")
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def apply_with_commands(node: Node, hc: HostConfig, lan_ifnames: dict[IPNetwork, str]) -> None:
    """Configure a running wireguard-go device (and routes, sysctls, nft) in `node` from `hc`."""
    for sc in hc.sysctls:
        node.run(["sysctl", "-q", "-w", f"{sc.key}={sc.value}"])
    for iface in hc.interfaces:
        dev = iface.device
        keyfile = str(iface.private_key_file)
        node.write_file(keyfile, dev.private_key.reveal_base64() + "\n", mode=0o600)
        argv = ["wg", "set", dev.name, "private-key", keyfile]
        if dev.listen_port:
            argv += ["listen-port", str(dev.listen_port)]
        for peer in dev.peers:
            argv += ["peer", peer.public_key.base64, "allowed-ips", ",".join(map(str, peer.allowed_ips))]
            if peer.preshared_key is not None:
                psk = str(iface.psk_file(peer))
                node.write_file(psk, peer.preshared_key.reveal_base64() + "\n", mode=0o600)
                argv += ["preshared-key", psk]
            if peer.endpoint is not None:
                argv += ["endpoint", str(peer.endpoint)]
            if peer.persistent_keepalive:
                argv += ["persistent-keepalive", str(peer.persistent_keepalive)]
        node.run(argv)
        script = [f"ip link set {dev.name} mtu {iface.mtu} up"]
        script += [f"ip addr add {a} dev {dev.name}" for a in iface.addresses]
        for r in iface.routes:
            script.append(f"ip route add {r.destination} dev {dev.name}"
                          + (f" metric {r.metric}" if r.metric is not None else ""))
        node.run(["sh", "-ec", "\n".join(script)])
    if hc.guard is not None:
        from netdwg.render import guard  # the guard's own file format, rendered as apply would

        for f in guard.render(hc):
            node.write_file(str(f.path), f.text, mode=f.mode)
    if hc.firewall is not None and not hc.firewall.is_empty:
        node.run(["nft", "-f", "-"], input=render_nft(hc.firewall, lan_ifnames))

