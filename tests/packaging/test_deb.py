"""The Debian 12 package, built and installed into a fresh debootstrap'd root.

Slow (a few minutes: debootstrap plus apt downloading Debian's python3-*
packages), so it runs only with NETDWG_DEB_TEST=1, which `make deb-test`
sets. It proves what a user of the .deb gets: apt resolves every dependency
from Debian's own archive, and netdwg runs there with Debian 12's library
versions (pyroute2 0.7.2, configobj 5.0.8, dbus-fast 1.84, ...), not the
venv's.

Nothing here touches the network configuration of the machine: the root is
a directory used with chroot, inside a private mount namespace (unshare -m)
so the /proc and /dev it needs disappear with the command; the build runs in
an empty network namespace (unshare -n) to prove it is offline.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEM_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root",
              "DEBIAN_FRONTEND": "noninteractive"}
MIRROR = os.environ.get("NETDWG_DEB_MIRROR", "http://deb.debian.org/debian")
# debootstrap keeps downloaded .debs here, so a rerun builds a fresh root
# without downloading the base system again.
CACHE = Path(os.environ.get("NETDWG_DEB_CACHE", "/var/cache/netdwg-deb-test"))
EXAMPLE = "/usr/share/doc/netdwg/examples/harbor.conf"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.root,
    pytest.mark.skipif(os.environ.get("NETDWG_DEB_TEST") != "1",
                       reason="builds a .deb and a Debian 12 root (minutes): set NETDWG_DEB_TEST=1 or run make deb-test"),
]


def _run(cmd, *, timeout=900, check=True, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=SYSTEM_ENV, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd!r} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}"
                             f"\n--- stderr\n{proc.stderr[-4000:]}")
    return proc


def in_root(root: Path, *cmd: str, check=True, timeout=900) -> subprocess.CompletedProcess:
    """Run cmd chrooted in root, with /proc and /dev mounted only in a private mount namespace."""
    script = ('mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" && '
              'exec chroot "$0" "$@"')
    return _run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, str(root), *cmd],
                check=check, timeout=timeout)


def _mounts_under(root: Path) -> list[str]:
    mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    return [line.split()[4] for line in mounts if line.split()[4].startswith(str(root))]


@pytest.fixture(scope="module")
def commit() -> str:
    """The commit under test: the package and the unit suite both come from it,
    even when teammates commit while this runs."""
    return _run(["git", "-C", str(REPO), "rev-parse", "HEAD"]).stdout.strip()


@pytest.fixture(scope="module")
def deb(commit) -> Path:
    started = time.monotonic()
    _run(["make", "-C", str(REPO), "build/.pkg-deps-stamp"], timeout=900)  # build-deps, online if missing
    # The build itself runs in a network namespace of its own with no
    # connectivity: proof that it is offline (nothing fetched from PyPI).
    _run(["unshare", "--net", "--", "make", "-C", str(REPO), "deb", f"PKG_REF={commit}"], timeout=900)
    debs = sorted((REPO / "build" / "deb").glob("netdwg_*_all.deb"))
    assert len(debs) == 1, debs
    print(f"\n[time] make deb, offline (build + lintian): {time.monotonic() - started:.1f} s")
    return debs[0]


@pytest.fixture(scope="module")
def debian_root(deb):
    """A fresh Debian 12 (bookworm) minbase root with the .deb installed by apt."""
    root = Path(tempfile.mkdtemp(prefix="ndw-debroot-", dir="/var/tmp"))
    root.chmod(0o755)  # it becomes "/": mkdtemp's 0700 would lock every other user out
    CACHE.mkdir(parents=True, exist_ok=True)
    try:
        started = time.monotonic()
        _run(["unshare", "--mount", "--propagation", "private", "--",
              "debootstrap", "--variant=minbase", f"--cache-dir={CACHE}", "bookworm", str(root), MIRROR],
             timeout=1500)
        booted = time.monotonic()
        shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
        # debootstrap writes no /etc/hosts; every installed Debian has one.
        (root / "etc" / "hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
        # Nothing may start services inside the chroot.
        policy = root / "usr" / "sbin" / "policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        shutil.copy(deb, root / "tmp" / deb.name)
        in_root(root, "apt-get", "update", "-q")
        # As a user would: apt's default also installs Recommends (systemd, nftables).
        in_root(root, "apt-get", "install", "-y", "-q", f"/tmp/{deb.name}")
        print(f"\n[time] debootstrap bookworm minbase: {booted - started:.1f} s, "
              f"apt-get install of the .deb with its dependencies: {time.monotonic() - booted:.1f} s")
        yield root
    finally:
        leftover = _mounts_under(root)
        assert not leftover, f"mounts left under {root}: {leftover}"
        shutil.rmtree(root, ignore_errors=True)


def test_lintian_reports_no_errors_and_no_warnings(deb):
    changes = next(deb.parent.glob("netdwg_*.changes"))
    proc = _run(["lintian", "--info", "--pedantic", "--fail-on", "error,warning", str(changes)], check=False)
    tags = [line for line in proc.stdout.splitlines() if line[:2] in ("E:", "W:")]
    assert tags == [], proc.stdout
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_package_ships_commands_units_docs_and_a_conffile(deb):
    listing = _run(["dpkg-deb", "--contents", str(deb)]).stdout
    paths = {line.split()[5].lstrip(".") for line in listing.splitlines()}
    for expected in ("/usr/bin/netdwg", "/usr/bin/netdwg-guard",
                     "/lib/systemd/system/netdwg-guard.service", "/lib/systemd/system/netdwg-recover.service",
                     "/lib/systemd/system/netdwg-apply.service", "/lib/systemd/system/netdwg-apply.path",
                     "/usr/share/man/man8/netdwg.8.gz", "/usr/share/man/man8/netdwg-guard.8.gz",
                     "/usr/share/man/man5/netdwg.conf.5.gz",
                     "/usr/share/bash-completion/completions/netdwg",
                     EXAMPLE, "/etc/netdwg/netdwg.conf"):
        assert expected in paths, f"{expected} missing from the package"
    conffiles = _run(["dpkg-deb", "--info", str(deb), "conffiles"]).stdout.split()
    assert conffiles == ["/etc/netdwg/netdwg.conf"]
    depends = _run(["dpkg-deb", "--field", str(deb), "Depends"]).stdout
    assert "python3-dbus-fast (>= 1.84) | python3-dbus-next" in depends
    assert "python3-pyroute2 (>= 0.7.2)" in depends


def test_units_are_installed_and_only_the_boot_recovery_is_enabled(debian_root):
    units = debian_root / "lib" / "systemd" / "system"
    for name in ("netdwg-guard.service", "netdwg-apply.path", "netdwg-apply.service", "netdwg-recover.service"):
        assert (units / name).is_file(), name
    enabled = sorted(str(p.relative_to(debian_root)) for p in (debian_root / "etc" / "systemd" / "system").rglob("netdwg*"))
    assert enabled == ["etc/systemd/system/multi-user.target.wants/netdwg-recover.service"], enabled


def test_netdwg_runs_with_debian12_libraries(debian_root):
    version = in_root(debian_root, "netdwg", "--version").stdout.strip()
    assert re.fullmatch(r"netdwg \d+\.\d+\.\d+", version), version
    # The libraries it runs with are Debian 12's packages (pyroute2 0.7.2 reports
    # __version__ "unknown", so ask dpkg), and netdwg itself is the packaged one.
    packages = ["python3-pyroute2", "python3-configobj", "python3-cryptography",
                "python3-yaml", "python3-qrcode", "python3-systemd", "python3-dbus-fast"]
    shown = in_root(debian_root, "dpkg-query", "-W", "-f", "${Package} ${Version}\\n", *packages).stdout
    versions = dict(line.split() for line in shown.splitlines())
    assert versions["python3-pyroute2"].startswith("0.7.2-"), versions
    assert versions["python3-configobj"].startswith("5.0.8-"), versions
    assert versions["python3-cryptography"].startswith("38.0.4-"), versions
    assert versions["python3-dbus-fast"].startswith("1.84."), versions
    print("\n[debian 12] " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())))
    probe = ("import netdwg, pyroute2, configobj, yaml, qrcode, systemd.daemon, cryptography;"
             "print(netdwg.__file__, pyroute2.__file__)")
    files = in_root(debian_root, "python3", "-c", probe).stdout.split()
    assert all(f.startswith("/usr/lib/python3/dist-packages/") for f in files), files
    in_root(debian_root, "netdwg-guard", "--help")


def test_lint_and_render_of_the_example_topology(debian_root):
    # A copy, so the secrets store netdwg creates beside it lands in /root.
    in_root(debian_root, "cp", EXAMPLE, "/root/harbor.conf")
    lint = in_root(debian_root, "netdwg", "lint", "--topology", "/root/harbor.conf", check=False)
    assert lint.returncode in (0, 1), lint.stdout + lint.stderr  # 1: warnings only
    assert "Traceback" not in lint.stderr
    render = in_root(debian_root, "netdwg", "render", "--topology", "/root/harbor.conf", "--out", "/root/out",
                     check=False)
    assert render.returncode == 0, render.stdout + render.stderr
    out = debian_root / "root" / "out"
    hosts = {p.name for p in out.iterdir() if p.is_dir()}
    assert hosts == {"relay", "oslo", "bergen", "ana", "ben"}
    relay_files = [p.name for p in (out / "relay").rglob("*") if p.is_file()]
    assert any(name.endswith(".netdev") for name in relay_files), relay_files
    ben_files = [p.name for p in (out / "ben").rglob("*") if p.is_file()]
    assert any(name.endswith(".conf") for name in ben_files), ben_files
    for path in out.rglob("*"):
        if path.is_file() and "PrivateKey" in path.read_text(errors="replace"):
            assert path.stat().st_mode & 0o007 == 0, f"{path} holds a key and is world-readable"


def test_every_module_imports_with_debian12_libraries(debian_root):
    # Verbs import lazily; this catches an API that Debian's older library
    # lacks (pyroute2 0.7.2, dbus-fast 1.84, ...) in any module.
    probe = ("import importlib, pkgutil, netdwg\n"
             "names = [m.name for m in pkgutil.walk_packages(netdwg.__path__, 'netdwg.')\n"
             "         if not m.name.endswith('__main__')]  # that one runs the CLI\n"
             "for name in names: importlib.import_module(name)\n"
             "print(len(names))")
    count = int(in_root(debian_root, "python3", "-c", probe).stdout)
    assert count > 20


def test_unit_suite_passes_with_debian12_libraries(debian_root, commit):
    """tests/unit, run by Debian's pytest against the installed package."""
    # git: the systemd table generator's tests (tools/ comes with the tests) read tags of a checkout.
    # python3-prometheus-client (Suggests, for netdwg metrics): the guard counters' export runs on
    # Debian's 0.16 as netdwg-metrics.service would.
    in_root(debian_root, "apt-get", "install", "-y", "-q", "--no-install-recommends",
            "python3-pytest", "python3-hypothesis", "git", "python3-prometheus-client")
    # The same commit the package was built from,
    # without the netdwg/ package itself, so the tests import the installed
    # one from /usr/lib/python3/dist-packages. Under /srv: some tests run
    # commands as an unprivileged user, who cannot enter /root.
    work = debian_root / "srv" / "netdwg-tests"
    work.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", commit], capture_output=True,
                             check=True, timeout=120).stdout
    subprocess.run(["tar", "-xf", "-", "-C", str(work)], input=archive, check=True, timeout=120)
    shutil.rmtree(work / "netdwg")
    # Tests that run the venv's programs get Debian's.
    venv = work / ".venv" / "bin"
    venv.mkdir(parents=True)
    for name, target in (("python", "/usr/bin/python3"), ("python3", "/usr/bin/python3"),
                         ("netdwg", "/usr/bin/netdwg"), ("netdwg-guard", "/usr/bin/netdwg-guard")):
        (venv / name).symlink_to(target)
    # The suite assumes a development machine, where no /etc/netdwg/netdwg.conf
    # exists; the package's commented template is moved aside meanwhile.
    conf = debian_root / "etc" / "netdwg" / "netdwg.conf"
    aside = conf.with_suffix(".conf.aside")
    conf.rename(aside)
    try:
        started = time.monotonic()
        # The suite itself runs under Debian's pytest 7.2 (no nose-style setup()
        # helpers, no huge parameter ids): nothing is deselected here.
        proc = in_root(debian_root, "sh", "-c", "cd /srv/netdwg-tests && python3 -m pytest -q -p no:cacheprovider "
                       "--tb=short tests/unit", check=False, timeout=1200)
    finally:
        aside.rename(conf)
    print(f"\n[time] tests/unit in the Debian 12 root: {time.monotonic() - started:.1f} s; "
          + (proc.stdout.strip().splitlines() or ["?"])[-1])
    failures = [line[:300] for line in proc.stdout.splitlines() if line.startswith(("FAILED", "ERROR", "E "))]
    assert proc.returncode == 0, "\n".join(failures[-60:])
    assert "/usr/lib/python3/dist-packages/netdwg" in in_root(
        debian_root, "sh", "-c", "cd /srv/netdwg-tests && python3 -c 'import netdwg; print(netdwg.__file__)'").stdout


def test_conffile_edits_survive_reinstall(debian_root, deb):
    conf = debian_root / "etc" / "netdwg" / "netdwg.conf"
    conf.write_text(conf.read_text() + "# local edit\n")
    in_root(debian_root, "dpkg", "-i", f"/tmp/{deb.name}")
    assert conf.read_text().endswith("# local edit\n")


def test_purge_removes_state_but_keeps_the_secrets_store(debian_root, deb):
    # Runs last: it removes the package from the root.
    state = debian_root / "var" / "lib" / "netdwg"
    state.mkdir(parents=True, exist_ok=True)
    (state / "managed.json").write_text("{}")
    secrets = debian_root / "etc" / "netdwg" / "netdwg.secrets"
    secrets.write_text("# keys\n")
    in_root(debian_root, "dpkg", "--purge", "netdwg")
    assert not state.exists()
    assert not (debian_root / "etc" / "netdwg" / "netdwg.conf").exists()
    assert secrets.read_text() == "# keys\n"
    assert not (debian_root / "usr" / "bin" / "netdwg").exists()
