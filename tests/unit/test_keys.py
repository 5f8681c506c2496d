"""netdwg.keys against the real `wg` tool, and secrets that never show themselves."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess

import pytest

from netdwg.errors import ParseError
from netdwg.keys import PresharedKey, PrivateKey, PublicKey, genkey, genpsk, pubkey

WG = shutil.which("wg")
needs_wg = pytest.mark.skipif(WG is None, reason="wireguard-tools (wg) is not installed")


def _wg_pubkeys(private_b64: list[str]) -> list[str]:
    """Run `wg pubkey` once per key, all inside one shell to keep it fast."""
    script = 'while read -r k; do printf "%s\\n" "$k" | wg pubkey || echo FAILED; done'
    out = subprocess.run(["bash", "-c", script], input="\n".join(private_b64) + "\n",
                         capture_output=True, text=True, check=True).stdout
    return out.split()


@needs_wg
def test_pubkey_equals_wg_pubkey_on_200_random_keys():
    # Half clamped (as genkey makes them), half raw random bytes: wg clamps on
    # the way in, and so must we, or unclamped keys from other tools would differ.
    privates = [genkey() for _ in range(100)] + [PrivateKey(os.urandom(32)) for _ in range(100)]
    expected = _wg_pubkeys([k.reveal_base64() for k in privates])
    assert len(expected) == 200
    assert [pubkey(k).base64 for k in privates] == expected


@needs_wg
def test_genkey_output_is_accepted_by_wg_pubkey_and_clamped():
    keys = [genkey() for _ in range(20)]
    outs = _wg_pubkeys([k.reveal_base64() for k in keys])
    assert "FAILED" not in outs
    for key in keys:
        raw = key.raw
        assert raw[0] & 7 == 0 and raw[31] & 128 == 0 and raw[31] & 64 == 64


@needs_wg
def test_wg_genkey_output_parses_and_matches():
    out = subprocess.run(["bash", "-c", "for i in 1 2 3 4 5; do k=$(wg genkey); echo $k $(echo $k | wg pubkey); done"],
                         capture_output=True, text=True, check=True).stdout.split()
    for private_b64, public_b64 in zip(out[::2], out[1::2]):
        assert PrivateKey.from_base64(private_b64).public_key() == PublicKey.from_base64(public_b64)


def test_genpsk_is_32_random_bytes():
    a, b = genpsk(), genpsk()
    assert len(a.raw) == 32 and a != b
    assert len(base64.b64decode(a.reveal_base64())) == 32


@pytest.mark.parametrize("make", [genkey, genpsk])
def test_secret_never_shows_in_repr_str_format(make):
    key = make()
    secret_b64, secret_hex = key.reveal_base64(), key.reveal_hex()
    shown = [repr(key), str(key), f"{key}", f"{key!r}", f"{key:>60}", "%s" % key, "%r" % (key,),
             repr([key]), repr({"k": key}), repr((key,))]
    for text in shown:
        assert secret_b64 not in text and secret_hex not in text
        assert secret_b64[:8] not in text


def test_secret_inside_a_dataclass_repr_is_hidden():
    from netdwg.wireguard import WgDevice, WgPeer

    private, psk = genkey(), genpsk()
    device = WgDevice("wg0", private_key=private, peers=(WgPeer(private.public_key(), preshared_key=psk),))
    text = repr(device)
    assert private.reveal_base64() not in text and psk.reveal_base64() not in text
    assert private.public_key().base64 in text  # public keys are fine to show


def test_public_key_round_trips_base64_and_hex():
    key = genkey().public_key()
    assert PublicKey.from_base64(key.base64) == key
    assert PublicKey.from_hex(key.hex) == key
    assert str(key) == key.base64


@pytest.mark.parametrize("text", ["", "abc", "A" * 43 + "=" + "A", "!" * 44,
                                  base64.b64encode(b"x" * 31).decode(), base64.b64encode(b"x" * 33).decode()])
def test_bad_keys_raise_parse_error_with_a_fix(text):
    with pytest.raises(ParseError) as err:
        PublicKey.from_base64(text)
    assert "44 base64 characters" in str(err.value) and err.value.fix


def test_bad_private_key_error_does_not_echo_the_text():
    almost = genkey().reveal_base64()[:43]
    with pytest.raises(ParseError) as err:
        PrivateKey.from_base64(almost)
    assert almost not in str(err.value)


def test_psk_from_base64_round_trip():
    psk = genpsk()
    assert PresharedKey.from_base64(psk.reveal_base64()) == psk


@needs_wg
def test_non_canonical_base64_is_rejected_like_wg():
    key = genkey().reveal_base64()
    canonical, other = "AEIMQUYcgkosw048", "BFJNRVZdhlptx159"
    bad = key[:42] + other[canonical.index(key[42])] + "="
    real = subprocess.run(["wg", "pubkey"], input=bad + "\n", capture_output=True, text=True)
    assert real.returncode != 0
    with pytest.raises(ParseError):
        PrivateKey.from_base64(bad)
    with pytest.raises(ParseError):
        PublicKey.from_base64(bad)
