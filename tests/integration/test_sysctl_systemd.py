"""netdwg.sysctl's effective values against the real systemd-sysctl (252).

systemd-sysctl runs inside a throwaway network namespace (net.ipv4.conf.* is
per namespace; two veth ends stand in for links) and a private mount namespace whose sysctl.d directories are
tmpfs holding only this test's files, so the root namespace is never touched.
`--prefix` limits it to the namespace's own dummy links.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from netdwg.sysctl import effective_value, sysctl_files

SYSTEMD_SYSCTL = "/lib/systemd/systemd-sysctl"
pytestmark = [pytest.mark.root,
              pytest.mark.skipif(not os.path.exists(SYSTEMD_SYSCTL), reason="needs systemd-sysctl")]

KEYS = [f"net.ipv4.conf.{link}.{name}" for link in ("ndwd0", "ndwd1")
        for name in ("rp_filter", "accept_redirects", "send_redirects", "arp_ignore", "arp_announce",
                     "log_martians", "accept_source_route", "forwarding")]

FILES = {
    # vendor file, masked as a whole by the same name in /etc
    "usr/lib/sysctl.d/50-vendor.conf": "net.ipv4.conf.ndwd0.rp_filter = 1\nnet.ipv4.conf.ndwd0.arp_announce = 2\n",
    "etc/sysctl.d/50-vendor.conf": "# admin's copy\nnet.ipv4.conf.ndwd0.rp_filter = 2\n",
    # later name wins across directories; slash spelling; same key set twice
    "run/sysctl.d/60-run.conf": "net/ipv4/conf/ndwd0/log_martians = 1\nnet.ipv4.conf.ndwd1.rp_filter=1\n",
    "usr/lib/sysctl.d/70-later.conf": "net.ipv4.conf.ndwd1.rp_filter = 2\n; comment\n",
    # globs, an exclusion, and an explicit key that beats the glob
    "etc/sysctl.d/80-glob.conf": ("net.ipv4.conf.ndwd*.arp_ignore = 2\n-net.ipv4.conf.ndwd1.arp_ignore\n"
                                  "net.ipv4.conf.ndwd*.forwarding = 1\n"
                                  "net.ipv4.conf.ndwd0.forwarding = 0\n"
                                  "-net.ipv4.conf.ndwnone.forwarding = 1\n"),
    # masked with /dev/null: its setting must not apply
    "usr/lib/sysctl.d/85-masked.conf": "net.ipv4.conf.ndwd0.send_redirects = 0\n",
    "etc/sysctl.d/99-last.conf": "net.ipv4.conf.ndwd1.accept_redirects = 0\n",
}


@pytest.fixture
def netns():
    name = f"ndwsys{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        # no dummy module here: a veth pair with both ends inside the namespace
        subprocess.run(["ip", "-n", name, "link", "add", "ndwd0", "type", "veth", "peer", "name", "ndwd1"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def _run_systemd_sysctl(netns: str, tree: Path) -> tuple[dict[str, str], dict[str, str]]:
    reads = " ".join(f"{k}=$(cat /proc/sys/{k.replace('.', '/')})" for k in KEYS)
    script = f"""
set -e
# private tmpfs over every directory systemd-sysctl reads (and their parents that may lack them)
mount -t tmpfs ndwsysctl /run
mount -t tmpfs ndwsysctl /usr/local/lib
for d in etc/sysctl.d usr/lib/sysctl.d; do mount -t tmpfs ndwsysctl /$d; done
mkdir -p /run/sysctl.d /usr/local/lib/sysctl.d
for d in etc/sysctl.d run/sysctl.d usr/lib/sysctl.d; do cp -a {tree}/$d/. /$d/; done
echo BEFORE {reads}
{SYSTEMD_SYSCTL} --prefix=/net/ipv4/conf/ndwd0 --prefix=/net/ipv4/conf/ndwd1 --prefix=/net/ipv4/conf/ndwnone || true
echo AFTER {reads}
"""
    out = subprocess.run(["ip", "netns", "exec", netns, "unshare", "-m", "--propagation", "private", "sh", "-c", script],
                         capture_output=True, text=True, timeout=60)
    assert "BEFORE" in out.stdout and "AFTER" in out.stdout, out.stderr
    values = {}
    for line in out.stdout.splitlines():
        tag, *pairs = line.split()
        if tag in ("BEFORE", "AFTER"):
            values[tag] = dict(p.split("=", 1) for p in pairs)
    return values["BEFORE"], values["AFTER"]


def test_effective_values_match_systemd_sysctl(netns, tmp_path):
    tree = tmp_path / "tree"
    for rel, text in FILES.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(text)
    for d in ("etc/sysctl.d", "run/sysctl.d", "usr/lib/sysctl.d"):
        (tree / d).mkdir(parents=True, exist_ok=True)
    os.symlink("/dev/null", tree / "etc/sysctl.d/85-masked.conf")
    assert len(sysctl_files(tree)) == 5  # 50-vendor (etc), 60, 70, 80, 99; masked 85 and the vendor 50 are out

    before, after = _run_systemd_sysctl(netns, tree)
    predicted = {}
    for key in KEYS:
        setting = effective_value(tree, key)
        predicted[key] = before[key] if setting is None or setting.value is None else setting.value
    assert after == predicted
    # and the scenario really exercised something: several values changed
    assert sum(before[k] != after[k] for k in KEYS) >= 6


def test_shutil_copy_keeps_dev_null_symlink(tmp_path):
    # the namespace script copies with `cp -a`; make sure a /dev/null mask survives a copy too
    os.symlink("/dev/null", tmp_path / "m.conf")
    shutil.copytree(tmp_path, tmp_path.parent / (tmp_path.name + "-copy"), symlinks=True)
    assert os.readlink(tmp_path.parent / (tmp_path.name + "-copy") / "m.conf") == "/dev/null"
