"""`host add|remove` touch only the lines they must; comments, order and layout stay."""

from __future__ import annotations

import difflib
import os
import stat
from pathlib import Path

import pytest

from netdwg.cli import main
from netdwg.errors import ConfigError, NetdwgError
from netdwg.topology import parse_topology
from netdwg.topology.edit import add_host, remove_host

REPO = Path(__file__).resolve().parents[2]
HARBOR = (REPO / "examples" / "harbor.conf").read_text()

WITH_PAIRS = """\
# two offices joined directly
[network]
name = s2s
pool = 10.99.0.0/16

[hosts]
    # the Oslo gateway
    [[oslo]]
        role = site
        endpoint = 192.0.2.10:51821
        lan = 172.20.10.0/24   # office
        lan_address = 172.20.10.1

    [[bergen]]
        role = site
        endpoint = 198.51.100.20:51821
        lan = 172.20.20.0/24
        lan_address = 172.20.20.1

# the direct link
[pairs]
    [[ob]]
        ends = oslo, bergen
        transfer = 10.255.0.0/31
"""


def changed_lines(old: str, new: str) -> list[str]:
    return [l for l in difflib.ndiff(old.splitlines(), new.splitlines()) if l[:1] in "+-"]


def test_remove_drops_the_section_and_every_reference_and_nothing_else():
    edit = remove_host(HARBOR, "ben")
    assert changed_lines(HARBOR, edit.text) == [
        "-   allow = ana, ben              # who may open connections into this LAN",
        "+   allow = ana                   # who may open connections into this LAN",
        "- ",
        "-   [[ben]]",
        "-   role = roaming",
        "-   address = 10.99.0.5",
        "-   backend = wg-quick            # phone: config file and QR code",
        "-   reach = oslo",
    ]
    assert edit.changes == ("removed host 'ben'", "dropped 'ben' from allow of 'oslo'")
    topology = parse_topology(edit.text)
    assert not topology.has_host("ben") and topology.host("oslo").allow == ("ana",)


def test_remove_a_site_empties_reach_lists_explicitly():
    edit = remove_host(HARBOR, "oslo")
    topology = parse_topology(edit.text)
    assert topology.host("ana").reach == ("bergen",)
    assert topology.host("ben").reach == ()  # empty, not "all": ben must not start reaching bergen
    assert any("now empty" in c for c in edit.changes)
    assert "# the office router takes no static routes" not in edit.text
    assert HARBOR.splitlines()[0] == edit.text.splitlines()[0]  # the file's own comment stays


def test_remove_takes_attached_comments_and_the_pairs_it_ends():
    edit = remove_host(WITH_PAIRS, "oslo")
    assert "# the Oslo gateway" not in edit.text
    assert "[pairs]" in edit.text and "[[ob]]" not in edit.text
    assert "# the direct link" in edit.text  # belongs to [pairs], not to the removed host
    assert "removed site pair 'ob' (it ended at 'oslo')" in edit.changes
    assert "    [[bergen]]\n        role = site\n" in edit.text


def test_add_uses_the_files_indentation_and_keeps_following_sections():
    edit = add_host(WITH_PAIRS, "lyon", {"role": "site", "endpoint": "203.0.113.5:51821",
                                         "lan": "172.20.30.0/24", "lan_address": "172.20.30.1"})
    block = ("    [[lyon]]\n        role = site\n        endpoint = 203.0.113.5:51821\n"
             "        lan = 172.20.30.0/24\n        lan_address = 172.20.30.1\n")
    assert edit.text == WITH_PAIRS.replace("lan_address = 172.20.20.1\n\n", "lan_address = 172.20.20.1\n\n" + block + "\n")
    assert edit.text.index("[[lyon]]") < edit.text.index("# the direct link")
    assert parse_topology(edit.text).host("lyon").endpoint.port == 51821


def test_add_then_remove_gives_back_the_file():
    for text in (HARBOR, WITH_PAIRS):
        added = add_host(text, "cy", {"role": "roaming", "address": "10.99.0.77"})
        assert remove_host(added.text, "cy").text == text


def test_add_creates_hosts_section_and_keeps_crlf():
    text = "[network]\r\nname = n\r\npool = 10.1.0.0/16\r\n"
    edit = add_host(text, "hub", {"role": "hub", "address": "10.1.0.1", "endpoint": "192.0.2.1:51820"})
    assert edit.text.startswith(text)
    assert "\r\n[hosts]\r\n  [[hub]]\r\n  role = hub\r\n" in edit.text
    assert parse_topology(edit.text).hub.name == "hub"


def test_add_refuses_bad_input_with_a_fix():
    with pytest.raises(NetdwgError, match="already exists"):
        add_host(HARBOR, "ben", {"role": "roaming"})
    with pytest.raises(NetdwgError) as err:
        add_host(HARBOR, "cy", {"role": "roaming", "adress": "10.99.0.9"})
    assert err.value.fix == "did you mean 'address'?"
    with pytest.raises(NetdwgError, match="needs a role"):
        add_host(HARBOR, "cy", {"address": "10.99.0.9"})
    with pytest.raises(ConfigError) as bad:  # the loader's diagnostics, pointing at the new line
        add_host(HARBOR, "cy", {"role": "roaming", "address": "10.99.0.300"})
    line = bad.value.diagnostics[0].span.line
    assert add_host(HARBOR, "cy", {"role": "roaming", "address": "10.99.0.3"}).text.splitlines()[line - 1].strip() \
        == "address = 10.99.0.3"
    with pytest.raises(NetdwgError, match="no host 'bn'") as missing:
        remove_host(HARBOR, "bn")
    assert missing.value.fix == "did you mean 'ben'?"


def test_values_with_a_hash_are_quoted():
    # (a known_hosts line's comment may hold '#'; a DNS domain may not: netdwg.values refuses it)
    key = "172.20.10.5 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl office#1"
    edit = add_host(HARBOR, "cy", {"role": "roaming", "address": "10.99.0.9", "ssh_host_key": key})
    assert parse_topology(edit.text).host("cy").role.value == "roaming"
    assert f'ssh_host_key = "{key}"' in edit.text
    with pytest.raises(ConfigError):
        add_host(HARBOR, "cy", {"role": "roaming", "address": "10.99.0.9", "domain": "office#1"})


def test_cli_host_add_remove_writes_atomically_keeping_mode(tmp_path, capsys):
    path = tmp_path / "netdwg.conf"
    path.write_text(HARBOR)
    os.chmod(path, 0o640)
    assert main(["host", "add", "cy", "role=roaming", "address=10.99.0.6", "reach=oslo", "--topology", str(path)]) == 0
    assert "[#] added host 'cy' (roaming)" in capsys.readouterr().out
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert parse_topology(path.read_text()).host("cy").reach == ("oslo",)
    assert main(["host", "remove", "cy", "--topology", str(path)]) == 0
    assert path.read_text() == HARBOR
    assert [p.name for p in tmp_path.iterdir()] == ["netdwg.conf"]  # no temp files left


def test_cli_refuses_an_edit_with_lint_errors(tmp_path, capsys):
    path = tmp_path / "netdwg.conf"
    path.write_text(HARBOR)
    code = main(["host", "add", "cy", "role=roaming", "address=10.99.0.5", "--topology", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and "NDW013" in err and "not written" in err
    assert path.read_text() == HARBOR
    assert main(["host", "add", "cy", "role=roaming", "address=10.99.0.5", "--force", "--topology", str(path)]) == 0


def test_cli_dry_run_shows_a_diff_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "netdwg.conf"
    path.write_text(HARBOR)
    assert main(["host", "remove", "ben", "-n", "--topology", str(path)]) == 0
    out = capsys.readouterr().out
    assert "-  [[ben]]" in out and "+  allow = ana  " in out
    assert path.read_text() == HARBOR


def test_cli_remove_forget_keys_cleans_the_secrets_store(tmp_path, capsys):
    from netdwg.apply.writes import save_secrets
    from netdwg.topology.secrets import Secrets, complete_secrets, load_secrets

    path = tmp_path / "netdwg.conf"
    path.write_text(HARBOR)
    secrets, _ = complete_secrets(parse_topology(HARBOR, str(path)), Secrets())
    save_secrets(tmp_path / "netdwg.secrets", secrets)
    assert main(["host", "remove", "ben", "--forget-keys", "--topology", str(path)]) == 0
    left = load_secrets(tmp_path / "netdwg.secrets")
    assert "ben" not in left.private_keys and not any("ben" in k.split(":") for k in left.preshared_keys)
    assert "relay" in left.private_keys and left.psk("relay", "ana") == secrets.psk("relay", "ana")
