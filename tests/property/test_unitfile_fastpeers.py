"""Hypothesis properties: the fast 10,000-peer path gives exactly what the plain path gives.

* `fastvalues.parse_network` == ``(IPv6Network if ":" in t else IPv4Network)(t, strict=False)``,
  same value or both ValueError, on texts built from the characters that matter;
* `fastvalues.public_key` / `secret_key`: a key exactly when ``from_base64`` gives one, the same key;
* `fastpeers.fast_peer` on generated ``[WireGuardPeer]`` sections: when it answers, the
  `WgPeer` that `peer_view` describes (and `peer_view` does not raise); and `to_wg_device`
  (fast path) equals a device built from `peer_view` alone, errors included (same file:line).
"""

from __future__ import annotations

import base64
import ipaddress

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from netdwg.errors import NetdwgError
from netdwg.keys import PresharedKey, PublicKey
from netdwg.unitfile import effective_unit, parse_unit, to_wg_device
from netdwg.unitfile.fastpeers import fast_peer
from netdwg.unitfile.fastvalues import _networks, parse_network, public_key, secret_key
from netdwg.unitfile.views import netdev_view, peer_view, wireguard_view
from netdwg.wireguard import WgDevice, WgPeer

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def plain_network(text: str):
    return (ipaddress.IPv6Network if ":" in text else ipaddress.IPv4Network)(text, strict=False)


def outcome(fn, text):
    try:
        net = fn(text)
    except ValueError:
        return "ValueError"
    return (type(net), net, str(net), net.prefixlen, list(net.hosts())[:2] if net.prefixlen >= 120 or
            (net.version == 4 and net.prefixlen >= 24) else None)


_v4_piece = st.sampled_from(["0", "1", "00", "01", "10", "255", "256", "999", "1000", ".", ".", ".", "/", "/32",
                             "/0", "/33", "/24", "/255.0.0.0", "/0.0.0.255", " ", "x", "١"])
_v6_piece = st.sampled_from(["0", "1", "a", "F", "ffff", "0000", "12345", "fd00", ":", ":", "::", ":::", "/",
                             "/128", "/129", "/64", "/0", ".", "1.2.3.4", "%eth0", " ", "g", "/0128"])
_v4_text = st.lists(_v4_piece, max_size=10).map("".join)
_v6_text = st.lists(_v6_piece, max_size=12).map("".join)


@SETTINGS
@given(st.one_of(_v4_text, _v6_text, st.text(max_size=20)))
@example("10.64.0.2")
@example("fd00:64::2/128")
@example("1:2:3:4:5:6:7::")
@example("1::2:3:4:5:6:7:8")
@example("::ffff:1.2.3.4/128")
@example("010.1.1.1/32")
@example("10.1.1.1/032")
@example("fe80::1%eth0/64")
@example("10.1.1.1/")
def test_fast_network_is_the_constructor(text):
    _networks.clear()
    expected = outcome(plain_network, text)
    assert outcome(parse_network, text) == expected
    assert outcome(parse_network, text) == expected  # from the cache


def plain_key(cls, text):
    try:
        return cls.from_base64(text)
    except NetdwgError:
        return None


_b64 = st.binary(min_size=32, max_size=32).map(lambda b: base64.b64encode(b).decode())
_mangled = st.tuples(_b64, st.integers(0, 43), st.sampled_from("A=+/ \t\x0bé1B")).map(
    lambda t: t[0][:t[1]] + t[2] + t[0][t[1] + 1:])


@SETTINGS
@given(st.one_of(_b64, _mangled, st.text(max_size=46)))
@example("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=")
@example("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBml=")  # non-canonical last digit
def test_fast_keys_are_from_base64(text):
    assert public_key(text) == plain_key(PublicKey, text)
    assert secret_key(PresharedKey, text) == plain_key(PresharedKey, text)


KEYS = [base64.b64encode(bytes([i]) * 32).decode() for i in range(1, 4)]
_value_for = {
    "PublicKey": st.sampled_from(KEYS + ["", "bad", KEYS[0][:-2] + "l="]),
    "PresharedKey": st.sampled_from(KEYS + ["", "bad"]),
    "PresharedKeyFile": st.sampled_from(["", "/etc/wireguard/x.psk"]),
    "AllowedIPs": st.lists(st.sampled_from(["10.0.0.1/32", "10.0.0.0/8", "fd00::1/128", "fd00::/64", "10.0.0.1",
                                            "0.0.0.0/0", "::/0", "10.0.0.300/32", "fe80::1%eth0/64", "x"]),
                           max_size=3).flatmap(lambda ws: st.sampled_from([",", ", ", " "]).map(lambda s: s.join(ws))),
    "Endpoint": st.sampled_from(["", "198.51.100.1:51820", "[2001:db8::1]:51820", "host.example:1", "bad", "x:0"]),
    "PersistentKeepalive": st.sampled_from(["", "25", "off", "OFF", "0x19", "025", "70000", "-1", "x"]),
    "RouteMetric": st.sampled_from(["", "5", "x"]),
    "RouteTable": st.sampled_from(["", "main"]),
    "PublicKeyFile": st.sampled_from(["/x"]),
}
_line = st.one_of(
    st.sampled_from(list(_value_for)).flatmap(lambda k: st.tuples(
        st.sampled_from(["", " ", "\t"]), st.just(k), st.sampled_from(["=", " = ", "=\t"]), _value_for[k],
        st.sampled_from(["", " ", "\t"])).map("".join)),
    st.sampled_from(["", "   ", "# spoke", " ; note", "no equals sign", "=orphan", "Key With Space=1", "9Key=1",
                     "_PublicKey=x", "ÉKey=1", "# PublicKey=x"]),
)
_GOOD_NETS = ["10.0.0.1/32", "10.0.0.0/8", "fd00::1/128", "fd00::/64", "10.0.0.1"]
_GOOD = {"PublicKey": KEYS + [""], "PresharedKey": KEYS + [""],
         "Endpoint": ["", "198.51.100.1:51820", "[2001:db8::1]:51820"], "PersistentKeepalive": ["", "25", "off", "0x19"]}
_good = {key: st.sampled_from(texts) for key, texts in _GOOD.items()}
_good["AllowedIPs"] = st.lists(st.sampled_from(_GOOD_NETS), max_size=2).map(",".join)


def valid(value) -> bool:
    if value.key == "AllowedIPs":
        return all(w in _GOOD_NETS for w in value.text.replace(",", " ").split())
    return value.text in _GOOD.get(value.key, ())


# Sections a hub really has (every value valid, resets included): the fast path must answer for them.
_plain_line = st.sampled_from(list(_good)).flatmap(lambda k: _good[k].map(lambda v: f"{k}={v}"))
_plain_section = st.lists(st.one_of(_plain_line, st.sampled_from(["", "# spoke"])), max_size=8).map(
    lambda ls: "[WireGuardPeer]\nPublicKey=" + KEYS[0] + "\n" + "".join(x + "\n" for x in ls))
_section = st.lists(_line, max_size=8).map(lambda ls: "[WireGuardPeer]\n" + "".join(x + "\n" for x in ls)) | \
    _plain_section
_above = st.lists(st.sampled_from(["# spoke-1", "#", "; laptop: Ana's", "", "  # indented"]), max_size=3)
_section = st.tuples(_above, _section).map(lambda t: "".join(x + "\n" for x in t[0]) + t[1])
_unit_text = st.lists(_section, min_size=1, max_size=4).map(
    lambda ss: "[NetDev]\nName=wg0\nKind=wireguard\n\n[WireGuard]\nPrivateKey=" + KEYS[2] + "\n" + "".join(ss))


def read_secret(path, span):
    return KEYS[1]


def slow_device(eff) -> WgDevice:
    """to_wg_device through peer_view only (the definition)."""
    peers = []
    for sec in eff.instances("WireGuardPeer"):
        view = peer_view(sec)
        if view.public_key is None:
            continue
        psk = view.preshared_key
        if psk is None and view.preshared_key_file is not None:
            psk = PresharedKey.from_base64(read_secret(view.preshared_key_file, view.span))
        peers.append(WgPeer(view.public_key, view.allowed_ips, psk, view.endpoint, view.persistent_keepalive))
    netdev, wg = netdev_view(eff), wireguard_view(eff)
    return WgDevice(netdev.name, wg.private_key, wg.listen_port, wg.firewall_mark, tuple(peers))


def result(fn, eff):
    try:
        return fn(eff)
    except NetdwgError as err:
        return (type(err), str(err), err.span)


@SETTINGS
@given(_unit_text, st.booleans())
def test_fast_peers_equal_peer_view(text, edited):
    unit = parse_unit(text, "/etc/systemd/network/50-wg0.netdev")
    if edited:  # sections whose nodes are already parsed (as after an edit) take the other branch
        for section in unit.sections:
            section.entries
    eff = effective_unit(unit)
    for sec in eff.instances("WireGuardPeer"):
        peer = fast_peer(sec)
        plain = all(valid(v) for v in sec.assignments) and sec.get("PublicKey") is not None
        assert peer is not None or not plain  # a hub's sections always take the fast path
        if peer is not None:
            view = peer_view(sec)  # must not raise when the fast path answered
            assert peer == WgPeer(view.public_key, view.allowed_ips, view.preshared_key, view.endpoint,
                                  view.persistent_keepalive)
    fresh = effective_unit(parse_unit(text, "/etc/systemd/network/50-wg0.netdev"))
    assert result(lambda e: to_wg_device(e, read_secret), fresh) == result(slow_device, eff)
    # peer names: the same from the text (fresh) and from parsed nodes (eff, when edited)
    assert result(lambda e: to_wg_device(e, read_secret, peer_names=True), fresh) == \
        result(lambda e: to_wg_device(e, read_secret, peer_names=True), eff)


def test_plain_hub_sections_take_the_fast_path():
    text = ("[NetDev]\nName=wg0\nKind=wireguard\n[WireGuard]\nPrivateKey=" + KEYS[2] + "\n"
            "[WireGuardPeer]\n# spoke-1\nPublicKey=" + KEYS[0] + "\nPresharedKey=" + KEYS[1] +
            "\nAllowedIPs=10.64.0.2,fd00:64::2/128\nPersistentKeepalive=25\n\n"
            "[WireGuardPeer]\nPublicKey = " + KEYS[1] + "\nAllowedIPs=10.64.0.3/32\nEndpoint=198.51.100.7:51820\n")
    eff = effective_unit(parse_unit(text, "/x.netdev"))
    peers = [fast_peer(sec) for sec in eff.instances("WireGuardPeer")]
    assert all(p is not None for p in peers)
    assert peers[0].allowed_ips == (ipaddress.ip_network("10.64.0.2/32"), ipaddress.ip_network("fd00:64::2/128"))
    assert peers[0].persistent_keepalive == 25 and peers[0].preshared_key == PresharedKey.from_base64(KEYS[1])
    assert str(peers[1].endpoint) == "198.51.100.7:51820"
    # the lazy sections built no Value objects, and still give file:line on demand
    assert [sec._values for sec in eff.instances("WireGuardPeer")] == [None, None]
    assert eff.instances("WireGuardPeer")[1].get("AllowedIPs").span.line == 15


def test_peer_names_come_from_the_comment_directly_above_each_peer():
    text = ("# Managed by netdwg\n[NetDev]\nName=wg0\nKind=wireguard\n\n[WireGuard]\nPrivateKey=" + KEYS[2] + "\n\n"
            "# office: the Oslo office\n[WireGuardPeer]\nPublicKey=" + KEYS[0] + "\nAllowedIPs=10.60.0.2/32\n\n"
            "# laptop\n\n[WireGuardPeer]\n# inside, not a name\nPublicKey=" + KEYS[1] + "\n\n"
            "#\n; ana,\n[WireGuardPeer]\nPublicKey=" + KEYS[2] + "\n")
    for edited in (False, True):
        unit = parse_unit(text, "/x.netdev")
        if edited:
            for section in unit.sections:
                section.entries
        device = to_wg_device(effective_unit(unit), peer_names=True)
        # a blank line between comment and header detaches it (as edit.remove_peer sees it)
        assert [p.name for p in device.peers] == ["office", "", "ana"]
        assert [p.name for p in to_wg_device(effective_unit(unit)).peers] == ["", "", ""]
    first = parse_unit("# hub\n[WireGuardPeer]\nPublicKey=" + KEYS[0] + "\n", "/x.netdev")
    assert [p.name for p in to_wg_device(effective_unit(first), peer_names=True).peers] == ["hub"]
