"""What plan decides about WireGuard peers from a .netdev and the live device (a wireguard-go
`get=1` answer): `wg syncconf` semantics, names in messages, file:line in errors.

Files are written the way netdwg renders them and the ways people and other tools
write them (name comments without blank lines, NUL bytes, over-long lines, other
spellings of the same values, one key in two sections or a device in two files).
"""

from __future__ import annotations

import base64
import ipaddress
from pathlib import PurePosixPath

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netdwg.apply.desired import desired_from_files, device_from_netdev
from netdwg.errors import ConfigError, NetdwgError
from netdwg.host.uapi import parse_get
from netdwg.plan.diff import diff_device
from netdwg.rendered import RenderedFile

WHERE = "/etc/systemd/network/50-wg0.netdev"
PRIVATE = bytes(range(1, 33))
KEYS = [bytes([i]) * 31 + bytes([200 + i]) for i in range(1, 7)]
PSK = bytes(range(40, 72))


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def head(name: str = "wg0", extra: str = "") -> str:
    return f"[NetDev]\nName={name}\nKind=wireguard\n{extra}\n[WireGuard]\nPrivateKey={b64(PRIVATE)}\nListenPort=51820\n"


def section(key: bytes, ips=("10.0.0.1/32",), psk: bytes | None = None, keepalive: int | str = 0) -> str:
    """A peer as netdwg renders it."""
    lines = ["[WireGuardPeer]", f"PublicKey={b64(key)}"]
    if psk is not None:
        lines.append(f"PresharedKey={b64(psk)}")
    lines += [f"AllowedIPs={ip}" for ip in ips]
    if keepalive != 0:
        lines.append(f"PersistentKeepalive={keepalive}")
    return "\n".join(lines) + "\n"


def answer(peers, private: bytes | None = PRIVATE) -> str:
    """A wireguard-go get=1 answer; peers: (key, ips, psk, keepalive, endpoint)."""
    lines = [f"private_key={private.hex()}"] if private is not None else []
    lines.append("listen_port=51820")
    for key, ips, psk, keepalive, endpoint in peers:
        lines += [f"public_key={key.hex()}", f"preshared_key={(psk or bytes(32)).hex()}", "protocol_version=1"]
        if endpoint:
            lines.append(f"endpoint={endpoint}")
        lines += ["last_handshake_time_sec=0", "last_handshake_time_nsec=0", "tx_bytes=0", "rx_bytes=0",
                  f"persistent_keepalive_interval={keepalive}"]
        lines += [f"allowed_ip={ip}" for ip in ips]
    return "\n".join(lines) + "\n"


def outcome(text: str, live: str):
    """What plan decides about wg0: ("plan", (device change, peer changes with names, notes)) or ("error", message)."""
    try:
        desired = device_from_netdev(text, WHERE, None)
    except NetdwgError as err:
        return "error", str(err)
    device_change, peers, notes = diff_device(desired, parse_get(live, desired.name), 0.0)
    device_change = device_change.describe() if device_change is not None else None
    return "plan", (device_change, sorted((c.action, c.peer.public_key.hex, c.fields, c.peer.name) for c in peers),
                    notes)


NOTHING = ("plan", (None, [], []))
LIVE3 = answer([(KEYS[0], ["10.0.0.1/32"], None, 0, None), (KEYS[1], ["10.0.0.2/32"], None, 0, None),
                (KEYS[2], ["10.0.0.3/32"], None, 0, "203.0.113.9:4000")])


@pytest.mark.parametrize("layout", ["first", "middle", "two before"])
def test_a_name_comment_without_a_blank_line_names_the_right_peer(layout):
    """'# name' right above each header, no blank lines (hand-written files, other tools): the
    changed peer is announced by its own name, not by the name of the unchanged peer before it."""
    changed = "# carol\n" + section(KEYS[2], ["10.0.0.33/32"])
    if layout == "first":
        text = head() + "# alice\n" + section(KEYS[0], ["10.0.0.1/32"]) + changed
    elif layout == "middle":
        text = head() + "# zed\n" + section(KEYS[3], ["10.0.0.4/32"]) + "# alice\n" + \
            section(KEYS[0], ["10.0.0.1/32"]) + changed
    else:
        text = head() + "# alice\n" + section(KEYS[0], ["10.0.0.1/32"]) + "# bob\n" + \
            section(KEYS[1], ["10.0.0.2/32"]) + changed
    kind, (_, peers, _) = outcome(text, LIVE3)
    assert [name for action, _, _, name in peers if action == "update"] == ["carol"]


def test_a_nul_byte_in_a_comment_is_refused_with_its_line():
    text = head() + section(KEYS[0]) + "# note\0Endpoint=192.0.2.1:1\n" + section(KEYS[1], ["10.0.0.2/32"])
    kind, message = outcome(text, LIVE3)
    assert kind == "error" and f"{WHERE}:11:" in message and "NUL" in message


@pytest.mark.parametrize("line", ["#" + "x" * (1 << 20), " " * (1 << 20), "# " + "\u00e9" * (1 << 19)])
def test_an_over_long_line_between_peers_is_refused_with_its_line(line):
    """systemd rejects a file with a line over 1 MiB (in bytes: the last case is 1 MiB of UTF-8)."""
    text = head() + section(KEYS[0]) + line + "\n" + section(KEYS[1], ["10.0.0.2/32"])
    kind, message = outcome(text, LIVE3)
    assert kind == "error" and "line too long" in message and f"{WHERE}:11:" in message


def test_a_long_but_valid_comment_is_read():
    text = head() + section(KEYS[0]) + "#" + "x" * 300_000 + "\n" + section(KEYS[1], ["10.0.0.2/32"]) + \
        section(KEYS[2], ["10.0.0.3/32"])
    assert outcome(text, LIVE3) == NOTHING


def test_two_files_for_one_device_are_refused_naming_both():
    """Two .netdev files name wg0: each would be diffed against the one live device and remove
    the other's peers on every run (networkd 252 reads only the first)."""
    files = (RenderedFile(PurePosixPath("/etc/systemd/network/50-wg0.netdev"), head() + section(KEYS[0])),
             RenderedFile(PurePosixPath("/etc/systemd/network/60-wg0.netdev"),
                          head() + section(KEYS[1], ["10.0.0.2/32"])))
    with pytest.raises(ConfigError, match="two files describe the WireGuard device wg0: "
                                          "/etc/systemd/network/50-wg0.netdev and /etc/systemd/network/60-wg0.netdev"):
        desired_from_files(files)


def test_a_peer_given_an_unchanged_peers_prefix_is_refused_naming_both():
    """WireGuard keeps a prefix on one peer: the new peer would take 10.0.0.1/32 from the unchanged
    one, and every later apply would move it back."""
    text = head() + "# alice\n" + section(KEYS[0], ["10.0.0.1/32"]) + "# bob\n" + section(KEYS[1], ["10.0.0.2/32"]) + \
        "# dave\n" + section(KEYS[3], ["10.0.0.1/32", "10.1.0.1/32"])
    files = (RenderedFile(PurePosixPath(WHERE), text),)
    with pytest.raises(ConfigError, match="wg0: AllowedIPs 10.0.0.1/32 is on two peers, alice and dave"):
        desired_from_files(files)


def test_a_file_error_is_reported_with_its_line_before_any_device_is_read():
    """plan reads every file before it asks a device anything: a broken .network is what a host
    with a stale UAPI socket (wireguard-go gone) reports first."""
    netdev = RenderedFile(PurePosixPath("/etc/systemd/network/50-wg0.netdev"), head() + section(KEYS[0]))
    bad = RenderedFile(PurePosixPath("/etc/systemd/network/60-wg0.network"), "[Match]\nName=wg0\n[Route\n")
    with pytest.raises(NetdwgError, match="60-wg0.network:3"):
        desired_from_files((netdev, bad))


@pytest.mark.parametrize("text", [
    pytest.param(head() + section(KEYS[0]) + section(KEYS[1], ["10.0.0.2/32"]) + section(KEYS[2], ["10.0.0.3/32"]),
                 id="as rendered"),
    pytest.param(head() + section(KEYS[0], ["10.0.0.1"]) + section(KEYS[1], ["10.0.0.2/32"], keepalive="off")
                 + section(KEYS[2], ["10.0.0.3/32"]), id="bare address, keepalive off"),
    pytest.param(head() + section(KEYS[0], ["10.0.0.1/32"], bytes(32)) + section(KEYS[1], ["10.0.0.2/32"])
                 + section(KEYS[2], ["10.0.0.3/32"]), id="zero PSK"),
    pytest.param((head() + section(KEYS[0]) + section(KEYS[1], ["10.0.0.2/32"])
                  + section(KEYS[2], ["10.0.0.3/32"])).replace("\n", "\r\n"), id="CRLF"),
    pytest.param("\ufeff" + head() + section(KEYS[0]) + "[WireGuardPeer]\nPublicKey = " + b64(KEYS[1])
                 + "\nAllowedIPs = 10.0.0.2/32\n" + section(KEYS[2], ["10.0.0.3/32"]), id="BOM, spaces around ="),
    pytest.param(head() + section(KEYS[0]) + section(KEYS[0]) + section(KEYS[1], ["10.0.0.2/32"])
                 + section(KEYS[2], ["10.0.0.3/32"]), id="one key, two equal sections"),
])
def test_a_device_that_has_what_the_file_says_gets_no_change(text):
    """`wg syncconf` semantics: equal values in another spelling change nothing, and a peer the
    file gives no endpoint keeps the one the device learned (KEYS[2] roamed to 203.0.113.9)."""
    assert outcome(text, LIVE3) == NOTHING


def test_live_device_forms_match_their_files():
    """Peers with no allowed IPs, a zero PSK written out vs none, keepalive, IPv6 and IPv4-mapped
    prefixes, endpoints in both families, a device with and without a private key."""
    v6 = ["fd00::1/128", "::ffff:10.0.0.7/128", "2001:db8::/32"]
    peers = [(KEYS[0], [], None, 0, None), (KEYS[1], v6, PSK, 25, "[2001:db8::9]:51820"),
             (KEYS[2], ["0.0.0.0/0", "::/0"], None, 0, "192.0.2.4:1")]
    texts = [section(KEYS[0], ()), section(KEYS[1], v6, PSK, 25), section(KEYS[2], ["0.0.0.0/0", "::/0"])]
    zero_psk = section(KEYS[0], (), bytes(32))
    assert outcome(head() + "".join(texts), answer(peers)) == NOTHING
    assert outcome(head() + zero_psk + "".join(texts[1:]), answer(peers)) == NOTHING
    kind, (device_change, peer_changes, _) = outcome(head() + "".join(texts), answer(peers, None))
    assert device_change is not None and peer_changes == []  # only the private key is set


# -- syncconf semantics as a property: only what differs is touched

_prefix = st.sampled_from(["10.0.0.1/32", "10.0.0.2/32", "192.168.1.0/24", "fd00::1/128", "fd00:1::/64", "0.0.0.0/0"])
# Spellings networkd reads as one of the prefixes above, not as the device prints it.
_ODD = {"10.0.0.1/32": "10.0.0.1", "192.168.1.0/24": "192.168.1.7/24", "fd00::1/128": "fd00:0::1/128",
        "fd00:1::/64": "FD00:1::/64"}


@st.composite
def peer(draw):
    return {"key": draw(st.sampled_from(KEYS)), "psk": draw(st.sampled_from([None, PSK])),
            "ips": draw(st.lists(_prefix, max_size=3, unique=True)), "keepalive": draw(st.sampled_from([0, 25]))}


@st.composite
def scenario(draw):
    """(live peers, wanted peers as written, which wanted peers differ from their live twin)."""
    pool = draw(st.lists(peer(), min_size=1, max_size=6, unique_by=lambda p: p["key"]))
    live = [p for p in pool if draw(st.integers(0, 3))]
    wanted, differs = [], set()
    for p in pool:
        if not draw(st.integers(0, 4)):
            continue  # only live: removed
        q = dict(p)
        change = draw(st.sampled_from(["same", "same", "order", "odd", "ips", "psk", "keepalive"]))
        if change == "order":
            q["ips"] = q["ips"][::-1]
        elif change == "odd":
            q["ips"] = [_ODD.get(ip, ip) for ip in q["ips"]]
        elif change == "ips":
            q["ips"] = draw(st.lists(_prefix, max_size=3, unique=True))
        elif change == "psk":
            q["psk"] = draw(st.sampled_from([None, PSK, KEYS[5]]))
        elif change == "keepalive":
            q["keepalive"] = draw(st.sampled_from([0, 25, 60]))
        wanted.append(q)
        same = (p in live and set(map(_canon, q["ips"])) == set(map(_canon, p["ips"])) and q["psk"] == p["psk"]
                and q["keepalive"] == p["keepalive"])
        if not same:
            differs.add(q["key"].hex())
    return live, draw(st.permutations(wanted)), differs


def _canon(ip: str) -> str:
    return str(ipaddress.ip_network(ip, strict=False))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario(), st.booleans())
def test_only_peers_that_differ_are_touched(case, roamed):
    """Every live peer the file has with the same values keeps its session (no change is sent to
    it, whatever its live endpoint); every other wanted peer is added or updated; the rest go."""
    live, wanted, differs = case
    text = head() + "".join(f"\n# p{i}\n" + section(p["key"], p["ips"], p["psk"], p["keepalive"])
                            for i, p in enumerate(wanted))
    device = answer([(p["key"], p["ips"], p["psk"], p["keepalive"], "203.0.113.7:9" if roamed else None)
                     for p in live])
    kind, (device_change, peers, _) = outcome(text, device)
    assert kind == "plan" and device_change is None
    touched = {key for action, key, _, _ in peers if action != "remove"}
    removed = {key for action, key, _, _ in peers if action == "remove"}
    assert touched == differs
    assert removed == {p["key"].hex() for p in live} - {p["key"].hex() for p in wanted}
