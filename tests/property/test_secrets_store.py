"""The secrets store: what `format_secrets` writes reads back as the same keys; mistakes are errors with a fix."""

from __future__ import annotations

import base64
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netdwg.errors import NetdwgError
from netdwg.keys import PresharedKey, PrivateKey
from netdwg.topology.secrets import Secrets, format_secrets, pair_id, parse_secrets

NAMES = st.from_regex(r"[a-z][a-z0-9_.-]{0,8}", fullmatch=True)
RAW = st.binary(min_size=32, max_size=32)


@st.composite
def stores(draw) -> Secrets:
    names = draw(st.lists(NAMES, min_size=0, max_size=6, unique=True))
    keys = {n: PrivateKey(draw(RAW)) for n in names if draw(st.booleans())}
    psks = {}
    for _ in range(draw(st.integers(0, 5))):
        if len(names) >= 2:
            a, b = draw(st.sampled_from(names)), draw(st.sampled_from(names))
            psks[pair_id(a, b)] = PresharedKey(draw(RAW))
    return Secrets(MappingProxyType(keys), MappingProxyType(psks))


@given(stores())
def test_written_stores_read_back(secrets):
    text = format_secrets(secrets)
    assert parse_secrets(text) == secrets
    assert dict(parse_secrets(text).public_keys) == secrets.verified_public_keys()


@pytest.mark.parametrize("line", [
    "relay = " + base64.b64encode(bytes(31) + b"\x01").decode()[:-2] + "B=",  # unused low bits set
    "relay = AAAA",
])
def test_a_bad_private_key_is_an_error_naming_the_store(line):
    with pytest.raises(NetdwgError) as err:
        parse_secrets(f"[private_keys]\n{line}\n", "s.secrets")
    assert "s.secrets" in str(err.value)


def test_a_psk_name_without_two_hosts_is_an_error_with_a_fix():
    text = "[preshared_keys]\nrelay = " + base64.b64encode(bytes(32)).decode() + "\n"
    with pytest.raises(NetdwgError) as err:
        parse_secrets(text, "s.secrets")
    assert "does not name two hosts" in str(err.value) and err.value.fix
