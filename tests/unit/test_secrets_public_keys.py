"""The secrets store records public keys so renders need not derive them, and never trusts a bad record.

Every golden scenario's committed store is in the old format (no [public_keys]):
it must render exactly as before, the upgraded store must render the same
without a single X25519 derivation, and a tampered store must render the same too.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import replace
from types import MappingProxyType

import pytest

from netdwg.apply.writes import save_secrets
from netdwg.keys import PublicKey, _derive_public, pubkey
from netdwg.render import render_host
from netdwg.topology import parse_topology
from netdwg.topology.compile import compile_topology
from netdwg.topology.secrets import (
    RecordedKey, Secrets, complete_secrets, forget_host, format_secrets, load_secrets, parse_secrets, public_key,
    rotate_key,
)
from golden_support import GOLDEN, SCENARIOS, load_scenario


def _render_all(topology, secrets) -> dict:
    return {host: render_host(config) for host, config in compile_topology(topology, secrets).items()}


def _derivations(func) -> tuple[object, int]:
    _derive_public.cache_clear()
    result = func()
    return result, _derive_public.cache_info().misses


def _tamper(text: str) -> str:
    """Every record broken a different way: another key, another digest, the next host's record."""
    lines = text.splitlines()
    start = lines.index("[public_keys]") + 1
    records = lines[start:]
    out = []
    for i, line in enumerate(records):
        name, value = line.split(" = ")
        key, digest = value.split()
        if i % 3 == 0:
            key = base64.b64encode(bytes(31) + bytes([i + 1])).decode()
        elif i % 3 == 1:
            digest = digest[::-1] if digest[::-1] != digest else "0" * 16
        else:
            key, digest = records[(i + 1) % len(records)].split(" = ")[1].split()
        out.append(f"{name} = {key} {digest}")
    return "\n".join(lines[:start] + out) + "\n"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_old_upgraded_and_tampered_stores_render_the_same_files(scenario):
    topology, old = load_scenario(scenario)
    assert "[public_keys]" not in (GOLDEN / scenario / "topology.secrets").read_text()  # the old format
    expected, derived_old = _derivations(lambda: _render_all(topology, old))
    assert derived_old == len(old.private_keys)  # an old store: every public key derived, as before

    upgraded_text = format_secrets(old)
    upgraded = parse_secrets(upgraded_text)
    assert set(upgraded.public_keys) == set(old.private_keys)
    rendered, derived = _derivations(lambda: _render_all(topology, upgraded))
    assert rendered == expected and derived == 0  # the recorded keys were used

    tampered = parse_secrets(_tamper(upgraded_text))
    assert all(tampered.public_keys[h] != upgraded.public_keys[h] for h in upgraded.public_keys)
    rendered, derived = _derivations(lambda: _render_all(topology, tampered))
    assert rendered == expected  # no bad record reached a file
    assert derived == sum(1 for h in tampered.public_keys if tampered.public_keys[h].public != upgraded.public_keys[h].public or tampered.public_keys[h].digest != upgraded.public_keys[h].digest)
    assert format_secrets(tampered) == upgraded_text  # and the next save repairs the store


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


def test_an_old_store_on_disk_is_read_and_upgraded_on_the_next_save(tmp_path):
    topology = parse_topology(TOPOLOGY, "t.conf")
    secrets, _ = complete_secrets(topology, Secrets())
    old_text = format_secrets(secrets).split("\n# Public keys")[0] + "\n"  # what netdwg wrote before
    path = tmp_path / "t.secrets"
    path.write_text(old_text)
    os.chmod(path, 0o600)
    old = load_secrets(path)
    assert old == secrets and dict(old.public_keys) == {}
    assert {h: public_key(topology, old, h) for h in "hub a b".split()} == \
        {h: pubkey(secrets.private_keys[h]) for h in "hub a b".split()}
    save_secrets(path, old)
    again = load_secrets(path)
    assert "[public_keys]" in path.read_text() and dict(again.public_keys) == dict(secrets.public_keys)
    _, derived = _derivations(lambda: [public_key(topology, again, h) for h in "hub a b".split()])
    assert derived == 0


def test_the_record_section_holds_nothing_of_the_private_keys():
    topology = parse_topology(TOPOLOGY, "t.conf")
    secrets, _ = complete_secrets(topology, Secrets())
    section = format_secrets(secrets).split("[public_keys]")[1]
    for key in [*secrets.private_keys.values(), *secrets.preshared_keys.values()]:
        raw = key.reveal_base64()
        assert raw not in section and key.reveal_hex()[:16] not in section
        assert not any(raw[i:i + 8] in section for i in range(0, 36, 4))
    assert re.fullmatch(r"(\w+ = [A-Za-z0-9+/]{43}= [0-9a-f]{16}\n)+", section.split("\n", 1)[1])


@pytest.mark.parametrize("line", [
    "a = not-a-key 0123456789abcdef",
    "a = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB= 0123456789abcdef",  # non-canonical base64
    "a = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "a = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 0123456789ABCDEF",
    "a = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 0123456789abcdef extra",
])
def test_a_record_that_does_not_read_is_dropped_not_an_error(line):
    topology = parse_topology(TOPOLOGY, "t.conf")
    secrets, _ = complete_secrets(topology, Secrets())
    text = format_secrets(secrets)
    head, records = text.split("[public_keys]")
    text = head + "[public_keys]" + re.sub(r"^a = .*$", line, records, flags=re.M)
    read = parse_secrets(text)
    assert "a" not in read.public_keys and read == secrets
    assert public_key(topology, read, "a") == pubkey(secrets.private_keys["a"])


def test_rotate_and_forget_keep_the_records_right():
    topology = parse_topology(TOPOLOGY, "t.conf")
    secrets, _ = complete_secrets(topology, Secrets())
    rotated = rotate_key(topology, secrets, "a")
    assert rotated.public_keys["a"].public == pubkey(rotated.private_keys["a"]) != secrets.public_keys["a"].public
    # A store edited by replace() with a stale record: the digest no longer binds it, the new key is derived.
    stale = replace(rotated, public_keys=secrets.public_keys)
    assert public_key(topology, stale, "a") == pubkey(rotated.private_keys["a"])
    forgotten = forget_host(rotated, "a")
    assert set(forgotten.public_keys) == {"hub", "b"}


def test_a_host_that_keeps_its_own_key_is_not_overridden_by_a_record():
    topology = parse_topology(TOPOLOGY.replace("  [[b]]\n  role = site\n",
                                               "  [[b]]\n  role = site\n  public_key = " + "B" * 42 + "A=\n"), "t.conf")
    secrets, _ = complete_secrets(topology, Secrets())
    assert "b" not in secrets.private_keys
    forged = replace(secrets, public_keys=MappingProxyType({**secrets.public_keys,
                                                            "b": RecordedKey(PublicKey(bytes(32)), "0" * 16)}))
    assert public_key(topology, forged, "b") == topology.host("b").public_key
    assert "\nb = " not in format_secrets(forged).split("[public_keys]")[1]


def test_keys_generate_upgrades_an_old_complete_store_once(tmp_path):
    from netdwg.apply.writes import complete_store
    from netdwg.topology.prepare import prepare

    topology_path = tmp_path / "t.conf"
    topology_path.write_text(TOPOLOGY)
    secrets, _ = complete_secrets(parse_topology(TOPOLOGY, str(topology_path)), Secrets())
    store = tmp_path / "t.secrets"
    store.write_text(format_secrets(secrets).split("\n# Public keys")[0] + "\n")  # old format, complete
    os.chmod(store, 0o600)
    said: list[str] = []
    prepared = complete_store(prepare(topology_path), said.append)
    assert prepared.generated == () and prepared.secrets == secrets
    assert said == ["[#] recorded 3 public key(s) in the store (derived once, not on every render)",
                    f"[#] saved {store} (mode 0600)"]
    assert dict(load_secrets(store).public_keys) == dict(secrets.public_keys)
    said.clear()
    text = store.read_text()
    complete_store(prepare(topology_path), said.append)
    assert said == [] and store.read_text() == text  # nothing more to record: not saved again
    prepare(topology_path)
    assert said == []
