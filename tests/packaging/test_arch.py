"""The Arch package, built from packaging/arch/PKGBUILD with Debian's makepkg.

Slow-ish (about 30 s) and it adds a system user for the build (makepkg
refuses root), so it runs with NETDWG_DEB_TEST=1 (make deb-test) or
NETDWG_ARCH_TEST=1. Dependency checks are skipped (-d): Arch packages are
not installable here. namcap is not packaged for Debian 12.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEM_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.root,
    pytest.mark.skipif("1" not in (os.environ.get("NETDWG_DEB_TEST"), os.environ.get("NETDWG_ARCH_TEST")),
                       reason="builds the Arch package: set NETDWG_ARCH_TEST=1 or run make deb-test"),
]


@pytest.fixture(scope="module")
def package() -> Path:
    proc = subprocess.run(["make", "-C", str(REPO), "arch"], capture_output=True, text=True, timeout=900,
                          env=SYSTEM_ENV)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    built = sorted((REPO / "build" / "arch").glob("netdwg-*-any.pkg.tar.*"))
    assert len(built) == 1, built
    return built[0]


def _members(package: Path) -> set[str]:
    # Arch's .pkg.tar.zst needs zstd, which tarfile lacks: let bsdtar list it.
    listing = subprocess.run(["bsdtar", "-tf", str(package)], capture_output=True, text=True, check=True).stdout
    return set(listing.splitlines())


def _pkginfo(package: Path) -> list[tuple[str, str]]:
    text = subprocess.run(["bsdtar", "-xOf", str(package), ".PKGINFO"], capture_output=True, text=True,
                          check=True).stdout
    return [tuple(part.strip() for part in line.split("=", 1)) for line in text.splitlines()
            if "=" in line and not line.startswith("#")]


def test_package_holds_commands_units_docs_and_license(package):
    names = _members(package)
    # The Python scheme is the build machine's: Arch's python gives usr/bin and
    # usr/lib/python3.X/site-packages; Debian's (here) gives usr/local/...
    assert any(n.endswith("bin/netdwg") for n in names)
    assert any(n.endswith("bin/netdwg-guard") for n in names)
    for expected in ("usr/lib/systemd/system/netdwg-guard.service", "usr/lib/systemd/system/netdwg-recover.service",
                     "usr/lib/systemd/system/netdwg-apply.path",
                     "usr/lib/systemd/system/netdwg-apply.service", "usr/share/man/man8/netdwg.8.gz",
                     "usr/share/man/man8/netdwg-guard.8.gz", "usr/share/man/man5/netdwg.conf.5.gz",
                     "usr/share/bash-completion/completions/netdwg", "usr/share/doc/netdwg/examples/harbor.conf",
                     "usr/share/licenses/netdwg/LICENSE", "etc/netdwg/netdwg.conf"):
        assert expected in names, f"{expected} missing"


def test_pkginfo_declares_dependencies_and_keeps_the_topology(package):
    info = _pkginfo(package)
    depends = {v for k, v in info if k == "depend"}
    assert {"python", "python-pyroute2", "python-configobj", "python-dbus-fast", "python-systemd",
            "wireguard-tools"} <= depends
    assert ("backup", "etc/netdwg/netdwg.conf") in info
    assert ("arch", "any") in info


def test_srcinfo_is_current(package):
    proc = subprocess.run(["runuser", "-u", "netdwg-build", "--", "makepkg", "--printsrcinfo"],
                          cwd=REPO / "build" / "arch", capture_output=True, text=True, env=SYSTEM_ENV, timeout=120)
    assert proc.returncode == 0, proc.stderr
    committed = (REPO / "packaging" / "arch" / ".SRCINFO").read_text()
    assert proc.stdout == committed, "regenerate: cd build/arch && makepkg --printsrcinfo > ../../packaging/arch/.SRCINFO"
