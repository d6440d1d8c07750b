"""Which calls of a live cage go where: its 3i table read from the data plane, for debugging.

    from lind_aot.threei import routes
    routes.cage_table(pid)    # {"geteuid": (grate pid, handler), ...}: the calls a grate answers
    routes.tree_tables(root)  # {pid: that table} for every live cage of the tree started as root

A call missing from a table goes to the microvisor. The handler is the function-table index in the
grate (what it passed to register_handler). Names come from native/sys/syscalls.def (table.py);
a number it does not list shows as "#<nr>".
"""

from __future__ import annotations

import ctypes
from functools import cache

from lind_aot.threei import table

ESRCH = 3


class _Route(ctypes.Structure):
    """native/kern/grate.h: struct lind_route."""

    _fields_ = [("nr", ctypes.c_uint32), ("grate", ctypes.c_int32), ("handler", ctypes.c_uint64)]


@cache
def _names() -> dict[int, str]:
    return {e.nr: e.name for e in table.load()}


def _lib() -> ctypes.CDLL:
    from lind_aot.vmm.cage import microvisor

    return microvisor().lib


def call_name(nr: int) -> str:
    return _names().get(nr, f"#{nr}")


def cage_table(pid: int) -> dict[str, tuple[int, int]]:
    """The calls of live cage pid that a grate answers: name -> (grate pid, handler). ProcessLookupError
    if there is no such live cage."""
    lib = _lib()
    cap = 64
    while True:
        out = (_Route * cap)()
        n = int(lib.lind_cage_table(pid, out, cap))
        if n == -ESRCH:
            raise ProcessLookupError(f"no live cage {pid}")
        if n <= cap:
            return {call_name(r.nr): (int(r.grate), int(r.handler)) for r in out[:n]}
        cap = n


def tree_pids(root: int) -> list[int]:
    """The pids of the live cages of the tree started as root (empty once it has ended)."""
    lib = _lib()
    cap = 64
    while True:
        out = (ctypes.c_int32 * cap)()
        n = int(lib.lind_tree_cages(root, out, cap))
        if n < 0:
            return []
        if n <= cap:
            return sorted(out[:n])
        cap = n


def tree_tables(root: int) -> dict[int, dict[str, tuple[int, int]]]:
    """cage_table of every live cage of the tree started as root (cages that end meanwhile are left
    out)."""
    tables = {}
    for pid in tree_pids(root):
        try:
            tables[pid] = cage_table(pid)
        except ProcessLookupError:
            pass
    return tables
