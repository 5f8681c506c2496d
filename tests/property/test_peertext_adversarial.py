"""Adversarial inputs for apply's fast path (`netdwg.peertext`, `device_from_netdev(..., live_texts)`).

The promise: cutting the [WireGuardPeer] sections the live device has exactly
never changes what plan decides or reports: the same peer changes, the same
error with the same file:line, the same peer names in messages.
tests/property/test_peertext.py generates files the way netdwg renders them;
this file generates them the way people and other tools write them (comments
without blank lines, NUL bytes, over-long lines, CRLF, BOM, continuations,
no final newline, repeated [NetDev] values, one key in two sections or two
files) and pins each case found by hand.
"""

from __future__ import annotations

import base64
from pathlib import PurePosixPath

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netdwg.apply.desired import desired_from_files, device_from_netdev, rekeys_a_left_out_peer
from netdwg.errors import ConfigError, NetdwgError
from netdwg.plan import HostState, plan_host
from netdwg.host.uapi import parse_get
from netdwg.peertext import strip_unchanged_peers, uapi_peer_texts
from netdwg.plan.diff import diff_device
from netdwg.rendered import RenderedFile

WHERE = "/etc/systemd/network/50-wg0.netdev"
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PRIVATE = bytes(range(1, 33))
KEYS = [bytes([i]) * 31 + bytes([200 + i]) for i in range(1, 7)]
PSK = bytes(range(40, 72))


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def head(name: str = "wg0", extra: str = "") -> str:
    return f"[NetDev]\nName={name}\nKind=wireguard\n{extra}\n[WireGuard]\nPrivateKey={b64(PRIVATE)}\nListenPort=51820\n"


def section(key: bytes, ips=("10.0.0.1/32",), psk: bytes | None = None, keepalive: int = 0) -> str:
    """A peer exactly as netdwg renders it (the canonical text)."""
    lines = ["[WireGuardPeer]", f"PublicKey={b64(key)}"]
    if psk is not None:
        lines.append(f"PresharedKey={b64(psk)}")
    lines += [f"AllowedIPs={ip}" for ip in ips]
    if keepalive:
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


def outcome(text: str, live: str, fast: bool):
    """What plan decides about wg0 (peer changes with names, device change) or the error it reports."""
    texts = (lambda name: uapi_peer_texts(live) if name == "wg0" else None) if fast else None
    try:
        desired = device_from_netdev(text, WHERE, None, texts)
    except NetdwgError as err:
        return "error", str(err)
    if desired is None:
        return "not wireguard", None
    device_change, peers, notes = diff_device(desired, parse_get(live, desired.name, omit=desired.unchanged), 0.0)
    # DeviceChange.old is the live device as read (without the left-out peers): compare what plan shows.
    device_change = device_change.describe() if device_change is not None else None
    return "plan", (device_change, sorted((c.action, c.peer.public_key.hex, c.fields, c.peer.name) for c in peers),
                    notes)


def assert_same(text: str, live: str) -> None:
    assert outcome(text, live, fast=True) == outcome(text, live, fast=False)


# -- cases found by hand (each failed before the fix in netdwg/peertext.py or netdwg/apply/desired.py)

LIVE3 = answer([(KEYS[0], ["10.0.0.1/32"], None, 0, None), (KEYS[1], ["10.0.0.2/32"], None, 0, None),
                (KEYS[2], ["10.0.0.3/32"], None, 0, "203.0.113.9:4000")])


@pytest.mark.parametrize("layout", ["first", "middle", "two cut"])
def test_a_name_comment_without_a_blank_line_names_the_right_peer(layout):
    """'# name' right above each header, no blank lines (hand-written files, other tools): cutting
    the unchanged peer before a changed one must not hand the changed one the cut peer's name."""
    changed = "# carol\n" + section(KEYS[2], ["10.0.0.33/32"])
    if layout == "first":
        text = head() + "# alice\n" + section(KEYS[0], ["10.0.0.1/32"]) + changed
    elif layout == "middle":
        text = head() + "# zed\n" + section(KEYS[3], ["10.0.0.4/32"]) + "# alice\n" + \
            section(KEYS[0], ["10.0.0.1/32"]) + changed
    else:
        text = head() + "# alice\n" + section(KEYS[0], ["10.0.0.1/32"]) + "# bob\n" + \
            section(KEYS[1], ["10.0.0.2/32"]) + changed
    fast = outcome(text, LIVE3, fast=True)
    assert [name for *_, name in fast[1][1] if _[0] == "update"] == ["carol"]
    assert fast == outcome(text, LIVE3, fast=False)


def test_a_nul_byte_in_a_cut_peers_comments_is_still_refused_with_its_line():
    text = head() + section(KEYS[0]) + "# note\0Endpoint=192.0.2.1:1\n" + section(KEYS[1], ["10.0.0.2/32"])
    kind, message = outcome(text, LIVE3, fast=True)
    assert kind == "error" and f"{WHERE}:11:" in message and "NUL" in message
    assert_same(text, LIVE3)


@pytest.mark.parametrize("line", ["#" + "x" * (1 << 20), " " * (1 << 20), "# " + "\u00e9" * (1 << 19)])
def test_an_over_long_line_in_a_cut_peers_comments_is_still_refused(line):
    """systemd rejects a file with a line over 1 MiB (bytes); the line sits where a cut drops it."""
    text = head() + section(KEYS[0]) + line + "\n" + section(KEYS[1], ["10.0.0.2/32"])
    kind, message = outcome(text, LIVE3, fast=True)
    assert kind == "error" and "line too long" in message and f"{WHERE}:11:" in message
    assert_same(text, LIVE3)


def test_a_long_but_valid_comment_is_only_slower():
    text = head() + section(KEYS[0]) + "#" + "x" * 300_000 + "\n" + section(KEYS[1], ["10.0.0.2/32"])
    assert outcome(text, LIVE3, fast=True)[0] == "plan"
    assert_same(text, LIVE3)


def test_two_files_for_one_device_are_refused_on_both_paths():
    """Two .netdev files name wg0: each would be diffed against the one live device and remove
    the other's peers on every run (networkd 252 reads only the first). Both paths refuse it,
    naming both files, instead of planning (or stopping with an internal error)."""
    files = (RenderedFile(PurePosixPath("/etc/systemd/network/50-wg0.netdev"), head() + section(KEYS[0])),
             RenderedFile(PurePosixPath("/etc/systemd/network/60-wg0.netdev"),
                          head() + section(KEYS[1], ["10.0.0.2/32"])))
    for texts in (None, lambda name: uapi_peer_texts(LIVE3)):
        with pytest.raises(ConfigError, match="two files describe the WireGuard device wg0: "
                                              "/etc/systemd/network/50-wg0.netdev and /etc/systemd/network/60-wg0.netdev"):
            desired_from_files(files, None, None, texts)


# -- cases that already held; pinned because test_peertext.py does not generate them

@pytest.mark.parametrize("text", [
    pytest.param(head(extra="Name=wg1\n") + section(KEYS[0]), id="second Name= wins"),
    pytest.param(head(extra="Kind=bridge\n") + section(KEYS[0]), id="second Kind= wins"),
    pytest.param(head() + section(KEYS[0]) + "[NetDev]\nName=wg1\n", id="[NetDev] repeated after the peers"),
    pytest.param(head() + section(KEYS[0]) + "[NetDev]\nKind=vxlan\n", id="Kind changed after the peers"),
    pytest.param(head() + section(KEYS[0]) + section(KEYS[0]), id="one key, two equal sections"),
    pytest.param(head() + section(KEYS[0]) + section(KEYS[0], ["10.0.0.9/32"]), id="one key, second differs"),
    pytest.param(head() + section(KEYS[0]) + "[WireGuardPeer]\nPublicKey=" + b64(KEYS[0])[:-2] + "Q=\n",
                 id="same key, non-canonical base64"),
    pytest.param(head() + section(KEYS[0]) + "[WireGuardPeer]\nPublicKey = " + b64(KEYS[0]) + "\n",
                 id="same key, spaces around ="),
    pytest.param(head() + section(KEYS[0]) + "AllowedIPs=\n", id="empty assignment resets the list"),
    pytest.param(head() + section(KEYS[0]) + "\nAllowedIPs=10.0.0.9/32\n", id="assignment after a blank line"),
    pytest.param(head() + section(KEYS[0]) + "# c \\\nAllowedIPs=10.0.0.9/32\n", id="backslash ending a comment"),
    pytest.param(head() + section(KEYS[0]) + "  [WireGuardPeer]\nPublicKey=" + b64(KEYS[1]) + "\n",
                 id="indented header follows"),
    pytest.param(head() + section(KEYS[0]).replace("]\n", "] \n", 1), id="header with a trailing space"),
    pytest.param(head() + section(KEYS[0]).rstrip("\n"), id="no final newline"),
    pytest.param(head() + section(KEYS[0]) + "PublicKey=\n", id="PublicKey reset: networkd skips the peer"),
    pytest.param(head() + section(KEYS[0]) + "Endpoint=\n", id="empty Endpoint="),
    pytest.param(head() + section(KEYS[0]) + "Endpoint=192.0.2.7:51820\n", id="endpoint set"),
    pytest.param(head() + section(KEYS[1], ["10.0.0.2/32"]).replace("AllowedIPs=10.0.0.2/32\n",
                                                                     "AllowedIPs=10.0.0.2/32 \\\n 10.0.0.5/32\n"),
                 id="continuation elsewhere"),
    pytest.param((head() + section(KEYS[0]) + section(KEYS[1], ["10.0.0.2/32"])).replace("\n", "\r\n"), id="CRLF"),
    pytest.param("\ufeff" + head() + section(KEYS[0]) + section(KEYS[1], ["10.0.0.2/32"]), id="BOM"),
    pytest.param(head() + "\ufeff" + section(KEYS[0]), id="BOM before a header mid-file"),
    pytest.param(head() + section(KEYS[0]) + "[WireGuardPeer]\nPublicKey=" + b64(KEYS[1]) + "\nAllowedIPs=10.0.0.2\n",
                 id="other peer, bare address"),
    pytest.param(head() + section(KEYS[0]) + "[WireGuardPeer]\nPublicKey=nonsense\n", id="bad key after a cut"),
    pytest.param(head() + section(KEYS[0]) + "[WireGuardPeer]\nPublicKey=" + b64(KEYS[1])
                 + "\nAllowedIPs=10.0.0.300/32\n", id="bad prefix after a cut"),
    pytest.param(head() + section(KEYS[0]) + "[WireGuardPeer\n", id="truncated header after a cut"),
    pytest.param(head() + "[WireGuardPeer]\nPublicKey=" + b64(KEYS[1]) + "\nPresharedKeyFile=/etc/x.psk\n"
                 + section(KEYS[0]), id="key file elsewhere (no reader)"),
])
def test_file_tricks_do_not_change_the_plan(text):
    assert_same(text, LIVE3)


def test_live_device_forms_do_not_change_the_plan():
    """Peers with no allowed IPs, a zero PSK vs none, keepalive, IPv6 and IPv4-mapped prefixes,
    endpoints in both families, a device without a private key."""
    v6 = ["fd00::1/128", "::ffff:10.0.0.7/128", "2001:db8::/32"]
    peers = [(KEYS[0], [], None, 0, None), (KEYS[1], v6, PSK, 25, "[2001:db8::9]:51820"),
             (KEYS[2], ["0.0.0.0/0", "::/0"], None, 0, "192.0.2.4:1")]
    texts = [section(KEYS[0], ()), section(KEYS[1], v6, PSK, 25), section(KEYS[2], ["0.0.0.0/0", "::/0"])]
    zero_psk = section(KEYS[0], (), bytes(32))  # PresharedKey= of 32 zero bytes: a PSK to netdwg, none live
    for private in (PRIVATE, None):
        live = answer(peers, private)
        for text in (head() + "".join(texts), head() + zero_psk + "".join(texts[1:])):
            assert_same(text, live)
        fast = device_from_netdev(head() + "".join(texts), WHERE, None, lambda name: uapi_peer_texts(live))
        assert fast.peers == () and len(fast.unchanged) == 3


# -- a property over hand-written layouts

_TRIVIA = st.sampled_from(["", "\n", "# {name}\n", "; {name}: note\n", "  # {name}\n", "\t\n", "  \n",
                           "# {name}\n# more\n", "\n# {name}\n", "# a \\\n", "#\n", "# {name}\0x\n"])
_VARIANT = st.sampled_from(["canonical"] * 6 + ["ips", "endpoint", "spaces", "crlf-line", "reset", "indent-header",
                                                 "shared"])


@st.composite
def handwritten(draw):
    """(file text, live answer): peers drawn from KEYS, written with random trivia between sections."""
    count = draw(st.integers(1, 5))
    keys = draw(st.lists(st.sampled_from(KEYS), min_size=count, max_size=count))  # repeats allowed
    live, text = [], head(extra=draw(st.sampled_from(["", "", "Name=wg1\n", "Description=x\n"])))
    for i, key in enumerate(keys):
        ips = [f"10.0.{i}.1/32"] if draw(st.booleans()) else [f"10.0.{i}.1/32", f"fd00::{i + 1}/128"]
        psk = PSK if draw(st.booleans()) else None
        keepalive = draw(st.sampled_from([0, 25]))
        if draw(st.integers(0, 3)):
            live.append((key, ips, psk, keepalive, draw(st.sampled_from([None, "203.0.113.5:7"]))))
        text += "".join(draw(st.lists(_TRIVIA, max_size=3))).format(name=f"peer{i}")
        body = section(key, ips, psk, keepalive)
        variant = draw(_VARIANT)
        if variant == "ips":
            body = section(key, ips[::-1] + ["10.9.9.9/32"], psk, keepalive)
        elif variant == "endpoint":
            body += "Endpoint=192.0.2.9:51820\n"
        elif variant == "spaces":
            body = body.replace("PublicKey=", "PublicKey = ")
        elif variant == "crlf-line":
            body = body.replace("\n", "\r\n", 2)
        elif variant == "reset":
            body += "AllowedIPs=\n"
        elif variant == "indent-header":
            body = "  " + body
        elif variant == "shared":  # another peer's prefix (WireGuard moves it to the peer set last)
            body = section(key, ["10.0.0.1/32"], psk, keepalive)
        text += body
    text += "".join(draw(st.lists(_TRIVIA, max_size=2))).format(name="end")
    if draw(st.integers(0, 5)) == 0:
        text = text.rstrip("\n")
    unique = {key: peer for key, *peer in live}
    return text, answer([(key, *peer) for key, peer in unique.items()])


@SETTINGS
@given(handwritten())
def test_handwritten_layouts_plan_the_same_with_and_without_the_fast_path(case):
    text, live = case
    assert_same(text, live)
    try:
        fast = device_from_netdev(text, WHERE, None, lambda name: uapi_peer_texts(live))
    except NetdwgError:
        return
    if fast is not None and fast.unchanged:  # no remaining peer takes a prefix a left-out peer holds
        held = {str(n) for p in parse_get(live, "wg0").device.peers if p.public_key.hex in fast.unchanged
                for n in p.allowed_ips}
        assert not held & {str(n) for p in fast.peers for n in p.allowed_ips}


@pytest.mark.parametrize("others", [1, 20], ids=["few changed", "many changed"])
def test_a_peer_taking_a_left_out_peers_prefix_keeps_it_in_the_plan(others):
    """WireGuard keeps a prefix on one peer: a changed peer given 10.0.0.1/32 takes it from the
    unchanged peer holding it, and only an undo that reads that peer can give it back."""
    text = head() + section(KEYS[0], ["10.0.0.1/32"]) + section(KEYS[1], ["10.0.0.2/32"]) + \
        section(KEYS[3], ["10.0.0.1/32"] + [f"10.1.0.{i}/32" for i in range(others)])
    fast = device_from_netdev(text, WHERE, None, lambda name: uapi_peer_texts(LIVE3))
    assert KEYS[0].hex() not in fast.unchanged
    assert_same(text, LIVE3)
    apart = text.replace("[WireGuardPeer]\nPublicKey=" + b64(KEYS[3]) + "\nAllowedIPs=10.0.0.1/32\n",
                         "[WireGuardPeer]\nPublicKey=" + b64(KEYS[3]) + "\n")
    assert device_from_netdev(apart, WHERE, None, lambda name: uapi_peer_texts(LIVE3)).unchanged == \
        {KEYS[0].hex(), KEYS[1].hex()}  # no shared prefix: both left out


def test_a_mapped_ipv4_prefix_takes_the_exact_path():
    """wireguard-go prints ::ffff:10.0.0.7 dotted, Python in hex: no string test can be trusted."""
    live = answer([(KEYS[0], ["::ffff:10.0.0.7/128"], None, 0, None)])
    text = head() + section(KEYS[0], ["::ffff:10.0.0.7/128"]) + section(KEYS[1], ["::ffff:10.0.0.7/128"])
    assert device_from_netdev(text, WHERE, None, lambda name: uapi_peer_texts(live)).unchanged == frozenset()


def test_the_blank_line_is_added_only_where_no_blank_line_stops_the_name():
    """The cut keeps a renderer's file as it was around the remaining sections (no stray blank lines)."""
    texts = uapi_peer_texts(LIVE3)
    rendered = head() + "\n# alice\n" + section(KEYS[0]) + "\n# carol\n" + section(KEYS[2], ["10.9.0.0/16"])
    assert strip_unchanged_peers(rendered, texts) == (
        head() + "\n# alice\n\n# carol\n" + section(KEYS[2], ["10.9.0.0/16"]), frozenset({KEYS[0].hex()}))
    tight = head() + "# alice\n" + section(KEYS[0]) + "# carol\n" + section(KEYS[2], ["10.9.0.0/16"])
    assert strip_unchanged_peers(tight, texts)[0] == \
        head() + "# alice\n\n# carol\n" + section(KEYS[2], ["10.9.0.0/16"])


def test_a_peer_with_the_public_key_of_the_new_private_key_is_not_left_out():
    """Setting a private key removes the peer with its public key (wireguard-go's SetPrivateKey,
    the kernel's set_device): an undo must see that peer to put it back."""
    from netdwg.keys import PrivateKey

    mine = PrivateKey(bytes(range(100, 132)))
    theirs = mine.public_key().raw
    live = answer([(theirs, ["10.0.0.1/32"], None, 0, None), (KEYS[1], ["10.0.0.2/32"], None, 0, None)])
    text = head().replace(b64(PRIVATE), mine.reveal_base64()) + section(theirs) + section(KEYS[1], ["10.0.0.2/32"])
    files = (RenderedFile(PurePosixPath(WHERE), text),)
    desired = desired_from_files(files, None, None, lambda name: uapi_peer_texts(live))
    assert theirs.hex() in desired.devices[0].unchanged  # left out while reading...
    observed = HostState(devices=(parse_get(live, "wg0", omit=desired.devices[0].unchanged),), live=True)
    assert rekeys_a_left_out_peer(desired, plan_host(desired, observed))  # ...so the session plans again
    exact = desired_from_files(files, None, None)
    assert not rekeys_a_left_out_peer(exact, plan_host(exact, HostState(devices=(parse_get(live, "wg0"),), live=True)))
    assert_same(text, live)


def test_a_device_that_cannot_be_read_does_not_hide_a_file_error(tmp_path):
    """A stale UAPI socket (wireguard-go gone): the exact path reads the files first, so a broken
    .network after the .netdev is what plan reports, and a good set of files reads the same."""
    import socket

    from netdwg.host.uapi import UapiWgLink

    path = tmp_path / "wg0.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stale:
        stale.bind(str(path))  # closed without listening: connect() is refused
    link = UapiWgLink("wg0", path)
    with pytest.raises(NetdwgError):
        link.peer_texts()
    netdev = RenderedFile(PurePosixPath("/etc/systemd/network/50-wg0.netdev"), head() + section(KEYS[0]))
    bad = RenderedFile(PurePosixPath("/etc/systemd/network/60-wg0.network"), "[Match]\nName=wg0\n[Route\n")
    with pytest.raises(NetdwgError) as exact:
        desired_from_files((netdev, bad))
    with pytest.raises(NetdwgError) as fast:
        desired_from_files((netdev, bad), None, None, lambda name: UapiWgLink(name, path).peer_texts())
    assert str(fast.value) == str(exact.value) and "60-wg0.network:3" in str(exact.value)
    good = desired_from_files((netdev,), None, None, lambda name: UapiWgLink(name, path).peer_texts())
    assert good.devices == desired_from_files((netdev,)).devices
