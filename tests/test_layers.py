"""native/ is layered (native/README.md): base/ < kern/ < sys/ < rt/ < threei/. A file may include
only headers of its own folder and the folders below it, and no files include each other in a
circle: the #include lines are the stand-in for a build system's dependencies. The calls are checked
too, from the symbols each compiled file defines and uses (nm): no file uses a symbol of a layer
above its own, and no files call each other in a circle (a circle of calls needs no circle of
includes: two .c files may include each other's headers)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

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


def _circles(graph: dict[str, list[str]]) -> list[str]:
    """Every circle found by a depth-first walk of graph, as "a -> b -> a"."""
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
    return circles


def _symbols() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """For each native/ .c file: the symbols its object defines, and those it uses from elsewhere."""
    srcs = [f for f in _sources() if f.endswith(".c")]
    tmp = tempfile.mkdtemp(prefix="lind-layers-")

    def nm(rel: str) -> tuple[str, str]:
        obj = os.path.join(tmp, rel.replace("/", "_") + ".o")
        subprocess.run(["gcc", "-O0", "-fPIC", "-std=gnu11", "-D_GNU_SOURCE", f"-I{NATIVE_SRC}", "-c",
                        str(NATIVE_SRC / rel), "-o", obj], check=True, capture_output=True)
        return rel, subprocess.run(["nm", obj], check=True, capture_output=True, text=True).stdout

    try:
        with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
            listings = dict(pool.map(nm, srcs))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    defined: dict[str, set[str]] = {}
    used: dict[str, set[str]] = {}
    for rel, text in listings.items():
        rows = [line.split() for line in text.splitlines()]
        defined[rel] = {r[2] for r in rows if len(r) == 3 and r[1] in "TDBRVW"}
        used[rel] = {r[1] for r in rows if len(r) == 2 and r[0] == "U"}
    return defined, used


def test_no_file_calls_a_layer_above_its_own_and_no_files_call_each_other_in_a_circle():
    if not shutil.which("gcc") or not shutil.which("nm"):
        import pytest

        pytest.skip("needs gcc and nm")
    defined, used = _symbols()
    owner = {sym: f for f, syms in defined.items() for sym in syms}
    upward, graph = [], {}
    for f, syms in used.items():
        callees = {owner[s] for s in syms if s in owner and owner[s] != f}
        graph[f] = sorted(callees)
        mine = LAYERS.index(_layer(f))
        upward += [f"{f} uses {s} of {owner[s]}" for s in sorted(syms)
                   if s in owner and LAYERS.index(_layer(owner[s])) > mine]
    assert upward == []
    assert _circles(graph) == []


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
    assert _circles(graph) == []


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
