"""A host that keeps its own key: `netdwg keys own` makes it on the host, `netdwg host set` records
its public key in the topology, and the store the controller exports for it holds no private key.

This is the flow the Ansible collection (ansible/) drives: the private key never leaves its host.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from netdwg.cli import main
from netdwg.errors import NetdwgError
from netdwg.topology import parse_topology
from netdwg.topology.edit import set_host_values

REPO = Path(__file__).resolve().parents[2]
HARBOR = (REPO / "examples" / "harbor.conf").read_text()
KEY = "0TcYUxsImfIi8hjBHI5frlfrtP9ym6HGyaPq8zeSmg0="


def test_set_adds_a_key_after_the_sections_last_key_and_touches_nothing_else():
    edit = set_host_values(HARBOR, "oslo", {"public_key": KEY})
    old, new = HARBOR.splitlines(), edit.text.splitlines()
    assert len(new) == len(old) + 1
    added = [line for line in new if "public_key" in line]
    assert added == [f"  public_key = {KEY}"]
    assert [line for line in new if "public_key" not in line] == old
    assert parse_topology(edit.text).host("oslo").public_key.base64 == KEY
    assert edit.changes == ("added public_key to 'oslo'",)


def test_set_replaces_a_value_in_place_keeping_its_comment_and_twice_is_no_change():
    text = HARBOR.replace("role = hub", "role = hub   # the relay", 1)
    first = set_host_values(text, "relay", {"public_key": KEY})
    again = set_host_values(first.text, "relay", {"public_key": KEY})
    assert again.text == first.text and again.changes == ()
    other = "mHf6m1x1cRLeA9VAfb0Ff8Zk4tQAdR9KQfIW2f4o2Ws="
    replaced = set_host_values(first.text, "relay", {"public_key": other})
    assert replaced.changes == ("set public_key of 'relay'",)
    assert replaced.text == first.text.replace(KEY, other)
    assert "role = hub   # the relay" in replaced.text


def test_set_refuses_unknown_hosts_keys_and_invalid_values():
    with pytest.raises(NetdwgError, match="no host 'osl'"):
        set_host_values(HARBOR, "osl", {"public_key": KEY})
    with pytest.raises(NetdwgError, match="unknown host key 'public_kye'"):
        set_host_values(HARBOR, "oslo", {"public_kye": KEY})
    with pytest.raises(NetdwgError):
        set_host_values(HARBOR, "oslo", {"public_key": "not-a-key"})


def test_cli_host_set_writes_once_then_reports_nothing_to_change(tmp_path, capsys):
    path = tmp_path / "netdwg.conf"
    path.write_text(HARBOR)
    assert main(["host", "set", "ana", f"public_key={KEY}", "-t", str(path)]) == 0
    assert f"public_key = {KEY}" in path.read_text()
    mtime = path.stat().st_mtime_ns
    capsys.readouterr()
    assert main(["host", "set", "ana", f"public_key={KEY}", "-t", str(path)]) == 0
    assert "nothing to change" in capsys.readouterr().out
    assert path.stat().st_mtime_ns == mtime


def _own(capsys, *args) -> dict:
    capsys.readouterr()
    assert main(["keys", "own", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_keys_own_creates_once_keeps_then_rotates_and_never_prints_the_private_key(tmp_path, capsys):
    keys = tmp_path / "keys"
    first = _own(capsys, "--key-dir", str(keys))
    path = keys / "wg0.key"
    private = path.read_text().strip()
    assert first["created"] and not first["rotated"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = _own(capsys, "--key-dir", str(keys))
    assert again["public_key"] == first["public_key"] and not again["created"]
    assert path.read_text().strip() == private
    rotated = _own(capsys, "--key-dir", str(keys), "--rotate")
    assert rotated["rotated"] and rotated["public_key"] != first["public_key"]
    assert path.read_text().strip() != private
    for result in (first, again, rotated):
        assert private not in json.dumps(result)
    assert [p.name for p in keys.iterdir()] == ["wg0.key"]  # no temporary file left


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to the systemd-network group needs root")
def test_keys_own_for_networkd_is_0640_root_systemd_network(tmp_path, capsys):
    import grp

    try:
        gid = grp.getgrnam("systemd-network").gr_gid
    except KeyError:
        pytest.skip("no systemd-network group here")
    _own(capsys, "--key-dir", str(tmp_path), "--group", "systemd-network")
    st = (tmp_path / "wg0.key").stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 0, gid)


def test_a_host_keeping_its_own_key_gets_an_export_without_any_private_key(tmp_path, capsys):
    path = tmp_path / "netdwg.conf"
    path.write_text(HARBOR)
    publics = {}
    for host in ("relay", "oslo", "ana", "ben"):
        publics[host] = _own(capsys, "--key-dir", str(tmp_path / host))["public_key"]
        assert main(["host", "set", host, f"public_key={publics[host]}", "-t", str(path)]) == 0
    topology = parse_topology(path.read_text())
    for host in topology.hosts:
        if host.name not in publics:  # harbor's other hosts keep theirs too
            publics[host.name] = _own(capsys, "--key-dir", str(tmp_path / host.name))["public_key"]
            assert main(["host", "set", host.name, f"public_key={publics[host.name]}", "-t", str(path)]) == 0
    out = tmp_path / "oslo.secrets"
    assert main(["keys", "export", "--host", "oslo", "--out", str(out), "-t", str(path)]) == 0
    text = out.read_text() + (tmp_path / "netdwg.secrets").read_text()
    for host in publics:
        assert (tmp_path / host / "wg0.key").read_text().strip() not in text
    assert "[private_keys]\n\n" in out.read_text()


def test_cli_host_set_from_sets_many_hosts_in_one_write_and_twice_is_no_change(tmp_path, capsys, monkeypatch):
    """The fleet's controller records every gathered public key in one call (--from FILE, or - for stdin)."""
    import io

    other = "mHf6m1x1cRLeA9VAfb0Ff8Zk4tQAdR9KQfIW2f4o2Ws="
    path = tmp_path / "netdwg.conf"
    path.write_text(HARBOR)
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"ana": {"public_key": KEY}, "oslo": {"public_key": other}}))
    assert main(["host", "set", "--from", str(keys), "-t", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["written"] and out["changes"] == ["added public_key to 'ana'", "added public_key to 'oslo'"]
    topology = parse_topology(path.read_text())
    assert topology.host("ana").public_key.base64 == KEY and topology.host("oslo").public_key.base64 == other
    assert path.read_text() == set_host_values(set_host_values(HARBOR, "ana", {"public_key": KEY}).text,
                                               "oslo", {"public_key": other}).text
    mtime = path.stat().st_mtime_ns
    monkeypatch.setattr("sys.stdin", io.StringIO(keys.read_text()))
    assert main(["host", "set", "--from", "-", "-t", str(path)]) == 0
    assert "nothing to change" in capsys.readouterr().out and path.stat().st_mtime_ns == mtime


@pytest.mark.parametrize("argv,text,message", [
    (["--from", "KEYS"], '{"anna": {"public_key": "%s"}}' % KEY, "no host 'anna'"),
    (["--from", "KEYS"], '["ana"]', "expected an object of hosts"),
    (["--from", "KEYS"], '{"ana": {"public_key": 1}}', "expected an object of hosts"),
    (["--from", "KEYS"], "{", "not JSON"),
    (["ana", "--from", "KEYS"], "{}", "not both"),
    ([], "{}", "needs NAME KEY=VALUE"),
])
def test_cli_host_set_from_refuses_bad_input_and_writes_nothing(tmp_path, capsys, argv, text, message):
    path = tmp_path / "netdwg.conf"
    path.write_text(HARBOR)
    keys = tmp_path / "keys.json"
    keys.write_text(text)
    argv = [str(keys) if a == "KEYS" else a for a in argv]
    assert main(["host", "set", *argv, "-t", str(path)]) == 2
    assert message in capsys.readouterr().err
    assert path.read_text() == HARBOR
