"""native/ is layered (native/README.md): base/ < kern/ < sys/ < rt/ < threei/. A file may include
only headers of its own folder and the folders below it, and no files include each other in a
circle. The #include lines are the data: this is the stand-in for a build system's dependencies."""

from __future__ import annotations

import re
import sys

from lind_aot.paths import NATIVE_SRC

LAYERS = ("base", "kern", "sys", "rt", "threei")
# the one exception, on purpose: rt/ may include sys/syscalls.h (the call numbers, LIND_NR_*)
ALLOWED_UP = {("rt", "sys/syscalls.h")}

_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def _sources() -> list[str]:
    return sorted(p.relative_to(NATIVE_SRC).as_posix() for p in NATIVE_SRC.rglob("*") if p.suffix in (".c", ".h"))


def _includes(rel: str) -> list[str]:
    """The native/ files rel includes, as paths under native/ ("kern/cage.h"); a name without a
    folder is looked up beside rel first, as the compiler does."""
    out = []
    for name in _INCLUDE.findall((NATIVE_SRC / rel).read_text()):
        here = (NATIVE_SRC / rel).parent / name
        if "/" not in name and here.exists():
            out.append(here.relative_to(NATIVE_SRC).as_posix())
        elif (NATIVE_SRC / name).exists():
            out.append(name)
    return out


def _layer(rel: str) -> str:
    return rel.split("/")[0] if "/" in rel else ""


def test_every_file_is_in_a_layer():
    assert [f for f in _sources() if _layer(f) not in LAYERS] == []


def test_no_file_includes_a_layer_above_its_own():
    upward = []
    for f in _sources():
        mine = LAYERS.index(_layer(f))
        for inc in _includes(f):
            if inc.endswith(".def"):
                continue
            if LAYERS.index(_layer(inc)) > mine and (_layer(f), inc) not in ALLOWED_UP:
                upward.append(f"{f} includes {inc}")
    assert upward == []


def test_no_files_include_each_other_in_a_circle():
    graph = {f: [i for i in _includes(f) if not i.endswith(".def")] for f in _sources()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    circles = []

    def visit(f: str, path: list[str]) -> None:
        state[f] = 1
        for g in graph.get(f, []):
            if state.get(g) == 1:
                circles.append(" -> ".join(path[path.index(g):] + [g]))
            elif g not in state:
                visit(g, path + [g])
        state[f] = 2

    for f in graph:
        if f not in state:
            visit(f, [f])
    assert circles == []


def test_the_checks_see_an_upward_include_and_a_circle(tmp_path, monkeypatch):
    """The checks above are not vacuous: a kern/ file including rt/, and two headers including
    each other, are found."""
    for layer in ("kern", "rt"):
        (tmp_path / layer).mkdir()
    (tmp_path / "rt" / "x.h").write_text("")
    (tmp_path / "kern" / "y.c").write_text('#include "rt/x.h"\n')
    (tmp_path / "kern" / "a.h").write_text('#include "kern/b.h"\n')
    (tmp_path / "kern" / "b.h").write_text('#include "a.h"\n')
    monkeypatch.setattr(sys.modules[__name__], "NATIVE_SRC", tmp_path)
    assert _includes("kern/y.c") == ["rt/x.h"]
    for check, found in ((test_no_file_includes_a_layer_above_its_own, "kern/y.c includes rt/x.h"),
                         (test_no_files_include_each_other_in_a_circle, "kern/b.h -> kern/a.h")):
        try:
            check()
        except AssertionError as e:
            assert found in str(e)
        else:
            raise AssertionError(f"{check.__name__} noticed nothing")
