"""`netplan generate` for netplan hosts, then the permission fix netplan 0.106 needs.

netdwg never runs `netplan apply`: it restarts networkd, which drops every
WireGuard session. It renders with `netplan generate` and lets apply's own
networkd and live-peer steps follow. netplan 0.106 (Debian 12) writes
/run/systemd/network/10-netplan-*.netdev 0644 root:root even with an inline
PrivateKey= (fixed upstream by canonical/netplan PR #614, chmod/chown of
generated files): networkd then warns "too permissive" and anyone can read the key.
"""

from __future__ import annotations

import grp
import os
import subprocess
from pathlib import Path

from netdwg.errors import ExternalError

GENERATED_DIR = "run/systemd/network"
SECRET_SETTINGS = ("PrivateKey=", "PresharedKey=")


def netplan_generate(root: Path = Path("/")) -> list[Path]:
    """Run the generator, then make key-bearing outputs 0640 root:systemd-network; returns the fixed files."""
    argv = ["netplan", "generate"]
    if Path(root).resolve() != Path("/"):
        argv += ["--root-dir", str(root)]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise ExternalError("netplan not found", fix="install netplan.io, or render for networkd instead") from None
    if result.returncode != 0:
        raise ExternalError(f"netplan generate failed: {result.stderr.strip()}",
                            fix="check the YAML: netplan get (netdwg rendered it, so please report this)")
    return fix_generated_permissions(Path(root))


def fix_generated_permissions(root: Path) -> list[Path]:
    fixed = []
    directory = root / GENERATED_DIR
    if not directory.is_dir():
        return fixed
    gid = grp.getgrnam("systemd-network").gr_gid if os.geteuid() == 0 else None
    for path in sorted(directory.glob("10-netplan-*.netdev")):
        text = path.read_text(errors="replace")
        if not any(s in text for s in SECRET_SETTINGS):
            continue
        st = path.stat()
        if st.st_mode & 0o777 == 0o640 and (gid is None or (st.st_uid, st.st_gid) == (0, gid)):
            continue
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            os.fchmod(fd, 0o600)  # first shut others out, then let networkd's group in
            if gid is not None:
                os.fchown(fd, 0, gid)
            os.fchmod(fd, 0o640)
        finally:
            os.close(fd)
        fixed.append(path)
    return fixed
