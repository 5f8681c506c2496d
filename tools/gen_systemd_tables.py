#!/usr/bin/env python3
"""Generate netdwg's networkd/udev key tables from systemd's own gperf tables.

usage: tools/gen_systemd_tables.py [--out FILE] [--since-from N] [--until N] SYSTEMD_SOURCE...

Each SYSTEMD_SOURCE is a systemd source checkout:
  - a git repository (work tree or bare): every release tag vN from --since-from
    to --until is read with `git show`; a repository without release tags (a
    mirror of the history only) is read at the release commits of RELEASE_COMMITS;
  - GIT_DIR@COMMIT: that one commit of a git repository;
  - an unpacked release tree.
The release of a commit or tree is read from its meson.version (systemd 256 on)
or the version in its meson.build, and must be a release (no "~rc", "~devel").
Three tables are read per release, the ones networkd and udevd build their
parsers from, and the list of .netdev kinds:

    src/network/networkd-network-gperf.gperf    .network
    src/network/netdev/netdev-gperf.gperf       .netdev
    src/udev/net/link-config-gperf.gperf        .link
    src/network/netdev/netdev.c                 Kind= (netdev_kind_table[])

Every "Section.Key, parser, ..." line is one key. The output (default
netdwg/unitfile/schema_data.py) records, per file kind, section and key, the
first and last release read that has it; the table of release N is every key
whose range holds N. Nothing in the output is typed by hand.

What produced the committed file (systemd 237-260; no systemd code is kept here):
    git clone --bare https://github.com/systemd/systemd.git /tmp/systemd.git
    tools/gen_systemd_tables.py --until 260 /tmp/systemd.git
A clone has the release tags; a tag-less mirror of the same history is read at
RELEASE_COMMITS (that is how the committed file was made). A release tree works
too, e.g. one exported from a commit:
    mkdir /tmp/systemd-258 && git -C /tmp/systemd.git archive 781d9d0789 \\
        meson.version src/network src/udev | tar -x -C /tmp/systemd-258
    tools/gen_systemd_tables.py --out /tmp/t.py /tmp/systemd-258
A release newer than RELEASE_COMMITS: add its commit there (the one that set
meson.version to "N"), check with `git show COMMIT:meson.version`, run again.
"""

from __future__ import annotations

import argparse
import pprint
import re
import subprocess
import sys
from pathlib import Path

GPERF = {
    "network": "src/network/networkd-network-gperf.gperf",
    "netdev": "src/network/netdev/netdev-gperf.gperf",
    "link": "src/udev/net/link-config-gperf.gperf",
}
# .netdev Kind= values: netdev_kind_table in netdev.c (networkd warns "Failed to parse netdev kind"
# for any other and then ignores the file: "NetDev has no Kind= configured").
KIND_TABLE = "src/network/netdev/netdev.c"
READ = {**GPERF, "netdev_kind": KIND_TABLE}
# Releases the issue asks tables for; the script says which of them no source had.
WANTED = (252, 255, 256, 257, 258)
_ENTRY = re.compile(r"^([A-Za-z0-9-]+)\.([A-Za-z0-9-]+)\s*,")  # SR-IOV.MACAddress, Link.SR-IOVVirtualFunctions
_TAG = re.compile(r"^v(\d+)$")
_VERSION = re.compile(r"^(\d+)(\.\d+)*$")  # 258, 257.13; not 258~rc1, 256~devel

# release -> the commit systemd tagged vN, for repositories that have the history but no tags.
# Each is the commit that finalized the release: for 256 on, the one that set meson.version to
# "N"; before, the one that gave NEWS' "CHANGES WITH N" its release date (239: the meson.build
# version bump that followed it on that day). These give the same tables as the tags v237-v256 and
# Debian's 257.13 tree did (the previous schema_data.py, in this file's git history).
RELEASE_COMMITS: dict[int, str] = {
    237: "508058c9c522a92964d439af1af28761112f51b0", 238: "c657bff1d54901ce9f366483457d81941a0ca4c9",
    239: "de7436b02badc82200dc127ff190b8155769b8e7", 240: "1742aae2aa8cd33897250d6fcfbe10928e43eb2f",
    241: "d0f7174963172932bdd860d51af009237f629b39", 242: "1e5d2d656420d0e755dbcf72aeba3c3aba54e956",
    243: "efb536d0cbe2e58f80e501d19999928c75e08f6a", 244: "8bf2a311f3665aae1ba1fe91a6acd2bf46488138",
    245: "03985d069b52bfdfced1f85efb624a9e3baa3195", 246: "ae366f3acbc1a45504e9875099b17a7e1a221d03",
    247: "d0dcf59b780288f2c990bbb589ad78a30b4dce88", 248: "9ca34cf5a4a20d48f829b2a36824255aac29078c",
    249: "f6278558da0304ec6b646bb172ce4688c7f162a5", 250: "6e6dc09544f73736f5c6846f823b0fca4520e7b8",
    251: "7f2ec323f64fa55ee0d4a5a09e36c3c875f87c88", 252: "e8dc52766e1fdb4f8c09c3ab654d1270e1090c8d",
    253: "477fdc5afed0457c43d01f3d7ace7209f81d3995", 254: "994c7978608a0bd9b317f4f74ff266dd50a3e74e",
    255: "db11bab38ccf1ed257f310d29070843d4c58ea01", 256: "5c79cdec10a547a866764a66e1e14898112a00cd",
    257: "70bae7648f2c18010187c9cf20093155eaa26029", 258: "781d9d0789379d1ea1f2ecefb804d41e9c8b6c38",
    259: "9ca433482f2281d71718718705ca8cd3bf562ad6", 260: "3e52279684a53ebf84d1d73d528bf400c5fb3497",
}


def parse_gperf(text: str) -> dict[str, set[str]]:
    """section -> keys, from the part of a gperf file after its first '%%' line."""
    out: dict[str, set[str]] = {}
    parts = re.split(r"^%%[ \t]*$", text, maxsplit=1, flags=re.MULTILINE)
    body = parts[1] if len(parts) == 2 else text
    for line in body.splitlines():
        if line.startswith("%%"):
            break  # gperf's optional third part is C code
        m = _ENTRY.match(line)
        if m:
            out.setdefault(m.group(1), set()).add(m.group(2))
        elif line.strip() and not line.lstrip().startswith(("/*", "*", "#")):
            raise ValueError(f"not a gperf entry: {line!r}")  # a new syntax: teach the script, do not guess
    return out


def parse_kind_table(text: str) -> dict[str, set[str]]:
    """{"Kind": the names of netdev_kind_table[]} from a netdev.c."""
    m = re.search(r"netdev_kind_table\[_NETDEV_KIND_MAX\]\s*=\s*\{(.*?)\};", text, re.S)
    kinds = set(re.findall(r'\[NETDEV_KIND_\w+\]\s*=\s*"([a-z0-9]+)"', m.group(1))) if m else set()
    if not kinds:
        raise ValueError(f"no netdev_kind_table[] in {KIND_TABLE}")  # moved or rewritten: teach the script
    return {"Kind": kinds}


def _parse(kind: str, text: str) -> dict[str, set[str]]:
    return parse_kind_table(text) if kind == "netdev_kind" else parse_gperf(text)


def _git(source: Path, *args: str) -> str | None:
    done = subprocess.run(["git", "-C", str(source), *args], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


Tables = dict[str, dict[str, set[str]]]  # kind -> section -> keys


def _release(where: str, meson_version: str | None, meson_build: str | None) -> tuple[int, str]:
    """(release, full version) from meson.version, else from project(..., version: '...') in meson.build."""
    full = (meson_version or "").strip()
    if not full:
        m = re.search(r"version\s*:\s*'([^']+)'", meson_build or "")
        full = m.group(1) if m else ""
    if not _VERSION.match(full):
        sys.exit(f"{where}: not a systemd release: version {full!r} (meson.version or meson.build); "
                 "name a release's tag, commit or tree")
    return int(full.split(".")[0]), full


def _read_commit(source: Path, rev: str, where: str) -> tuple[int, str, Tables] | None:
    """(release, full version, tables) of one commit; None when it lacks a file read."""
    tables = {}
    for kind, path in READ.items():
        text = _git(source, "show", f"{rev}:{path}")
        if text is None:
            return None
        tables[kind] = _parse(kind, text)
    release, full = _release(where, _git(source, "show", f"{rev}:meson.version"),
                             _git(source, "show", f"{rev}:meson.build"))
    return release, full, tables


def read_git(source: Path, since_from: int, until: int) -> dict[int, tuple[str, Tables]]:
    """release -> (where from, tables) for every release tag of a git checkout, or, in one
    without tags, for every commit of RELEASE_COMMITS."""
    out = {}
    tags = [(int(m.group(1)), tag) for tag in (_git(source, "tag", "--list", "v*") or "").split()
            if (m := _TAG.match(tag))]
    if tags:
        revs = [(n, tag, f"git tag {tag}") for n, tag in tags if since_from <= n <= until]
    else:
        revs = [(n, commit, f"git commit {commit[:10]}") for n, commit in RELEASE_COMMITS.items()
                if since_from <= n <= until and _git(source, "cat-file", "-e", f"{commit}^{{commit}}") is not None]
    for n, rev, where in revs:
        read = _read_commit(source, rev, f"{source} {where}")
        if read is None:
            continue
        release, _full, tables = read
        if release != n:
            sys.exit(f"{source} {where}: its version files say {release}, not {n}")
        out[n] = (where, tables)
    return out


def read_one_commit(source: Path, rev: str) -> dict[int, tuple[str, Tables]]:
    """The one release of GIT_DIR@COMMIT."""
    commit = (_git(source, "rev-parse", "--verify", f"{rev}^{{commit}}") or "").strip()
    if not commit:
        sys.exit(f"{source}: no commit {rev!r}")
    read = _read_commit(source, commit, f"{source}@{rev}")
    if read is None:
        sys.exit(f"{source}@{rev}: lacks one of " + ", ".join(READ.values()))
    release, _full, tables = read
    return {release: (f"git commit {commit[:10]}", tables)}


def read_tree(source: Path) -> dict[int, tuple[str, Tables]]:
    """The one release of an unpacked source tree."""
    def text(name: str) -> str | None:
        return (source / name).read_text() if (source / name).exists() else None
    release, full = _release(str(source), text("meson.version"), text("meson.build"))
    tables = {kind: _parse(kind, (source / path).read_text()) for kind, path in READ.items()}
    return {release: (f"source tree {full}", tables)}


def generate(releases: dict[int, tuple[str, dict]]) -> str:
    order = sorted(releases)
    ranges: dict[str, dict[str, dict[str, list[int]]]] = {kind: {} for kind in READ}
    for release in order:
        for kind, sections in releases[release][1].items():
            for section, keys in sections.items():
                for key in keys:
                    span = ranges[kind].setdefault(section, {}).setdefault(key, [release, release])
                    span[1] = release
    newest = order[-1]
    keys = {kind: {section: {key: (first, 0 if last == newest else last)
                             for key, (first, last) in sorted(entries.items())}
                   for section, entries in sorted(sections.items())}
            for kind, sections in ranges.items()}
    kinds = keys.pop("netdev_kind")["Kind"]
    missing = tuple(r for r in WANTED if r not in releases)
    header = f'''"""Keys and sections of .network, .netdev and .link files per systemd release.

Generated by tools/gen_systemd_tables.py from systemd's gperf tables
({", ".join(GPERF.values())}) and the .netdev kinds of
{KIND_TABLE}. Do not edit by hand: run the script again.

Releases read: {order[0]}-{newest} ({len(order)} releases).
Asked for but in no source given: {", ".join(map(str, missing)) or "none"}.
"""

# release -> where its tables were read
SOURCES: dict[int, str] = {pprint.pformat({r: releases[r][0] for r in order}, width=110, compact=True)}

RELEASES: tuple[int, ...] = {tuple(order)!r}

MISSING: tuple[int, ...] = {missing!r}

# .netdev Kind= value -> (first release read that has it, last one; 0: still in the newest)
NETDEV_KINDS: dict[str, tuple[int, int]] = {{{", ".join(f"{k!r}: {v!r}" for k, v in kinds.items())}}}

# kind -> section -> key -> (first release read that has it, last one; 0: still in the newest).
# A key present in the first release read may be older than it.
KEYS: dict[str, dict[str, dict[str, tuple[int, int]]]] = {{
'''
    lines = [header]
    for kind, sections in keys.items():
        lines.append(f"    {kind!r}: {{\n")
        for section, entries in sections.items():
            body = ", ".join(f"{k!r}: {v!r}" for k, v in entries.items())
            lines.append(f"        {section!r}: {{{body}}},\n")
        lines.append("    },\n")
    lines.append("}\n")
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="+", type=Path, metavar="SYSTEMD_SOURCE",
                        help="a systemd git checkout (its release tags are read, else RELEASE_COMMITS), "
                             "GIT_DIR@COMMIT, or an unpacked release tree")
    parser.add_argument("--since-from", type=int, default=237, metavar="N",
                        help="read tags from vN on (default 237: the first with WireGuard)")
    parser.add_argument("--until", type=int, default=0, metavar="N",
                        help="read tags and release commits up to vN (default: all)")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        default=Path(__file__).resolve().parents[1] / "netdwg" / "unitfile" / "schema_data.py")
    args = parser.parse_args(argv)
    releases: dict[int, tuple[str, dict]] = {}
    for source in args.sources:
        git_dir, at, rev = str(source).rpartition("@")
        if at and _git(Path(git_dir), "rev-parse", "--git-dir"):
            releases.update(read_one_commit(Path(git_dir), rev))
            continue
        tagged = read_git(source, args.since_from, args.until or 10**6) if _git(source, "rev-parse", "--git-dir") else {}
        releases.update(tagged or read_tree(source))
    if not releases:
        sys.exit("no systemd release found in the sources given")
    args.out.write_text(generate(releases))
    missing = [r for r in WANTED if r not in releases]
    print(f"{args.out}: releases {min(releases)}-{max(releases)}"
          + (f"; not in any source: {', '.join(map(str, missing))}" if missing else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
