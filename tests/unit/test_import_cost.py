"""Building the live adapters (every live plan/apply/status does) opens no D-Bus connection and
starts no process: D-Bus (asyncio), subprocess, threads and pyroute2 come only when a networkd,
nft, route or kernel-device step runs. And the netdwg.unitfile API is complete when loaded lazily.

Each test runs a fresh interpreter and names the modules a
module-level import brought in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import netdwg

# Where netdwg is imported from: the checkout, or dist-packages where the .deb installed it
# (make deb-test runs this suite against the installed package).
REPO = Path(netdwg.__file__).resolve().parents[1]
# What an adapter loads only when its step runs.
HEAVY = (
    "asyncio", "ssl", "dbus_fast", "dbus_next", "netdwg.dbus_compat",  # networkd over D-Bus (host/networkd.py)
    "pyroute2",  # kernel WireGuard only (host/kernel_wg.py)
    "subprocess", "threading",  # nft, ip route, netplan generate
)


def loaded_by(code: str) -> list[str]:
    """The HEAVY modules present after running `code` in a fresh interpreter."""
    probe = f"import sys\n{code}\nprint('\\n'.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


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
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
