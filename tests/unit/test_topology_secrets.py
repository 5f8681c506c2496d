"""The secrets store: round trip, safe permissions, clear refusals."""

from __future__ import annotations

import os
import stat

import pytest

from netdwg.apply.writes import save_secrets
from netdwg.errors import NetdwgError, SecretsError
from netdwg.keys import PresharedKey, PrivateKey
from netdwg.topology import parse_topology
from netdwg.topology.secrets import (
    Secrets, complete_secrets, format_secrets, forget_host, load_secrets, public_key, rotate_key,
)

TOPOLOGY = """\
[network]
name = t
pool = 10.9.0.0/24
[hosts]
  [[hub]]
  role = hub
  address = 10.9.0.1
  endpoint = 198.51.100.1:51820
  [[a]]
  role = roaming
  address = 10.9.0.2
  [[b]]
  role = site
  address = 10.9.0.3
"""


def test_complete_gives_every_host_a_key_and_every_hub_pair_one_psk():
    topology = parse_topology(TOPOLOGY, "t.conf")
    secrets, made = complete_secrets(topology, Secrets())
    assert set(secrets.private_keys) == {"hub", "a", "b"}
    assert secrets.psk("hub", "a") is not None and secrets.psk("a", "hub") == secrets.psk("hub", "a")
    assert secrets.psk("a", "b") is None  # spokes do not peer with each other
    assert len(made) == 5
    again, made_again = complete_secrets(topology, secrets)
    assert again == secrets and made_again == ()


def test_save_is_0600_and_load_gives_back_the_same_keys(tmp_path):
    topology = parse_topology(TOPOLOGY, "t.conf")
    secrets, _ = complete_secrets(topology, Secrets())
    path = tmp_path / "t.secrets"
    os.umask(0o022)
    save_secrets(path, secrets)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secrets(path) == secrets
    assert [p.name for p in tmp_path.iterdir()] == ["t.secrets"]  # no temp file left


def test_world_readable_store_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "t.secrets"
    path.write_text(format_secrets(Secrets()))
    path.chmod(0o644)
    with pytest.raises(SecretsError) as err:
        load_secrets(path)
    assert "chmod 600" in err.value.fix and str(path) in str(err.value)


def test_a_directory_is_not_a_store(tmp_path):
    with pytest.raises(SecretsError) as err:
        load_secrets(tmp_path)
    assert "not a regular file" in str(err.value)


def test_secrets_never_show_in_repr_or_errors():
    topology = parse_topology(TOPOLOGY, "t.conf")
    secrets, _ = complete_secrets(topology, Secrets())
    text = repr(secrets) + str(secrets)
    for key in list(secrets.private_keys.values()) + list(secrets.preshared_keys.values()):
        assert key.reveal_base64() not in text


def test_rotate_changes_only_that_hosts_key_and_forget_drops_its_psks():
    topology = parse_topology(TOPOLOGY, "t.conf")
    secrets, _ = complete_secrets(topology, Secrets())
    rotated = rotate_key(topology, secrets, "a")
    assert public_key(topology, rotated, "a") != public_key(topology, secrets, "a")
    assert public_key(topology, rotated, "b") == public_key(topology, secrets, "b")
    forgotten = forget_host(rotated, "a")
    assert "a" not in forgotten.private_keys and forgotten.psk("hub", "a") is None
    assert forgotten.psk("hub", "b") == secrets.psk("hub", "b")


def test_store_values_are_typed_keys():
    topology = parse_topology(TOPOLOGY, "t.conf")
    secrets, _ = complete_secrets(topology, Secrets())
    assert all(isinstance(k, PrivateKey) for k in secrets.private_keys.values())
    assert all(isinstance(k, PresharedKey) for k in secrets.preshared_keys.values())


def test_an_all_comment_topology_says_what_to_do(tmp_path):
    from netdwg.errors import ConfigError
    from netdwg.topology import load_topology

    path = tmp_path / "netdwg.conf"
    path.write_text("# netdwg topology: describe your network here\n\n# [network]\n")
    with pytest.raises(ConfigError) as err:
        load_topology(path)
    assert str(path) in str(err.value) and "--from DIR" in err.value.fix


def test_generated_keys_are_announced_only_once_the_store_is_saved(tmp_path):
    from netdwg.apply.writes import complete_store
    from netdwg.topology.prepare import Prepared

    topology = parse_topology(TOPOLOGY, str(tmp_path / "t.conf"))
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    said: list[str] = []
    with pytest.raises(NetdwgError, match="not a directory"):
        complete_store(Prepared(topology, Secrets(), blocker / "t.secrets"), said.append)
    assert said == []  # nothing claims keys that were never kept

    prepared = complete_store(Prepared(topology, Secrets(), tmp_path / "t.secrets"), said.append)
    assert said[-1].startswith("[#] saved") and len(prepared.generated) == 5
    assert load_secrets(tmp_path / "t.secrets") == prepared.secrets
