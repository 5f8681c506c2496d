"""The secrets store's fast reader gives what configobj gives, or leaves the file to configobj.

`parse_secrets` reads stores in `format_secrets`' shape without configobj; for
anything else (quotes, inline comments, odd names, bad or non-canonical keys,
duplicates, stray line breaks) it must hand over, so results and error
messages are the same as configobj's path.
"""

from __future__ import annotations

import base64
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netdwg.errors import NetdwgError
from netdwg.keys import PresharedKey, PrivateKey
from netdwg.topology.secrets import (
    Secrets, _parse_with_configobj, _read_fast, format_secrets, pair_id, parse_secrets,
)

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


# Edits a hand can make to a store: each is either read alike by both paths or sent to configobj.
SNIPPETS = [
    "", " ", "\t", "#", " # comment", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\ufeff", "'", '"',
    ",", "=", ":", "[", "]", "[private_keys]", "[preshared_keys]", "[[x]]", "[other]", "a = b",
    "dup = " + base64.b64encode(bytes(32)).decode(), "x:y = " + base64.b64encode(bytes(range(32))).decode(),
    "nocolon = " + base64.b64encode(bytes(32)).decode(),
    "W1=", "A=", "==", "\n", "\n\n", "AAAA", "relay = ", " = x",
    # [public_keys] records: key then digest; a malformed one is dropped by both paths alike.
    "[public_keys]", " 0123456789abcdef", "0123456789ABCDEF", " 0123456789abcde", "\t",
    "rec = " + base64.b64encode(bytes(range(32))).decode() + " 0123456789abcdef",
]


@st.composite
def edited_texts(draw) -> str:
    text = format_secrets(draw(stores()))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(SNIPPETS)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 3)):]
    return text


def outcome(parse, text: str):
    try:
        secrets = parse(text)
    except NetdwgError as err:
        return ("error", type(err).__name__, str(err))
    except Exception as err:  # noqa: BLE001 - compared, not hidden: both paths must fail alike
        return ("crash", type(err).__name__)
    return ("ok", dict(secrets.private_keys), dict(secrets.preshared_keys), dict(secrets.public_keys))


@given(stores())
def test_written_stores_take_the_fast_path_and_read_back(secrets):
    text = format_secrets(secrets)
    assert _read_fast(text) is not None
    assert parse_secrets(text) == secrets
    assert dict(parse_secrets(text).public_keys) == secrets.verified_public_keys()
    assert outcome(parse_secrets, text) == outcome(lambda t: _parse_with_configobj(t, "<secrets>"), text)


@settings(max_examples=400, suppress_health_check=list(HealthCheck))
@given(edited_texts())
def test_edited_stores_read_alike_either_way(text):
    assert outcome(parse_secrets, text) == outcome(lambda t: _parse_with_configobj(t, "<secrets>"), text)


@pytest.mark.parametrize("line", [
    "relay = " + base64.b64encode(bytes(31) + b"\x01").decode()[:-2] + "B=",  # unused low bits set
    "relay = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='",
    "relay = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= # mine",
])
def test_what_the_fast_reader_leaves_to_configobj(line):
    text = f"[private_keys]\n{line}\n"
    assert _read_fast(text) is None
    assert outcome(parse_secrets, text) == outcome(lambda t: _parse_with_configobj(t, "<secrets>"), text)


def test_a_psk_name_without_two_hosts_is_an_error_with_a_fix():
    text = "[preshared_keys]\nrelay = " + base64.b64encode(bytes(32)).decode() + "\n"
    with pytest.raises(NetdwgError) as err:
        parse_secrets(text, "s.secrets")
    assert "does not name two hosts" in str(err.value) and err.value.fix
