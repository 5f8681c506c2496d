"""sysctl.d: lossless round trip, edits that keep other lines, systemd-sysctl's precedence."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netdwg.errors import ParseError, Severity
from netdwg.sysctl import (LineKind, check_sysctl, dotted_key, effective_value, normalize_key, parse_sysctl,
                           sysctl_files)

CORPUS = Path(__file__).resolve().parents[1] / "data" / "sysctl"


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.conf")), ids=lambda p: p.name)
def test_corpus_round_trips_byte_for_byte(path):
    text = path.read_text()
    assert parse_sysctl(text, str(path)).format() == text


def test_corpus_forward_file_reads_as_systemd_does():
    f = parse_sysctl((CORPUS / "10-netdwg-forward.conf").read_text())
    settings = [(n, line.normalized_key, line.value, line.ignore_failure) for n, line in f.settings()]
    assert settings == [
        (2, "net/ipv4/ip_forward", "1", False),
        (3, "net/ipv6/conf/all/forwarding", "1", False),
        (5, "net/ipv4/conf/wg0/rp_filter", "2", True),
    ]
    assert [line.kind for line in f.lines].count(LineKind.COMMENT) == 2


@pytest.mark.parametrize("text", ["", "\n", "a=1", "a=1\r\n b = 2 \r\n", "\t; c\n#x\n  \n", "a=1\rb=2\r",
                                  "-x\n", "garbage line\n", "k = v = w\n", "= 1\n", "a\0b=1"])
def test_odd_texts_round_trip(text):
    assert parse_sysctl(text).format() == text


@pytest.mark.parametrize("key,path", [
    ("net.ipv4.ip_forward", "net/ipv4/ip_forward"),
    ("net/ipv4/ip_forward", "net/ipv4/ip_forward"),
    ("net.ipv4.conf.enp3s0/200.forwarding", "net/ipv4/conf/enp3s0.200/forwarding"),
    ("net/ipv4/conf/enp3s0.200/forwarding", "net/ipv4/conf/enp3s0.200/forwarding"),
    ("/net//ipv4/ip_forward", "net/ipv4/ip_forward"),
    ("kernel", "kernel"),
])
def test_normalize_key_follows_sysctl_d_man_page(key, path):
    assert normalize_key(key) == path


def test_dotted_key_is_the_human_spelling():
    assert dotted_key("net/ipv4/conf/enp3s0.200/forwarding") == "net.ipv4.conf.enp3s0/200.forwarding"


def test_set_rewrites_only_the_value_and_keeps_every_other_byte():
    text = "# head\nnet.ipv4.ip_forward =  1   \r\n; c\n-net.ipv4.conf.wg0.rp_filter=2\nlast=x"
    edited = parse_sysctl(text).set("net/ipv4/ip_forward", "0").format()
    assert edited == "# head\nnet.ipv4.ip_forward =  0   \r\n; c\n-net.ipv4.conf.wg0.rp_filter=2\nlast=x"
    edited = parse_sysctl(text).set("net.ipv4.conf.wg0.rp_filter", "1").format()
    assert edited == text.replace("rp_filter=2", "rp_filter=1")


def test_set_of_a_new_key_appends_and_fixes_a_missing_final_newline():
    f = parse_sysctl("a = 1")
    out = f.set("net.ipv4.conf.all.send_redirects", "0").format()
    assert out == "a = 1\nnet.ipv4.conf.all.send_redirects = 0\n"
    assert parse_sysctl(out).get("net/ipv4/conf/all/send_redirects") == "0"


def test_set_changes_the_last_of_duplicate_assignments():
    out = parse_sysctl("a=1\na=2\n").set("a", "3").format()
    assert out == "a=1\na=3\n"


def test_set_rejects_line_breaks_and_bad_keys():
    f = parse_sysctl("")
    with pytest.raises(ParseError):
        f.set("a", "1\nb=2")
    with pytest.raises(ParseError):
        f.set("a = b", "1")


def test_remove_drops_only_that_key():
    text = "# keep\na=1\nb=2\n-a\n"
    assert parse_sysctl(text).remove("a").format() == "# keep\nb=2\n"


def _write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_later_file_name_wins_across_directories(tmp_path):
    _write(tmp_path, "usr/lib/sysctl.d/50-vendor.conf", "net.ipv4.ip_forward = 0\n")
    _write(tmp_path, "etc/sysctl.d/10-netdwg.conf", "net.ipv4.ip_forward = 1\n")
    _write(tmp_path, "run/sysctl.d/60-runtime.conf", "# nothing\nnet/ipv4/ip_forward=1\n")
    setting = effective_value(tmp_path, "net.ipv4.ip_forward")
    assert setting.value == "1"
    assert setting.span.path == str(tmp_path / "run/sysctl.d/60-runtime.conf") and setting.span.line == 2


def test_same_name_in_etc_masks_usr_lib(tmp_path):
    _write(tmp_path, "usr/lib/sysctl.d/50-default.conf", "net.ipv4.ip_forward = 1\nkernel.x = 7\n")
    _write(tmp_path, "etc/sysctl.d/50-default.conf", "net.ipv4.ip_forward = 0\n")
    assert effective_value(tmp_path, "net.ipv4.ip_forward").value == "0"
    assert effective_value(tmp_path, "kernel.x") is None  # the whole vendor file is masked
    assert sysctl_files(tmp_path) == (tmp_path / "etc/sysctl.d/50-default.conf",)


def test_run_masks_usr_lib_and_dev_null_symlink_masks_everything(tmp_path):
    _write(tmp_path, "usr/lib/sysctl.d/50-a.conf", "a = 1\n")
    _write(tmp_path, "run/sysctl.d/50-a.conf", "a = 2\n")
    assert effective_value(tmp_path, "a").value == "2"
    (tmp_path / "etc/sysctl.d").mkdir(parents=True)
    os.symlink("/dev/null", tmp_path / "etc/sysctl.d/50-a.conf")
    assert effective_value(tmp_path, "a") is None


def test_non_conf_files_are_ignored(tmp_path):
    _write(tmp_path, "etc/sysctl.d/README", "a = 1\n")
    _write(tmp_path, "etc/sysctl.d/50-a.conf.dpkg-old", "a = 1\n")
    assert effective_value(tmp_path, "a") is None


def test_etc_sysctl_conf_is_read_last_or_through_debian_symlink(tmp_path):
    _write(tmp_path, "etc/sysctl.conf", "net.ipv4.ip_forward=1\n")
    _write(tmp_path, "etc/sysctl.d/99-zz.conf", "net.ipv4.ip_forward=0\n")
    setting = effective_value(tmp_path, "net.ipv4.ip_forward")
    assert setting.value == "1" and setting.span.path.endswith("etc/sysctl.conf")
    # Debian: /etc/sysctl.d/99-sysctl.conf -> ../sysctl.conf puts it at its name's place.
    os.symlink("../sysctl.conf", tmp_path / "etc/sysctl.d/99-sysctl.conf")
    assert effective_value(tmp_path, "net.ipv4.ip_forward").value == "0"
    assert len(sysctl_files(tmp_path)) == 2


def test_absolute_symlink_is_followed_inside_root(tmp_path):
    _write(tmp_path, "etc/sysctl.conf", "a=5\n")
    (tmp_path / "etc/sysctl.d").mkdir()
    os.symlink("/etc/sysctl.conf", tmp_path / "etc/sysctl.d/99-sysctl.conf")
    assert effective_value(tmp_path, "a").value == "5"
    assert len(sysctl_files(tmp_path)) == 1


def test_same_value_later_keeps_the_earlier_location(tmp_path):
    # systemd 252 parse_file(): an equal value does not replace the earlier entry.
    _write(tmp_path, "etc/sysctl.d/10-a.conf", "a = 1\n")
    _write(tmp_path, "etc/sysctl.d/20-b.conf", "a=1\n")
    assert effective_value(tmp_path, "a").span.path.endswith("10-a.conf")


def test_corpus_override_file_wins(tmp_path):
    for p in CORPUS.glob("*.conf"):
        _write(tmp_path, f"etc/sysctl.d/{p.name}", p.read_text())
    setting = effective_value(tmp_path, "net/ipv4/ip_forward")
    assert (setting.value, setting.span.line) == ("0", 2)
    assert setting.span.path.endswith("99-local-override.conf")
    assert effective_value(tmp_path, "net.ipv6.conf.all.forwarding").value == "1"


def test_globs_and_exclusions(tmp_path):
    _write(tmp_path, "etc/sysctl.d/10-glob.conf",
           "net.ipv4.conf.*.rp_filter = 2\n-net.ipv4.conf.lo.rp_filter\nnet.ipv4.conf.wg0.rp_filter = 0\n")
    assert effective_value(tmp_path, "net.ipv4.conf.eth0.rp_filter").value == "2"
    assert effective_value(tmp_path, "net.ipv4.conf.wg0.rp_filter").value == "0"
    excluded = effective_value(tmp_path, "net.ipv4.conf.lo.rp_filter")
    assert excluded.value is None and excluded.span.line == 2
    # a glob never crosses '/': conf.* does not match conf.eth0.neigh.x
    assert effective_value(tmp_path, "net.ipv4.conf.eth0.x.rp_filter") is None


def test_check_reports_systemd_sysctl_problems_with_lines():
    text = "a = 1\nnot an assignment\n= 5\nb =\na = 2\n"
    found = check_sysctl(text, "/etc/sysctl.d/x.conf")
    by_line = {d.span.line: d for d in found}
    assert by_line[2].severity is Severity.ERROR and "not an assignment" in by_line[2].message
    assert by_line[3].severity is Severity.ERROR and "without a key" in by_line[3].message
    assert by_line[4].severity is Severity.WARNING
    assert by_line[5].severity is Severity.INFO and "line 1" in by_line[5].message


def test_check_is_clean_on_corpus():
    for path in CORPUS.glob("*.conf"):
        assert check_sysctl(path.read_text(), str(path), in_sysctl_dir=True) == []


def test_check_warns_about_non_conf_name_in_sysctl_d():
    found = check_sysctl("a=1\n", "/etc/sysctl.d/forward", in_sysctl_dir=True)
    assert [d.code for d in found] == ["SYS002"]


def test_a_10_mb_line_is_a_clear_error():
    text = "a = 1\n" + "x" * (10 * 1024 * 1024) + "\n"
    with pytest.raises(ParseError) as err:
        parse_sysctl(text, "big.conf")
    assert err.value.span.line == 2 and "big.conf:2" in str(err.value)
    assert [d.span.line for d in check_sysctl(text, "big.conf")] == [2]


def test_overrides_across_files_are_reported_at_the_losing_line():
    from netdwg.sysctl import check_sysctl_overrides

    files = [parse_sysctl((CORPUS / name).read_text(), f"/etc/sysctl.d/{name}")
             for name in ("99-local-override.conf", "10-netdwg-forward.conf")]  # given out of order on purpose
    (diag,) = check_sysctl_overrides(files)
    assert diag.span.path.endswith("10-netdwg-forward.conf") and diag.span.line == 2
    assert diag.severity is Severity.INFO and "99-local-override.conf:2 wins" in diag.message
