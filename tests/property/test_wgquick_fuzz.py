"""Fuzz: any bytes at all through `netdwg check --type wg-quick` give diagnostics, never an exception."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netdwg.cli.check import check_path
from netdwg.errors import Diagnostic

PIECES = [b"[Interface]\n", b"[Peer]\n", b"PublicKey = 7kvBXBelMiBAzO8Pryc5S7sbbPFS4TcXGK+Mt4LFdlo=\n", b"AllowedIPs = 10.0.0.0/8, ::/0\n", b"SaveConfig = maybe\n", b"Endpoint = [::1]:5\n", b"\x00", b"\xff\xfe", b"\\\n", b"=", b"#", b"[", b"]", b" \t", b"\n"]
inputs = st.one_of(st.binary(max_size=200), st.lists(st.sampled_from(PIECES), max_size=30).map(b"".join))


@given(inputs)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_check_never_raises(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "wg0.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    result = check_path(str(path), "wg-quick")
    assert all(isinstance(d, Diagnostic) and d.span is not None for d in result.diagnostics)
    for d in result.diagnostics:
        d.format()
        assert d.span.path == str(path)
