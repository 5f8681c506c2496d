"""Lint is pure: it reads no file and stats none. The import contract "lint-reads-nothing"
(pyproject.toml) keeps os and pathlib out of netdwg.lint; this keeps out the calls that would read
through a path object handed in (Path.read_text, .stat, .exists, ...) or through the open() builtin."""

from __future__ import annotations

import ast
from pathlib import Path

import netdwg.lint

# the package netdwg runs with: the source tree's, or the installed one (make deb-test)
LINT = Path(netdwg.lint.__file__).parent
READERS = {"open", "read_text", "read_bytes", "stat", "lstat", "exists", "is_file", "is_dir", "is_symlink",
           "iterdir", "glob", "rglob", "readlink", "resolve", "listdir", "scandir", "walk", "access"}


def reads_in(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name in READERS:
                found.append(f"{path.name}:{node.lineno}: {name}()")
    return found


def test_lint_modules_call_no_file_reader():
    modules = sorted(LINT.glob("*.py"))
    assert len(modules) > 3
    assert [hit for module in modules for hit in reads_in(module)] == []


def test_the_scan_finds_a_reader(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f(p):\n    return p.read_text() + open(p).read()\n")
    assert reads_in(sample) == ["sample.py:2: read_text()", "sample.py:2: open()"]
