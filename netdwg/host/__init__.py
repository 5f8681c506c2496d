"""Ports (typing.Protocol, in ports.py) and the real adapters behind them:

    files.py        files under a root: permission-first atomic writes, backups, manifest
    uapi.py         userspace WireGuard (wireguard-go) over its UAPI socket
    kernel_wg.py    kernel WireGuard over genetlink (pyroute2 transport, netdwg's own messages)
    detect.py       which of the two an interface uses
    networkd.py     systemd-networkd over D-Bus: Reload, ReconfigureLink, link state
    nft.py          table inet netdwg, replaced in one nft transaction
    sysctl_live.py  /proc/sys
    routes.py       routes into an interface (for status and route repair)
    netplan_gen.py  netplan generate and the 0.106 permission fix
"""
