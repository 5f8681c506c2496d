"""netdwg: declarative WireGuard networks for systemd-networkd, netplan and wg-quick hosts.

Importing the package has no side effects; everything lives in submodules.
"""

__version__ = "0.2.0"
