# -*- coding: utf-8 -*-
# Copyright: netdwg developers
# MIT License (see LICENSE in the netdwg repository)
"""Running the netdwg CLI on a managed host and reading its --json output (shared by the modules)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json


def netdwg_argv(module):
    """The netdwg command: the `netdwg` option if it names an executable, else `netdwg` on PATH."""
    executable = module.params.get("netdwg") or "netdwg"
    if "/" in executable:
        return [executable]
    found = module.get_bin_path(executable, required=False)
    if not found:
        module.fail_json(msg="netdwg is not installed on this host (not found on PATH)",
                         fix="install it first (site.yml's install task: the .deb or pip), "
                             "or set the netdwg option to its path")
    return [found]


def run_json(module, argv, check_rc_ok=(0,)):
    """Run argv; (rc, parsed stdout, stderr). netdwg prints errors as JSON with --json too."""
    rc, out, err = module.run_command(argv)
    try:
        data = json.loads(out) if out.strip() else {}
    except ValueError:
        data = {"output": out}
    return rc, data, err


def fail_with_diagnostics(module, what, rc, data, err, **extra):
    """A failure carrying netdwg's own diagnostics (error, fix, file, line, diagnostics) as data."""
    module.fail_json(msg="%s failed (exit %d): %s" % (what, rc, data.get("error") or err.strip() or "no output"),
                     rc=rc, error=data.get("error"), fix=data.get("fix"), file=data.get("file"),
                     line=data.get("line"), diagnostics=data.get("diagnostics", []), stderr=err, **extra)
