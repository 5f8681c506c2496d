"""Man pages: the rst sources turn into roff that man renders cleanly, and they
keep up with the code (every CLI verb, every topology key is documented)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = sorted((REPO / "docs" / "man").glob("*.rst"))
RST2MAN = shutil.which("rst2man", path="/usr/bin:/bin") or shutil.which("rst2man.py")


def _roff(page: Path) -> str:
    proc = subprocess.run([RST2MAN, "--strict", str(page)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_three_pages_exist():
    assert {p.name for p in PAGES} == {"netdwg.8.rst", "netdwg-guard.8.rst", "netdwg.conf.5.rst"}


@pytest.mark.skipif(RST2MAN is None, reason="needs rst2man (python3-docutils)")
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_renders_without_warnings(page, tmp_path):
    name, section = page.name.removesuffix(".rst").rsplit(".", 1)
    roff = _roff(page)
    assert re.search(rf'^\.TH "?{re.escape(name.upper())}"? "?{section}"?', roff, re.M), roff[:400]
    out = tmp_path / page.name.removesuffix(".rst")
    out.write_text(roff)
    if shutil.which("man") is None:
        pytest.skip("man not installed")
    proc = subprocess.run(["man", "--warnings=w", "-l", str(out)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "MANWIDTH": "80", "MAN_KEEP_FORMATTING": "0"})
    assert proc.returncode == 0
    assert proc.stderr == "", proc.stderr
    text = re.sub(r".\x08", "", proc.stdout)  # man's overstrike bold/underline
    for heading in ("NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"):
        assert re.search(rf"^{heading}$", text, re.M), f"{page.name}: no {heading} section"


def test_netdwg_8_documents_every_verb(cli_verbs):
    text = (REPO / "docs" / "man" / "netdwg.8.rst").read_text()
    missing = [verb for verb in cli_verbs if not re.search(rf"^\*\*{re.escape(verb)}[* ]", text, re.M)]
    assert missing == [], f"verbs without an entry in netdwg.8.rst COMMANDS: {missing}"


def _long_options(parser, path=()):
    """(command path, --option) for every long option of every verb and sub-verb."""
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield from _long_options(sub, (*path, name))
        else:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help":
                    yield path, option


def test_man_pages_document_every_long_option():
    from netdwg.cli import build_parser

    text = "".join((REPO / "docs" / "man" / name).read_text() for name in ("netdwg.8.rst", "netdwg-guard.8.rst"))
    missing = sorted({f"{' '.join(path)} {option}" for path, option in _long_options(build_parser())
                      if f"**{option}**" not in text})
    assert missing == [], f"options not in netdwg(8) or netdwg-guard(8): {missing}"


def test_netdwg_conf_5_lists_every_lint_code():
    import netdwg.lint

    codes = set(re.findall(r"NDW\d{3}", netdwg.lint.__doc__ or ""))
    text = (REPO / "docs" / "man" / "netdwg.conf.5.rst").read_text()
    assert codes, "netdwg.lint documents no codes"
    missing = sorted(code for code in codes if f"**{code}**" not in text)
    assert missing == [], f"lint codes not explained in netdwg.conf.5.rst: {missing}"


def test_netdwg_conf_5_documents_every_topology_key():
    from netdwg.topology.spec import KNOWN_KEYS

    text = (REPO / "docs" / "man" / "netdwg.conf.5.rst").read_text()
    missing = [f"{kind}.{key}" for kind, keys in KNOWN_KEYS.items() for key in keys
               if f"**{key}**" not in text]
    assert missing == [], f"topology keys not in netdwg.conf.5.rst: {missing}"


def test_versions_match_the_package():
    from netdwg import __version__

    for page in PAGES:
        assert f":Version: {__version__}" in page.read_text(), page.name


if __name__ == "__main__":  # pragma: no cover - a helper: print the roff of one page
    sys.stdout.write(_roff(Path(sys.argv[1])))
