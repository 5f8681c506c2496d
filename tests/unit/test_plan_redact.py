"""Redaction catches secrets by value and by setting name, in every file format netdwg writes."""

from __future__ import annotations

from netdwg.keys import genkey, genpsk
from netdwg.plan.redact import redact_text, unified_diff


def test_key_settings_are_hidden_in_every_format_even_when_the_value_is_unknown():
    key, psk = genkey().reveal_base64(), genpsk().reveal_base64()
    text = (f"PrivateKey={key}\nPresharedKey = {psk}\n"          # networkd / wg-quick
            f"      key: {key}\n          shared: {psk}\n"       # netplan
            f"private_key={genkey().reveal_hex()}\n")            # UAPI
    out = redact_text(text)
    assert key not in out and psk not in out
    assert out.count("(hidden)") == 5


def test_a_key_that_starts_with_a_slash_is_a_key_not_a_path():
    key = "/" + genkey().reveal_base64()[1:]  # 1 key in 64 starts with "/"
    for line in (f"PrivateKey={key}\n", f"PresharedKey = {key}\n", f"      key: {key}\n", f'  shared: "{key}"\n'):
        assert key not in redact_text(line), line
    assert redact_text("      key: /etc/netdwg/keys/wg0.key\n") == "      key: /etc/netdwg/keys/wg0.key\n"


def test_public_keys_paths_and_other_settings_stay_readable():
    public = genkey().public_key().base64
    text = (f"PublicKey={public}\nPrivateKeyFile=/etc/netdwg/keys/wg0.key\n"
            "key: /etc/netdwg/keys/wg0.key\nAllowedIPs=10.0.0.0/24\n")
    assert redact_text(text) == text


def test_a_bare_key_file_is_hidden_only_when_it_is_secret():
    key = genkey().reveal_base64()
    assert redact_text(key + "\n", secret_file=True) == "(hidden)\n"
    public = genkey().public_key().base64
    assert redact_text(public + "\n", secret_file=False) == public + "\n"


def test_known_secret_values_are_hidden_wherever_they_appear():
    psk = genpsk()
    line = f"# rotated from {psk.reveal_base64()} on monday\n"
    assert psk.reveal_base64() not in redact_text(line, frozenset({psk.raw}))
    hex_line = f"preshared={psk.reveal_hex()}\n"
    assert psk.reveal_hex() not in redact_text(hex_line, frozenset({psk.raw}))


def test_a_diff_of_a_removed_secret_file_shows_no_key():
    key = genkey().reveal_base64()
    diff = unified_diff("/etc/netdwg/keys/wg0.key", key + "\n", None, frozenset(), True)
    assert key not in diff and "-(hidden)" in diff
