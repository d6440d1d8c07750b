"""The system-call table, native/sys/syscalls.def, as typed entries, and docs/syscalls.md rendered from it.

Each entry line of the .def is `X(nr, name, handler, family, status, note)` (the file's header says
what the fields mean); this module reads it with one regular expression per line and checks the
rules C cannot check. After editing the .def, regenerate the reference:

    python -m lind_aot.threei.table --write     (--check: exit 1 if docs/syscalls.md is stale)
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from lind_aot.paths import NATIVE_SRC, REPO_ROOT

DEF_FILE = NATIVE_SRC / "sys" / "syscalls.def"
DOC_FILE = REPO_ROOT / "docs" / "syscalls.md"


class Status(StrEnum):
    FULL = "FULL"        # as on Linux (a note says where the cage's own view differs)
    PARTIAL = "PARTIAL"  # the note says what is missing
    STUB = "STUB"        # a fixed answer
    NOSYS = "NOSYS"      # ENOSYS on purpose, the note says why


@dataclass(frozen=True)
class Entry:
    nr: int
    name: str
    handler: str | None  # None: NOSYS, no handler
    family: str
    status: Status
    note: str
    line: int            # in the .def, for messages


_ENTRY = re.compile(
    r'X\(\s*(?P<nr>\d+)\s*,\s*(?P<name>[a-z_][a-z0-9_]*)\s*,\s*(?P<handler>\w+)\s*,\s*(?P<family>[a-z0-9_]+)\s*,'
    r'\s*(?P<status>FULL|PARTIAL|STUB|NOSYS)\s*,\s*"(?P<note>[^"\\]*)"\s*\)'
)
_COMMENT = re.compile(r"\s*(/\*|\*|//|$)")  # blank lines and the lines of C comments


def parse(text: str) -> list[Entry]:
    """The entries of a .def text, in file order; ValueError names the first line that is neither
    an entry nor a comment."""
    entries = []
    for i, line in enumerate(text.splitlines(), 1):
        m = _ENTRY.fullmatch(line.strip())
        if m:
            handler = m["handler"]
            entries.append(Entry(int(m["nr"]), m["name"], None if handler == "NULL" else handler, m["family"],
                                 Status(m["status"]), m["note"], i))
        elif not _COMMENT.match(line):
            raise ValueError(f"syscalls.def:{i}: not an X(nr, name, handler, family, status, \"note\") entry: {line!r}")
    return entries


def load(path: Path = DEF_FILE) -> list[Entry]:
    return parse(path.read_text())


def problems(entries: list[Entry]) -> list[str]:
    """What breaks the table's rules: numbers or names listed twice, entries out of order, a note
    missing (only FULL may have none), a handler for NOSYS or none for the others, and a handler
    that is not sys_<name> of some entry (an alias points at the handler of the call it copies)."""
    out = []
    for what, key in (("number", lambda e: e.nr), ("name", lambda e: e.name)):
        for k, n in Counter(map(key, entries)).items():
            if n > 1:
                out.append(f"{what} {k} is listed {n} times")
    for a, b in zip(entries, entries[1:], strict=False):
        if b.nr < a.nr:
            out.append(f"line {b.line}: {b.name} ({b.nr}) comes after {a.name} ({a.nr})")
    names = {e.name for e in entries}
    for e in entries:
        if not e.note and e.status is not Status.FULL:
            out.append(f"line {e.line}: {e.name} is {e.status} and has no note")
        if (e.handler is None) != (e.status is Status.NOSYS):
            out.append(f"line {e.line}: {e.name}: the handler is NULL exactly when the status is NOSYS")
        if e.handler is not None and not (e.handler.startswith("sys_") and e.handler[4:] in names):
            out.append(f"line {e.line}: {e.name}: handler {e.handler} is not sys_<name> of a listed call")
    return out


_INTRO = """\
# System calls

The system calls a cage can make, generated from [`native/sys/syscalls.def`](../native/sys/syscalls.def) by
`python -m lind_aot.threei.table --write` (do not edit by hand; `tests/test_syscall_table.py` fails
when this file is stale). Numbers and names are Linux x86-64's (`syscall_64.tbl`); the lind calls
from 1001 on are described in [abi.md](abi.md).

| status | meaning |
|---|---|
| FULL | as on Linux; a note says where the cage has its own view |
| PARTIAL | works, with what is missing in the note |
| STUB | a fixed answer, described in the note |
| NOSYS | ENOSYS on purpose, the note says why |

A number that is not listed answers ENOSYS. A grate can interpose on any number below 1100, listed
or not (3i: `register_handler`).
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(entries: list[Entry]) -> str:
    counts = Counter(e.status for e in entries)
    out = [_INTRO]
    summary = ", ".join(f"{counts[s]} {s}" for s in Status)
    out.append(f"{len(entries)} calls: {summary}.\n")
    per_family = Counter(e.family for e in entries)
    families = sorted(per_family)
    out.append("Families: " + ", ".join(f"[{f}](#{f}) ({per_family[f]})" for f in families) + ".\n")
    for family in families:
        out.append(f"## {family}\n")
        out.append("| nr | name | status | note |")
        out.append("|---:|---|---|---|")
        for e in sorted((e for e in entries if e.family == family), key=lambda e: e.nr):
            out.append(f"| {e.nr} | `{e.name}` | {e.status} | {_cell(e.note)} |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lind_aot.threei.table", description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help=f"write {DOC_FILE.relative_to(REPO_ROOT)}")
    mode.add_argument("--check", action="store_true", help="exit 1 if it is stale")
    args = ap.parse_args(argv)
    entries = load()
    bad = problems(entries)
    if bad:
        print("\n".join(f"syscalls.def: {p}" for p in bad), file=sys.stderr)
        return 1
    text = render(entries)
    if args.write:
        DOC_FILE.write_text(text)
    elif args.check:
        if not DOC_FILE.exists() or DOC_FILE.read_text() != text:
            print(f"{DOC_FILE} is stale: python -m lind_aot.threei.table --write", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
