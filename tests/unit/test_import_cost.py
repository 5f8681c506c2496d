"""`netdwg apply` starts without the modules it does not need (issue 4: a one-peer change on a
5,000-peer hub should cost <= 3x `wg syncconf`, ~0.1 s, and Python imports were ~0.15 s of it).

Each test runs a fresh interpreter (-S: no site hooks that import things of their own) and
names the modules that a top-level import brought back. Not a timing test: a module in the
list means someone put its import back at the top of a module on the apply path; move it into
the function that needs it (see the comment in each list).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import netdwg

# Where netdwg is imported from: the checkout, or dist-packages where the .deb installed it
# (make deb-test runs this suite against the installed package; -S drops site, so say where).
REPO = Path(netdwg.__file__).resolve().parents[1]
APPLY_PATH = ("netdwg.cli.apply", "netdwg.apply.session", "netdwg.apply.execute", "netdwg.apply.confirm")

# Never on the apply path of a host whose plan holds only live WireGuard peer changes.
HEAVY = (
    "asyncio", "ssl", "logging", "concurrent.futures",  # networkd over D-Bus (host/networkd.py)
    "dbus_fast", "dbus_next", "netdwg.dbus_compat",
    "pyroute2",  # kernel WireGuard only (host/kernel_wg.py)
    "configobj", "cryptography", "yaml",  # topology, keys, netplan: not with --from DIR
    "subprocess", "threading",  # nft, ip route, netplan generate
    "pkgutil",  # verb discovery: the verb is named on the command line (cli/__init__.py)
    "shutil", "bz2", "lzma",  # backup pruning (host/files.py); argparse's width (cli.HelpFormatter)
    "json",  # --json output and the confirmation record (apply/confirm.py)
    "signal",  # --confirm only
    # netdwg.unitfile's package __init__ loads its submodules on first use
    "netdwg.unitfile.views", "netdwg.unitfile.check", "netdwg.unitfile.schema", "netdwg.unitfile.edit",
    "netdwg.unitfile.builder",
)


def loaded_by(code: str) -> list[str]:
    """The HEAVY modules present after running `code` in a fresh interpreter."""
    probe = f"import sys\n{code}\nprint('\\n'.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_importing_the_apply_path_loads_no_heavy_module():
    assert loaded_by(f"import {', '.join(APPLY_PATH)}") == []


def test_the_apply_verb_runs_without_scanning_the_verbs_or_sizing_help_with_shutil(tmp_path):
    # main() up to the first check of --from: the parser is built (argparse would import
    # shutil for its width) and the verb module found by name (no pkgutil scan).
    code = ("from netdwg.cli import main\n"
            f"assert main(['apply', '--from', {str(tmp_path / 'missing')!r}, '--root', {str(tmp_path)!r}]) == 2\n")
    assert loaded_by(code) == []


def test_live_ports_open_no_dbus_connection_and_start_no_process():
    # The live adapters are built on every live apply; D-Bus (asyncio) and subprocess
    # come only when a networkd, nft or route step runs.
    code = "from pathlib import Path\nfrom netdwg.apply.observe import live_ports\nlive_ports(Path('/'))\n"
    assert loaded_by(code) == []


def test_the_unitfile_api_is_complete_when_loaded_lazily():
    # PEP 562: every documented name still imports from netdwg.unitfile, dir() lists it,
    # and `from netdwg.unitfile import *` brings all of __all__.
    code = ("import netdwg.unitfile as u\n"
            "names = set(u.__all__)\n"
            "assert names <= set(dir(u)), names - set(dir(u))\n"
            "ns = {}\nexec('from netdwg.unitfile import *', ns)\n"
            "assert names <= set(ns), names - set(ns)\n"
            "from netdwg.unitfile import parse_unit, to_wg_device, check_unit_file, NETWORK_DIRS\n"
            "from netdwg.unitfile.views import to_wg_device as direct\n"
            "assert to_wg_device is direct and u.to_wg_device is direct\n"
            "try:\n    u.no_such_name\nexcept AttributeError:\n    pass\nelse:\n    raise SystemExit('no error')\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
