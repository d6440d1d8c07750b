"""native/sys/syscalls.def, the one system-call table: consistent, matching the handlers native/ defines,
and docs/syscalls.md generated from its current text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lind_aot.paths import NATIVE_SRC
from lind_aot.threei import table
from lind_aot.threei.table import Status

# a handler's definition: `int64_t sys_x(struct lind_call *c)`
_DEFINED = re.compile(r"^(?:static\s+)?int64_t\s+(sys_\w+)\s*\(\s*struct lind_call\s*\*", re.M)


def _defined_handlers() -> dict[str, str]:
    found = {}
    for src in sorted(NATIVE_SRC.rglob("*.c")):
        for m in _DEFINED.finditer(src.read_text()):
            found[m[1]] = src.relative_to(NATIVE_SRC).as_posix()
    return found


def test_table_follows_its_rules():
    entries = table.load()
    assert table.problems(entries) == []
    assert all(e.nr < 1100 for e in entries)  # LIND_NCALLS


def test_every_handler_is_in_the_table_and_every_table_handler_exists():
    defined = _defined_handlers()
    listed = {e.handler for e in table.load() if e.handler}
    missing = sorted(f"{h} ({f})" for h, f in defined.items() if h not in listed)
    assert not missing, f"sys_* handlers defined in native/ but not in syscalls.def: {missing}"
    unknown = sorted(listed - defined.keys())
    assert not unknown, f"syscalls.def names handlers native/ does not define: {unknown}"


def test_only_the_table_fills_the_handler_table():
    """No registration at run time: lind_handlers is the const array syscall_table.c expands."""
    for src in NATIVE_SRC.rglob("*.[ch]"):
        text = src.read_text()
        assert not re.search(r"lind_handlers\s*\[[^]]*\]\s*=\s*[^={\s]", text), src.name
        assert "register_handlers_" not in text, src.name


def test_docs_are_current():
    doc = table.DOC_FILE
    assert doc.exists() and doc.read_text() == table.render(table.load()), (
        f"{doc} is stale: python -m lind_aot.threei.table --write")


def test_linux_names_where_the_host_knows_the_number():
    header = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
    if not header.exists():
        pytest.skip("no x86-64 kernel headers")
    linux = {int(n): name for name, n in re.findall(r"#define __NR_(\w+) (\d+)", header.read_text())}
    wrong = [(e.nr, e.name, linux[e.nr]) for e in table.load() if e.nr in linux and linux[e.nr] != e.name]
    assert not wrong


_OK = '''/* a comment
 * X(1, not, an, entry, FULL, "") */
X(0, read, sys_read, io, FULL, "")
X(58, vfork, sys_read, proc, PARTIAL, "an alias")
X(282, signalfd, NULL, signal, NOSYS, "why")
'''


def test_parser_and_checks():
    entries = table.parse(_OK)
    assert [(e.nr, e.handler, e.status) for e in entries] == [
        (0, "sys_read", Status.FULL), (58, "sys_read", Status.PARTIAL), (282, None, Status.NOSYS)]
    assert table.problems(entries) == []
    bad = table.parse(_OK + 'X(0, readx, sys_readx, io, FULL, "")\n'
                      'X(1, write, sys_write, io, STUB, "")\n'
                      'X(2, open, NULL, fs, FULL, "")\n'
                      'X(3, close, sys_shut, fd, NOSYS, "x")\n')
    found = "\n".join(table.problems(bad))
    for what in ("number 0 is listed 2 times", "comes after", "write is STUB and has no note",
                 "open: the handler is NULL exactly when", "close: the handler is NULL exactly when",
                 "handler sys_shut is not sys_<name>"):
        assert what in found
    with pytest.raises(ValueError, match="syscalls.def:2"):
        table.parse('X(0, read, sys_read, io, FULL, "")\nX(1, write, sys_write, io, MAYBE, "")\n')
