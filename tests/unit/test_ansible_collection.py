"""The Ansible collection in ansible/: its plugins' documentation renders, the inventory plugin reads a
topology into hosts, groups and host variables.

Uses the ansible-core the test extra installs (pyproject.toml); the collection is found through
ANSIBLE_COLLECTIONS_PATH, as on a controller without galaxy access.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / "ansible"
BIN = Path(sys.executable).parent
OWN_KEY = "0TcYUxsImfIi8hjBHI5frlfrtP9ym6HGyaPq8zeSmg0="
PLUGINS = [("module", "netdwg.wireguard.key"), ("module", "netdwg.wireguard.apply"),
           ("inventory", "netdwg.wireguard.topology")]

pytestmark = pytest.mark.skipif(not (BIN / "ansible-doc").exists(), reason="ansible-core not installed (test extra)")


@pytest.fixture
def env(tmp_path):
    home = tmp_path / "ansible-home"
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_HOME=str(home),
                ANSIBLE_LOCAL_TEMP=str(home / "tmp"), PYTHONWARNINGS="ignore", ANSIBLE_NOCOLOR="1")


def _run(argv, env):
    return subprocess.run([str(BIN / argv[0]), *argv[1:]], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("kind,name", PLUGINS)
def test_ansible_doc_renders_documentation_examples_and_return(kind, name, env):
    res = _run(["ansible-doc", "-t", kind, "--json", name], env)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)[name]
    assert doc["doc"]["short_description"] and doc["examples"].strip()
    if kind == "module":
        assert doc["return"]
        text = _run(["ansible-doc", "-t", kind, name], env)
        assert text.returncode == 0 and "EXAMPLES" in text.stdout and "RETURN VALUES" in text.stdout


def test_modules_declare_check_mode_and_never_take_a_secret_option():
    for name in ("key", "apply"):
        source = (COLLECTIONS / "ansible_collections/netdwg/wireguard/plugins/modules" / f"{name}.py").read_text()
        assert "supports_check_mode=True" in source
        # No option carries a key: the private key stays on the host, PSKs travel in the bundle file.
        assert "private_key=dict" not in source and "psk=dict" not in source


def test_inventory_has_every_host_groups_by_role_and_site_and_host_vars(tmp_path, env):
    shutil.copy(REPO / "examples" / "1-offices.conf", tmp_path / "netdwg.conf")
    # e keeps its own key: site.yml does not ask it for its public key again.
    subprocess.run([str(BIN / "netdwg"), "host", "set", "e", f"public_key={OWN_KEY}", "-t", str(tmp_path / "netdwg.conf")],
                   check=True, capture_output=True)
    source = tmp_path / "fleet.netdwg.yml"
    source.write_text("plugin: netdwg.wireguard.topology\ntopology: netdwg.conf\nansible_host_from: endpoint\n")
    res = _run(["ansible-inventory", "-i", str(source), "--list"], env)
    assert res.returncode == 0, res.stderr
    inv = json.loads(res.stdout)
    hostvars = inv["_meta"]["hostvars"]
    assert sorted(hostvars) == ["a", "c", "e", "f", "z"]
    assert sorted(inv["netdwg_hub"]["hosts"]) == ["z"]
    assert sorted(inv["netdwg_site"]["hosts"]) == ["a", "c"]
    assert sorted(inv["netdwg_roaming"]["hosts"]) == ["e", "f"]
    assert inv["netdwg_lan_c"]["hosts"] == ["c"]
    unsafe = {k: {n: (v.get("__ansible_unsafe", v) if isinstance(v, dict) else v) for n, v in h.items()}
              for k, h in hostvars.items()}
    assert unsafe["z"]["ansible_host"] == "198.51.100.70"
    assert unsafe["f"]["netdwg_backend"] == "wg-quick" and unsafe["e"]["netdwg_role"] == "roaming"
    assert unsafe["c"]["netdwg_address"] == "10.70.0.3"
    assert "ansible_host" not in unsafe["a"]  # no endpoint: left to the user's inventory
    assert unsafe["e"]["netdwg_public_key"] == OWN_KEY and "netdwg_public_key" not in unsafe["f"]


def test_inventory_reports_a_broken_topology_with_netdwgs_message(tmp_path, env):
    (tmp_path / "netdwg.conf").write_text("[network]\nname = x\npool = 10.0.0.0/16\n[hosts]\n  [[a]]\n  role = hubb\n")
    source = tmp_path / "fleet.netdwg.yml"
    source.write_text("plugin: netdwg.wireguard.topology\ntopology: netdwg.conf\n")
    res = _run(["ansible-inventory", "-i", str(source), "--list"], dict(env, ANSIBLE_INVENTORY_UNPARSED_FAILED="1"))
    assert res.returncode != 0
    assert "netdwg.conf" in res.stderr and "hubb" in res.stderr


def test_the_apply_module_writes_a_bundle_file_only_when_it_differs_with_its_mode_from_the_start(tmp_path, monkeypatch):
    """The bundle travels inside the apply task: a file is replaced (mode set before its first byte) only
    when its text, mode or owner differs, so a no-change run writes nothing."""
    monkeypatch.syspath_prepend(str(COLLECTIONS))
    from ansible_collections.netdwg.wireguard.plugins.modules.apply import write_bundle

    modes = []
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: (modes.append(os.fstat(fd).st_mode & 0o777), real_write(fd, data))[1])
    store = tmp_path / "etc" / "netdwg.secrets"
    assert write_bundle(str(store), "[preshared_keys]\n", 0o600) is True
    assert modes == [0o600] and store.read_text() == "[preshared_keys]\n" and store.stat().st_mode & 0o777 == 0o600
    inode = store.stat().st_ino
    assert write_bundle(str(store), "[preshared_keys]\n", 0o600) is False and store.stat().st_ino == inode
    store.chmod(0o644)
    assert write_bundle(str(store), "[preshared_keys]\n", 0o600) is True and store.stat().st_mode & 0o777 == 0o600
    assert write_bundle(str(store), "[public_keys]\n", 0o600) is True and store.read_text() == "[public_keys]\n"
    topology = store.parent / "netdwg.conf"
    modes.clear()
    assert write_bundle(str(topology), "[network]\n", 0o644) is True
    assert modes == [0o644] and topology.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in store.parent.iterdir()) == ["netdwg.conf", "netdwg.secrets"]  # no temporary file
