#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netdwg developers
# MIT License (see LICENSE in the netdwg repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: key
short_description: The host's own WireGuard private key, made on the host; returns its public key
description:
  - Creates the private key of a WireGuard interface on the managed host if it is missing
    (C(/etc/netdwg/keys/IF.key), where netdwg renders C(PrivateKeyFile=) for a host whose
    topology entry sets C(public_key)), and returns its public key.
  - The private key never leaves the host. It is not returned, not logged and not shown in a diff;
    the module runs C(netdwg keys own), which writes it through netdwg's atomic writer with its
    final mode before its first byte.
  - Idempotent. O(rotate=true) makes a new key (always changed).
version_added: "0.1.0"
author:
  - netdwg developers (!UNKNOWN)
options:
  interface:
    description: The WireGuard interface the key is for.
    type: str
    default: wg0
  backend:
    description:
      - The host's backend in the topology. C(networkd) and C(netplan) hosts get the key as
        0640 root:systemd-network (networkd reads C(PrivateKeyFile=) as that group); C(wg-quick) hosts 0600 root.
    type: str
    choices: [networkd, netplan, wg-quick]
    default: networkd
  rotate:
    description: Replace the key with a new one.
    type: bool
    default: false
  netdwg:
    description: The netdwg command on the host (a name on PATH or a path).
    type: str
    default: netdwg
notes:
  - Check mode reports C(changed) when the key would be created or rotated; it creates nothing.
    A missing key then has no public key to return.
  - Supports check mode.
seealso:
  - module: netdwg.wireguard.apply
"""

EXAMPLES = r"""
- name: Each host makes its own key
  netdwg.wireguard.key:
    backend: "{{ netdwg_backend | default('networkd') }}"
  register: wg_key

- name: A new key for one laptop
  netdwg.wireguard.key:
    rotate: true
  register: wg_key
"""

RETURN = r"""
public_key:
  description: The interface's public key (base64). The private key is never returned.
  returned: when the key exists (always outside check mode)
  type: str
  sample: 0TcYUxsImfIi8hjBHI5frlfrtP9ym6HGyaPq8zeSmg0=
path:
  description: Where the private key is on the host.
  returned: always
  type: str
  sample: /etc/netdwg/keys/wg0.key
created:
  description: Whether the key was made by this run.
  returned: always
  type: bool
rotated:
  description: Whether the key was replaced by this run.
  returned: always
  type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netdwg.wireguard.plugins.module_utils.netdwg_cli import (
    fail_with_diagnostics, netdwg_argv, run_json,
)

KEY_DIR = "/etc/netdwg/keys"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            interface=dict(type="str", default="wg0"),
            backend=dict(type="str", default="networkd", choices=["networkd", "netplan", "wg-quick"]),
            rotate=dict(type="bool", default=False),
            netdwg=dict(type="str", default="netdwg"),
        ),
        supports_check_mode=True,
    )
    iface = module.params["interface"]
    path = os.path.join(KEY_DIR, iface + ".key")
    exists = os.path.exists(path)
    if module.check_mode and (module.params["rotate"] or not exists):
        module.exit_json(changed=True, path=path, created=not exists, rotated=module.params["rotate"])
    argv = netdwg_argv(module) + ["keys", "own", "--interface", iface, "--json"]
    if module.params["backend"] != "wg-quick":
        argv += ["--group", "systemd-network"]
    if module.params["rotate"]:
        argv.append("--rotate")
    if module.check_mode:  # the key exists: read its public key, change nothing
        argv = netdwg_argv(module) + ["keys", "pubkey"]
        with open(path, "rb") as key_file:
            rc, out, err = module.run_command(argv, data=key_file.read(), binary_data=True)
        if rc != 0:
            module.fail_json(msg="netdwg keys pubkey failed (exit %d): %s" % (rc, err.strip()), rc=rc)
        module.exit_json(changed=False, public_key=out.strip(), path=path, created=False, rotated=False)
    rc, data, err = run_json(module, argv)
    if rc != 0 or "public_key" not in data:
        fail_with_diagnostics(module, "netdwg keys own", rc, data, err)
    module.exit_json(changed=bool(data["created"] or data["rotated"]), public_key=data["public_key"],
                     path=data["path"], created=bool(data["created"]), rotated=bool(data["rotated"]))


if __name__ == "__main__":
    main()
