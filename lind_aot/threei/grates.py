"""Stacks of grates: a program run below one or more grates, each given like the program itself, as
a host file (`lind run --grate G1 --grate G2 prog.wasm`, `Sandbox(grates=[G1, G2])`).

Order: a stack is listed **outermost first**, as the grates start: G1 starts first and runs G2,
which runs the program. So the last grate listed sits closest to the program: the program's calls
reach G2 first, then (those G2 passes on) G1, then the microvisor. This is the order of the
hand-nested command `lind run G1.wasm G2.wasm prog.wasm` and of grates/README.md ("each one runs
the next"); with `--grate strace.wasm --grate imfs.wasm`, strace sees only what imfs passes on,
and with `--grate imfs.wasm --grate strace.wasm` it sees every call of the program.

A grate comes with its own options: `"strace.wasm --out /t.txt"` (split as a shell would) or
`["strace.wasm", "--out", "/t.txt"]`.

How it runs: the tree's root cage runs G1 with argv `[G1, *G1 options, G2, *G2 options, program,
*argv]`, and each grate execs what follows its own options (grates/grate.h: grate_run). The files
need not be inside the root: the tree is given G2..Gn and the program under exactly the names of
that argv (native/kern/tree.c, tree_add_program), and an exec of one of these names in the tree
runs that program (native/sys/sys_lifecycle.c). The program sees the argv it gets without grates.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

GrateSpec = str | os.PathLike[str] | Sequence[str]
"""A grate: its host path, a string "path [options]" split as a shell would, or [path, *options]."""


class Grate:
    """One grate of a stack: the host .wasm file and the options it is run with."""

    def __init__(self, path: str | os.PathLike[str], args: Sequence[str] = ()) -> None:
        self.path = os.fspath(path)
        self.args = [str(a) for a in args]

    @classmethod
    def of(cls, spec: GrateSpec | Grate) -> Grate:
        if isinstance(spec, Grate):
            return spec
        if isinstance(spec, os.PathLike):
            return cls(spec)
        if isinstance(spec, str):
            words = shlex.split(spec)
            if not words:
                raise ValueError("a grate needs a path")
            return cls(words[0], words[1:])
        words = [str(w) for w in spec]
        if not words:
            raise ValueError("a grate needs a path")
        return cls(words[0], words[1:])

    def __repr__(self) -> str:
        return f"Grate({self.path!r}, {self.args!r})"


class Stack:
    """A program below grates (outermost first): what the tree's root cage runs and with what argv,
    and the programs the tree is given by name."""

    def __init__(self, grates: Sequence[GrateSpec | Grate], program: str | os.PathLike[str],
                 argv: Sequence[str] = ()) -> None:
        self.grates = [Grate.of(g) for g in grates]
        self.program = os.fspath(program)
        self.args = [str(a) for a in argv]

    @property
    def top(self) -> str:
        """The host path the root cage runs: the outermost grate (the program without grates)."""
        return self.grates[0].path if self.grates else self.program

    @property
    def argv(self) -> list[str]:
        """The root cage's argv: each grate with its options, then the program and its arguments."""
        out: list[str] = []
        for g in self.grates:
            out += [g.path, *g.args]
        return [*out, self.program, *self.args]

    @property
    def below(self) -> dict[str, str]:
        """The programs an exec in the tree finds by name (name -> host path): every grate but the
        outermost, and the program."""
        if not self.grates:
            return {}
        return {g.path: g.path for g in self.grates[1:]} | {self.program: self.program}


def stack(grates: Sequence[GrateSpec | Grate] | None, program: str | os.PathLike[str],
          argv: Sequence[str] = ()) -> Stack:
    """The stack that runs program with argv below grates (none: the program alone)."""
    return Stack(list(grates or ()), program, argv)


def programs(st: Stack, load: Callable[[str], T]) -> tuple[T, dict[str, T]]:
    """The loaded program of the root cage (the outermost grate) and those the tree is given by name,
    each loaded once with load(host path)."""
    loaded: dict[str, T] = {}

    def get(path: str) -> T:
        if path not in loaded:
            loaded[path] = load(path)
        return loaded[path]

    top = get(st.top)
    return top, {name: get(path) for name, path in st.below.items()}
