"""A host holds only its own key: `netdwg keys export`, and what an exported store is enough for.

The store `keys export --host oslo` writes (oslo's private key, the PSKs of oslo's pairs, every
public key) lets oslo lint, render --host oslo, plan and apply itself with the very files the
full store gives; it renders no other host, is never completed with keys of its own making,
and, like every store, must be owned by root (or the user) with mode 0600.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from netdwg.cli import main
from netdwg.topology import parse_topology
from netdwg.topology.secrets import load_secrets, wanted_pairs
from golden_support import GOLDEN

HOST = "oslo"


@pytest.fixture
def central(tmp_path):
    """Where keys are generated: the topology and its full store."""
    path = tmp_path / "central" / "harbor.conf"
    path.parent.mkdir()
    shutil.copy(GOLDEN / "hub-spokes" / "topology.conf", path)
    assert main(["keys", "generate", "-t", str(path)]) == 0
    return path


@pytest.fixture
def on_oslo(central, tmp_path, capsys):
    """oslo's /etc/netdwg: the same topology, and the store exported for it."""
    here = tmp_path / "oslo-etc"
    here.mkdir()
    shutil.copy(central, here / "harbor.conf")
    assert main(["keys", "export", "--host", HOST, "--out", str(here / "harbor.secrets"), "-t", str(central)]) == 0
    capsys.readouterr()
    return here / "harbor.conf"


def tree(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_the_export_holds_this_hosts_key_its_psks_and_every_public_key(central, on_oslo):
    full = load_secrets(central.with_suffix(".secrets"))
    store = on_oslo.with_suffix(".secrets")
    exported = load_secrets(store)
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert f"[export]\nhost = {HOST}\n" in store.read_text() and exported.export_of == HOST
    assert dict(exported.private_keys) == {HOST: full.private_keys[HOST]}
    topology = parse_topology(central.read_text(), str(central))
    mine = {f"{a}:{b}" for a, b in wanted_pairs(topology) if HOST in (a, b)}
    assert set(exported.preshared_keys) == mine and mine
    assert all(exported.preshared_keys[name] == full.preshared_keys[name] for name in mine)
    assert {h: r.public for h, r in exported.public_keys.items()} == \
        {h: full.public_key_of(h) for h in full.private_keys}
    others = {k.reveal_base64() for h, k in full.private_keys.items() if h != HOST}
    others |= {k.reveal_base64() for n, k in full.preshared_keys.items() if n not in mine}
    assert not any(secret in store.read_text() for secret in others)


def test_the_export_renders_this_host_exactly_as_the_full_store_does(central, on_oslo, tmp_path, capsys):
    kept = on_oslo.with_suffix(".secrets").read_bytes()
    assert main(["render", "-t", str(central), "--host", HOST, "--out", str(tmp_path / "full")]) == 0
    assert main(["render", "-t", str(on_oslo), "--host", HOST, "--out", str(tmp_path / "own")]) == 0
    assert tree(tmp_path / "own") == tree(tmp_path / "full")
    assert "generated" not in capsys.readouterr().err  # nothing was made up on the host
    assert on_oslo.with_suffix(".secrets").read_bytes() == kept  # and the store was not rewritten


def test_the_export_is_enough_to_lint_plan_and_apply_this_host(on_oslo, tmp_path, capsys):
    assert main(["lint", "-t", str(on_oslo)]) == 0
    root = tmp_path / "root"
    assert main(["plan", "-t", str(on_oslo), "--host", HOST, "--root", str(root)]) == 1  # changes pending
    assert "has no key" not in capsys.readouterr().err
    assert main(["apply", "-t", str(on_oslo), "--host", HOST, "--root", str(root)]) == 0
    assert main(["plan", "-t", str(on_oslo), "--host", HOST, "--root", str(root)]) == 0  # converged


@pytest.mark.parametrize("argv", [["render", "--host", "relay"], ["render"]])
def test_the_export_renders_no_other_host(on_oslo, tmp_path, capsys, argv):
    assert main([*argv, "-t", str(on_oslo), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "holds the private key of oslo only" in err and str(on_oslo.with_suffix(".secrets")) in err
    assert not (tmp_path / "out").exists()


def test_the_export_is_never_completed_on_the_host(on_oslo, tmp_path, capsys):
    store = on_oslo.with_suffix(".secrets")
    before = store.read_text()
    # The topology gains a laptop that peers with the hub only: nothing oslo needs changes.
    on_oslo.write_text(on_oslo.read_text().replace("[hosts]", "[hosts]\n  [[zed]]\n  role = roaming\n"
                                                   "  address = 10.99.0.77\n", 1))
    assert main(["render", "-t", str(on_oslo), "--host", HOST, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "lacks a key for zed" in err and "netdwg keys export" in err
    assert store.read_text() == before
    assert main(["keys", "rotate", HOST, "-t", str(on_oslo)]) == 2
    assert store.read_text() == before


def test_exporting_from_an_export_is_refused(on_oslo, tmp_path, capsys):
    assert main(["keys", "export", "--host", HOST, "--out", str(tmp_path / "again"), "-t", str(on_oslo)]) == 2
    assert "export from the full store" in capsys.readouterr().err


# The store's owner and mode: anything but root (or this user) and 0600 is refused with the fix.

def test_a_store_with_group_bits_or_exec_bits_is_refused_with_chmod(on_oslo, capsys):
    store = on_oslo.with_suffix(".secrets")
    for mode in (0o640, 0o700):
        store.chmod(mode)
        assert main(["render", "-t", str(on_oslo), "--host", HOST, "--out", str(store.parent / "o")]) == 2
        err = capsys.readouterr().err
        assert f"{store}: mode {mode:04o}" in err and f"fix: chmod 600 {store}" in err


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_a_store_owned_by_someone_else_is_refused_with_chown(on_oslo, capsys):
    store = on_oslo.with_suffix(".secrets")
    os.chown(store, 65534, 65534)
    assert main(["plan", "-t", str(on_oslo), "--host", HOST, "--root", str(store.parent / "r")]) == 2
    err = capsys.readouterr().err
    assert f"{store}: owned by uid 65534" in err and f"chown root:root {store}" in err


def test_a_symlinked_store_is_refused(on_oslo, tmp_path, capsys):
    store = on_oslo.with_suffix(".secrets")
    elsewhere = tmp_path / "elsewhere.secrets"
    store.rename(elsewhere)
    store.symlink_to(elsewhere)
    assert main(["render", "-t", str(on_oslo), "--host", HOST, "--out", str(tmp_path / "o")]) == 2
    assert f"{store}: a symbolic link" in capsys.readouterr().err


def test_a_store_cut_down_by_hand_without_the_export_mark_says_how_to_make_one(on_oslo, tmp_path, capsys):
    store = on_oslo.with_suffix(".secrets")
    store.write_text(store.read_text().replace(f"[export]\nhost = {HOST}\n", ""))
    assert main(["plan", "-t", str(on_oslo), "--host", HOST, "--root", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "records its public key but not its private key" in err and "netdwg keys export --host" in err


def test_out_dir_writes_every_hosts_store_in_one_run_each_the_same_as_out(central, tmp_path, capsys):
    """What a fleet tool pushes: DIR/HOST.secrets for every host, byte for byte what --host H --out gives."""
    exports = tmp_path / "exports"
    assert main(["keys", "export", "--out-dir", str(exports), "-t", str(central), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    hosts = [h.name for h in parse_topology(central.read_text(), str(central)).hosts]
    assert [row["host"] for row in data["exports"]] == hosts and data["generated"] == []
    assert sorted(p.name for p in exports.iterdir()) == sorted(f"{h}.secrets" for h in hosts)
    assert stat.S_IMODE(exports.stat().st_mode) == 0o700
    for host in hosts:
        single = tmp_path / f"single-{host}"
        assert main(["keys", "export", "--host", host, "--out", str(single), "-t", str(central)]) == 0
        assert (exports / f"{host}.secrets").read_bytes() == single.read_bytes()
        assert stat.S_IMODE((exports / f"{host}.secrets").stat().st_mode) == 0o600


def test_out_dir_with_hosts_writes_only_those_and_a_typo_writes_nothing(central, tmp_path, capsys):
    exports = tmp_path / "exports"
    assert main(["keys", "export", "--out-dir", str(exports), "--host", HOST, "--host", "relay",
                 "-t", str(central)]) == 0
    assert sorted(p.name for p in exports.iterdir()) == ["oslo.secrets", "relay.secrets"]
    other = tmp_path / "other"
    assert main(["keys", "export", "--out-dir", str(other), "--host", HOST, "--host", "osloo", "-t", str(central)]) == 2
    assert "did you mean 'oslo'" in capsys.readouterr().err and not other.exists()
    assert main(["keys", "export", "--out", str(other), "--host", HOST, "--host", "relay", "-t", str(central)]) == 2
    assert "one --host" in capsys.readouterr().err and not other.exists()
