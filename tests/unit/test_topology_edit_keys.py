"""`netdwg keys generate|rotate`: the secrets store is completed, a rotation changes exactly the files naming the host."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from netdwg.cli import main
from netdwg.keys import pubkey
from netdwg.topology import load_topology
from netdwg.topology.secrets import load_secrets, wanted_pairs

REPO = Path(__file__).resolve().parents[2]
HARBOR = (REPO / "examples" / "harbor.conf").read_text()


def copy_example(tmp_path) -> Path:
    path = tmp_path / "harbor.conf"
    path.write_text(HARBOR)
    return path


def test_generate_completes_the_store_once(tmp_path, capsys):
    path = copy_example(tmp_path)
    assert main(["keys", "generate", "--topology", str(path)]) == 0
    out = capsys.readouterr().out
    store = tmp_path / "harbor.secrets"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    secrets = load_secrets(store)
    topology = load_topology(path)
    assert set(secrets.private_keys) == {h.name for h in topology.hosts}
    assert {tuple(k.split(":")) for k in secrets.preshared_keys} == set(wanted_pairs(topology))
    assert "[#] generated private key of relay" in out
    for key in secrets.private_keys.values():
        assert key.reveal_base64() not in out
    assert main(["keys", "generate", "--topology", str(path)]) == 0
    assert "complete" in capsys.readouterr().out
    assert load_secrets(store) == secrets  # nothing replaced


def test_rotate_a_spoke_names_it_and_the_hub(tmp_path, capsys):
    path = copy_example(tmp_path)
    main(["keys", "generate", "--topology", str(path)])
    before = load_secrets(tmp_path / "harbor.secrets")
    capsys.readouterr()
    assert main(["keys", "rotate", "ben", "--json", "--topology", str(path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["reapply"] == ["relay", "ben"]
    after = load_secrets(tmp_path / "harbor.secrets")
    assert pubkey(after.private_keys["ben"]) != pubkey(before.private_keys["ben"])
    assert {k: v for k, v in after.private_keys.items() if k != "ben"} == \
        {k: v for k, v in before.private_keys.items() if k != "ben"}
    assert after.preshared_keys == before.preshared_keys


def test_rotate_the_hub_names_everyone_and_psks_on_request(tmp_path, capsys):
    path = copy_example(tmp_path)
    main(["keys", "generate", "--topology", str(path)])
    before = load_secrets(tmp_path / "harbor.secrets")
    capsys.readouterr()
    assert main(["keys", "rotate", "oslo", "--psks", "--topology", str(path)]) == 0
    out = capsys.readouterr().out
    assert "re-render and apply on: relay, oslo" in out
    after = load_secrets(tmp_path / "harbor.secrets")
    assert after.psk("oslo", "relay") != before.psk("oslo", "relay")
    assert after.psk("ana", "relay") == before.psk("ana", "relay")
    assert main(["keys", "rotate", "relay", "--json", "--topology", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["reapply"] == ["relay", "oslo", "bergen", "ana", "ben"]


def test_rotate_refuses_unknown_and_own_key_hosts(tmp_path, capsys):
    path = copy_example(tmp_path)
    assert main(["keys", "rotate", "bn", "--topology", str(path)]) == 2
    assert "did you mean 'ben'?" in capsys.readouterr().err
    key = "o9pP4v/5dFsLHtvdUXuZq6bP121xB5hx12faF2V1aB0="
    path.write_text(HARBOR.replace("  return_path = static-route", f"  return_path = static-route\n  public_key = {key}"))
    assert main(["keys", "rotate", "bergen", "--topology", str(path)]) == 2
    assert "keeps its own private key" in capsys.readouterr().err
