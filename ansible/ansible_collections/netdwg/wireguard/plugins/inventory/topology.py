# -*- coding: utf-8 -*-
# Copyright: netdwg developers
# MIT License (see LICENSE in the netdwg repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: topology
short_description: Every host of a netdwg topology file, grouped by role and by site
description:
  - Reads a netdwg topology file (netdwg.conf(5)) with netdwg's own loader, on the controller,
    and adds every host, with groups by role (C(netdwg_hub), C(netdwg_site), C(netdwg_roaming)),
    one group per site with a LAN (C(netdwg_lan_SITE), the site gateway), and C(netdwg) holding all.
  - Host variables from the topology - C(netdwg_address) (the first tunnel address), C(netdwg_addresses),
    C(netdwg_role), C(netdwg_backend), C(netdwg_interface), C(netdwg_lans), and C(netdwg_public_key) for a
    host that keeps its own private key and whose public key the topology already records (site.yml then
    skips asking the host for it).
  - C(ansible_host) comes from the topology only when O(ansible_host_from) says so; otherwise the
    user's own inventory (host_vars, another inventory source) sets it.
  - Needs netdwg on the controller (the same Python as ansible-core).
version_added: "0.1.0"
author:
  - netdwg developers (!UNKNOWN)
options:
  plugin:
    description: The name of this plugin.
    required: true
    type: str
    choices: [netdwg.wireguard.topology]
  topology:
    description: The netdwg topology file; a relative path is taken from the inventory file's directory.
    required: true
    type: str
  ansible_host_from:
    description:
      - Where C(ansible_host) comes from. C(endpoint) takes the host part of the host's public
        C(endpoint) (hosts without one get none); C(none) leaves it to the user's inventory.
    type: str
    choices: [none, endpoint]
    default: none
"""

EXAMPLES = r"""
# fleet.netdwg.yml (an inventory file's name must end in netdwg.yml or netdwg.yaml)
plugin: netdwg.wireguard.topology
topology: netdwg.conf

# then: ansible-inventory -i fleet.netdwg.yml --graph
#       ansible-playbook -i fleet.netdwg.yml -i mgmt.ini playbooks/site.yml
"""

import os

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin

try:
    from netdwg.errors import NetdwgError
    from netdwg.topology import load_topology
    HAS_NETDWG = True
except ImportError:
    HAS_NETDWG = False


def _group(name):
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name)


class InventoryModule(BaseInventoryPlugin):

    NAME = "netdwg.wireguard.topology"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(("netdwg.yml", "netdwg.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        if not HAS_NETDWG:
            raise AnsibleParserError("the netdwg.wireguard.topology inventory needs netdwg in the controller's Python "
                                     "(pip install netdwg, or the netdwg .deb)")
        topology_path = os.path.join(os.path.dirname(os.path.abspath(path)), os.path.expanduser(self.get_option("topology")))
        try:
            topology = load_topology(topology_path)
        except NetdwgError as err:
            raise AnsibleParserError("%s: %s" % (topology_path, err))
        self.inventory.add_group("netdwg")
        for host in topology.hosts:
            name = host.name
            role = str(getattr(host.role, "value", host.role))
            backend = str(getattr(host.backend, "value", host.backend))
            self.inventory.add_host(name, group="netdwg")
            role_group = self.inventory.add_group("netdwg_" + _group(role))
            self.inventory.add_child(role_group, name)
            lans = [str(lan.prefix) for lan in host.lans]
            if lans:
                site_group = self.inventory.add_group("netdwg_lan_" + _group(name))
                self.inventory.add_child(site_group, name)
            addresses = [str(a) for a in host.addresses]
            self.inventory.set_variable(name, "netdwg_address", addresses[0] if addresses else None)
            self.inventory.set_variable(name, "netdwg_addresses", addresses)
            self.inventory.set_variable(name, "netdwg_role", role)
            self.inventory.set_variable(name, "netdwg_backend", backend)
            self.inventory.set_variable(name, "netdwg_interface", topology.network.interface)
            self.inventory.set_variable(name, "netdwg_lans", lans)
            if host.public_key is not None:
                self.inventory.set_variable(name, "netdwg_public_key", host.public_key.base64)
            if self.get_option("ansible_host_from") == "endpoint" and host.endpoint is not None:
                self.inventory.set_variable(name, "ansible_host", str(host.endpoint.host))
