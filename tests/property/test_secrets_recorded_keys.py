"""Recorded public keys in the secrets store: used only when the digest binds them to the private key.

Whatever is written in [public_keys] (another key, another digest, a record
copied from another host, a stale record after the private key changed), the
public key netdwg uses is the one the private key gives.
"""

from __future__ import annotations

import base64
from types import MappingProxyType

from hypothesis import assume, given
from hypothesis import strategies as st

from netdwg.keys import PrivateKey, PublicKey, pubkey
from netdwg.topology.secrets import RecordedKey, Secrets, format_secrets, key_digest, parse_secrets

RAW = st.binary(min_size=32, max_size=32)
HEX16 = st.from_regex(r"[0-9a-f]{16}", fullmatch=True)


def store(private: PrivateKey, record: RecordedKey) -> Secrets:
    return Secrets(MappingProxyType({"h": private}), MappingProxyType({}), MappingProxyType({"h": record}))


@given(RAW, RAW)
def test_a_recorded_public_key_that_is_not_the_private_keys_is_never_used(private_raw, other_raw):
    assume(private_raw != other_raw)
    private = PrivateKey(private_raw)
    true = pubkey(private)
    forged = PublicKey(other_raw)
    # With the true key's digest, or a digest made under another private key, the forged key is refused.
    # (Whoever holds this private key can make a valid record; they can write the store's keys anyway.)
    for digest in (key_digest(private, true), key_digest(PrivateKey(other_raw), forged)):
        assert store(private, RecordedKey(forged, digest)).public_key_of("h") == true


@given(RAW, HEX16)
def test_a_tampered_digest_is_never_trusted(private_raw, digest):
    private = PrivateKey(private_raw)
    true = pubkey(private)
    # Even a record holding the true key: with a wrong digest it is derived, which gives the same key.
    secrets = store(private, RecordedKey(PublicKey(bytes(32)), digest))
    assert secrets.public_key_of("h") == true
    assert secrets.verified_public_keys()["h"] == RecordedKey(true, key_digest(private, true))


@given(RAW, RAW)
def test_a_stale_record_after_the_private_key_changed_is_not_used(old_raw, new_raw):
    old, new = PrivateKey(old_raw), PrivateKey(new_raw)
    record = RecordedKey(pubkey(old), key_digest(old, pubkey(old)))
    assert store(new, record).public_key_of("h") == pubkey(new)


@given(st.lists(RAW, min_size=1, max_size=4), st.data())
def test_tampered_store_text_reads_back_to_the_derived_keys_and_is_repaired_on_save(raws, data):
    keys = {f"h{i}": PrivateKey(raw) for i, raw in enumerate(raws)}
    text = format_secrets(Secrets(MappingProxyType(keys)))
    lines = text.splitlines()
    start = lines.index("[public_keys]") + 1
    victim = data.draw(st.integers(start, len(lines) - 1))
    name, value = lines[victim].split(" = ")
    key, digest = value.split()
    how = data.draw(st.sampled_from(["key", "digest", "swap"]))
    if how == "key":
        key = base64.b64encode(data.draw(RAW.filter(lambda r: r != base64.b64decode(key)))).decode()
    elif how == "digest":
        digest = data.draw(HEX16.filter(lambda d: d != digest))
    else:  # another host's whole record
        other = data.draw(st.sampled_from(lines[start:]))
        key, digest = other.split(" = ")[1].split()
    lines[victim] = f"{name} = {key} {digest}"
    secrets = parse_secrets("\n".join(lines) + "\n")
    assert {h: secrets.public_key_of(h) for h in keys} == {h: pubkey(k) for h, k in keys.items()}
    assert format_secrets(secrets) == text  # the next save writes the right record again
