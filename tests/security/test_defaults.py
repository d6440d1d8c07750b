"""With no limits given, a tree is still bounded (issue 15, item 6): memory per cage, live cages
per tree, captured output. The figures are the documented defaults (docs/security.md); a limit
given explicitly replaces its default."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conftest import build_cage  # noqa: E402

from lind_aot.api import Limits, Sandbox  # noqa: E402

PROG = r"""
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static void *volatile keep[4096];
int main(int argc, char **argv) {
    int n = 0;
    if (strcmp(argv[1], "mem") == 0) {           /* 16 MiB blocks, untouched, until refused */
        while (n < 4096 && (keep[n] = malloc(16 << 20))) n++;
        printf("%d MiB\n", n * 16);
    } else if (strcmp(argv[1], "cages") == 0) {  /* children that wait, until fork is refused */
        for (;;) {
            pid_t p = fork();
            if (p == 0) { pause(); _exit(0); }
            if (p < 0) break;
            n++;
        }
        printf("%d children\n", n);
    } else {                                     /* 80 MiB of output */
        static char buf[1 << 20];
        memset(buf, 'x', sizeof buf);
        for (int i = 0; i < 80; i++) fwrite(buf, 1, sizeof buf, stdout);
    }
    return 0;
}
"""


def _prog(tmp_path: Path) -> Path:
    src = tmp_path / "defaults.c"
    src.write_text(PROG)
    return build_cage(src)


def test_default_limits_bound_a_tree(tmp_path: Path) -> None:
    wasm = _prog(tmp_path)
    sb = Sandbox(root=tmp_path)
    r = sb.run(wasm, ["mem"], timeout=120)
    assert r.returncode == 0 and 900 <= int(r.stdout.split()[0]) <= 1024, r.stdout
    r = sb.run(wasm, ["cages"], timeout=120)
    assert r.stdout == b"255 children\n", r.stdout  # 256 live cages, the root included
    r = sb.run(wasm, ["out"], timeout=120)
    assert r.output_truncated and len(r.stdout) == 64 << 20


def test_explicit_limits_replace_the_defaults(tmp_path: Path) -> None:
    wasm = _prog(tmp_path)
    sb = Sandbox(root=tmp_path, limits=Limits(mem=2 << 30, max_cages=300), max_output=None)
    r = sb.run(wasm, ["mem"], timeout=120)
    assert int(r.stdout.split()[0]) > 1024, r.stdout
    assert sb.run(wasm, ["cages"], timeout=120).stdout == b"299 children\n"
    r = sb.run(wasm, ["out"], timeout=120)
    assert not r.output_truncated and len(r.stdout) == 80 << 20
