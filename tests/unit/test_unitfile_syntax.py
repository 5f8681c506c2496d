"""The lossless parser: byte-for-byte round trip, systemd's reading of each line, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from netdwg.errors import ParseError
from netdwg.unitfile import Assignment, Blank, Comment, Invalid, UnitBuilder, format_unit, load_unit, parse_unit
from netdwg.unitfile.syntax import LONG_LINE_MAX, ends_inside_continuation

CORPUS = Path(__file__).resolve().parents[1] / "data" / "networkd"
CORPUS_FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file())


def test_the_corpus_is_there():
    names = {p.name for p in CORPUS_FILES}
    assert {"30-relay-wg.netdev", "50-contractor.conf", "50-laptop-lan.network"} <= names


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_round_trips_byte_for_byte(path):
    data = path.read_bytes()
    unit = load_unit(path)
    assert unit.format().encode("utf-8") == data
    # and the same file with CRLF line endings, and without its final newline
    crlf = data.decode().replace("\n", "\r\n")
    assert parse_unit(crlf).format() == crlf
    cut = data.decode().rstrip("\n")
    assert parse_unit(cut).format() == cut


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_crlf_changes_no_key_or_value(path):
    text = path.read_text()
    lf = parse_unit(text)
    crlf = parse_unit(text.replace("\n", "\r\n"))
    pairs = lambda u: [(s.name, [(a.key, a.value) for a in s.assignments()]) for s in u.sections]  # noqa: E731
    assert pairs(lf) == pairs(crlf)


EVERYTHING = (
    "# leading comment\n"
    "; semicolon comment\n"
    "\n"
    "[NetDev]\n"
    "Name = wg0\n"
    "  Kind=wireguard   \n"
    "\t# indented comment\n"
    "[WireGuardPeer]\n"
    "PublicKey=AAAA\n"
    "AllowedIPs=10.0.0.1/32\n"
    "AllowedIPs=\n"
    "AllowedIPs=10.0.0.2/32 \\\n"
    "# a comment inside a continuation is skipped by systemd\n"
    "   fd00::2/128\n"
    "[WireGuardPeer]\n"
    "PublicKey=BBBB\n"
    "Endpoint=[2001:db8::1]:51820"  # no trailing newline
)


def test_everything_systemd_accepts_round_trips():
    unit = parse_unit(EVERYTHING)
    assert format_unit(unit) == EVERYTHING
    assert [s.name for s in unit.sections] == ["NetDev", "WireGuardPeer", "WireGuardPeer"]
    assert [type(e) for e in unit.preamble] == [Comment, Comment, Blank]


def test_values_are_what_systemd_hands_the_key_parser():
    unit = parse_unit(EVERYTHING)
    netdev, peer1, peer2 = unit.sections
    assert [(a.key, a.value) for a in netdev.assignments()] == [("Name", "wg0"), ("Kind", "wireguard")]
    allowed = [a.value for a in peer1.assignments("AllowedIPs")]
    # continuation: backslash -> space, next line appended as is, comment line skipped, stripped
    assert allowed == ["10.0.0.1/32", "", "10.0.0.2/32     fd00::2/128"]
    continued = list(peer1.assignments("AllowedIPs"))[-1]
    assert continued.nlines == 3
    assert peer2.last("Endpoint").value == "[2001:db8::1]:51820"


def test_line_numbers_follow_the_file():
    unit = parse_unit(EVERYTHING)
    where = {(node.key if isinstance(node, Assignment) else getattr(node, "name", None)): line
             for line, _sec, node in unit.walk() if isinstance(node, Assignment)}
    assert where["Name"] == 5 and where["Kind"] == 6
    assert unit.section_lines() == [4, 8, 15]


def test_escaped_backslash_is_not_a_continuation():
    unit = parse_unit("[Network]\nDescription=ends with \\\\\nDNS=192.0.2.1\n")
    (section,) = unit.sections
    assert [(a.key, a.value) for a in section.assignments()] == [
        ("Description", "ends with \\\\"), ("DNS", "192.0.2.1")]


def test_lines_systemd_ignores_are_kept_as_invalid():
    text = "Name=before-any-section\n[Network]\njust some words\n=value\nDNS=192.0.2.1\n"
    unit = parse_unit(text)
    assert unit.format() == text
    assert isinstance(unit.preamble[0], Invalid)
    assert unit.preamble[0].reason == "Assignment outside of section. Ignoring."
    reasons = [e.reason for e in unit.sections[0].entries if isinstance(e, Invalid)]
    assert reasons == ["Missing '=', ignoring line.", "Missing key name before '=', ignoring line."]


def test_repeated_sections_and_keys_stay_separate_and_in_order():
    text = "[Network]\nAddress=10.0.0.1/24\n[Network]\nAddress=10.0.0.2/24\nAddress=10.0.0.3/24\n"
    unit = parse_unit(text)
    assert [len(list(s.assignments("Address"))) for s in unit.sections_named("Network")] == [1, 2]


def test_bom_and_lone_cr_round_trip():
    for text in ("\ufeff[Match]\nName=eth0\n", "[Match]\rName=eth0\r", "[Match]\n\rName=eth0\n"):
        unit = parse_unit(text)
        assert unit.format() == text
        assert unit.sections[0].last("Name").value == "eth0"


def test_bytes_in_bytes_out():
    assert parse_unit(b"[Match]\nName=eth0\n").format() == "[Match]\nName=eth0\n"


# -- bad input: a clear ParseError naming file and line, never a traceback of another type
def test_binary_file_with_nul_names_the_line():
    with pytest.raises(ParseError) as err:
        parse_unit(b"[Match]\nName=eth0\n\x00\x01\x02garbage", "/etc/systemd/network/x.network")
    assert err.value.span.path == "/etc/systemd/network/x.network" and err.value.span.line == 3
    assert "binary" in str(err.value)


def test_invalid_utf8_names_the_line():
    with pytest.raises(ParseError) as err:
        parse_unit(b"[Match]\nName=eth0\nDescription=\xff\xfe\n", "x.network")
    assert err.value.span.line == 3 and "UTF-8" in err.value.message


def test_a_ten_megabyte_line_is_refused_with_its_line():
    text = "[Network]\nDescription=" + "x" * (10 * 1024 * 1024) + "\nDNS=192.0.2.1\n"
    with pytest.raises(ParseError) as err:
        parse_unit(text, "big.network")
    assert err.value.span.line == 2 and "too long" in err.value.message


def test_a_long_line_under_the_limit_is_fine():
    text = "[Network]\nDescription=" + "x" * (LONG_LINE_MAX - 100) + "\n"
    assert parse_unit(text).format() == text


@pytest.mark.parametrize("text,line", [
    ("[NetDev]\nName=wg0\n[WireGuardPe", 3),          # cut inside a section header
    ("[NetDev]\nName=wg0\n[WireGuardPeer\nPublicKey=x\n", 3),
])
def test_truncated_section_header_is_an_error(text, line):
    with pytest.raises(ParseError) as err:
        parse_unit(text, "t.netdev")
    assert err.value.span.line == line and "section header" in err.value.message and err.value.fix


def test_bad_characters_in_section_name_are_an_error():
    with pytest.raises(ParseError):
        parse_unit('[Net"work]\nDNS=1.1.1.1\n')


def test_file_cut_inside_a_continuation_is_accepted_and_flagged():
    text = "[WireGuardPeer]\nPublicKey=AAAA\nAllowedIPs=10.0.0.1/32 \\"
    unit = parse_unit(text)
    assert unit.format() == text
    assert ends_inside_continuation(unit)
    assert unit.sections[0].last("AllowedIPs").value == "10.0.0.1/32"
    assert not ends_inside_continuation(parse_unit("[Match]\nName=a\n"))


def test_builder_output_reads_back_identically():
    unit = (UnitBuilder("x.netdev").comment("Managed by netdwg")
            .add_section("NetDev").append("Name", "wg0").append("Kind", "wireguard")
            .add_section("WireGuardPeer", comment="peer oslo").append("AllowedIPs", ["10.0.0.1/32", "fd00::1/128"])
            .append("PersistentKeepalive", 25).append("RouteTable", "off")
            .build())
    text = unit.format()
    assert text == ("# Managed by netdwg\n\n[NetDev]\nName=wg0\nKind=wireguard\n\n# peer oslo\n[WireGuardPeer]\n"
                    "AllowedIPs=10.0.0.1/32,fd00::1/128\nPersistentKeepalive=25\nRouteTable=off\n")
    assert parse_unit(text, "x.netdev") == unit


@pytest.mark.parametrize("value", ["two\nlines", " padded", "ends in backslash\\", "x\x00"])
def test_builder_refuses_values_systemd_would_read_differently(value):
    with pytest.raises(ValueError):
        UnitBuilder().add_section("Network").append("Description", value)


def test_builder_needs_a_section_first():
    with pytest.raises(ValueError):
        UnitBuilder().append("Name", "wg0")


def test_the_line_limit_counts_bytes_like_systemd():
    text = "[Network]\nDescription=" + "é" * 600_000 + "\n"  # 600,000 characters, 1.2 MB of UTF-8
    with pytest.raises(ParseError) as err:
        parse_unit(text)
    assert err.value.span.line == 2
