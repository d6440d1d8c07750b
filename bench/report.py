"""What every bench script shares: its table in markdown and its entry in bench/RESULTS.md."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def utc_stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"


def publish(title: str, command: str, header: Sequence[str], rows: Sequence[Sequence[str]], note: str = "") -> None:
    """A script's one table: printed, and appended to RESULTS.md (see append_results)."""
    table = markdown_table(header, rows)
    print(table)
    append_results(title, command, table, note)


def append_results(title: str, command: str, body: str, note: str = "") -> None:
    """Appends a section to RESULTS.md: when, what, the command that produced it, the machine,
    an optional note on how it was measured, then the body (tables)."""
    with open(RESULTS, "a") as f:
        f.write(f"\n## {utc_stamp()} ({title})\n\nCommand: `{command}`. Machine: {machine()}."
                f"{' ' + note if note else ''}\n\n{body.rstrip()}\n")
