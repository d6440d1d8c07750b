"""The wasm32 sysroot (musl + libc/ overlay) and `lind cc`: layout, module interface, and
programs that prove the libc starts, formats, allocates and exits correctly in a cage.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lind_aot.compile import cc, sysroot

wasmtime = pytest.importorskip("wasmtime", reason="wasmtime python package is required to run the modules")

TOOLS = [sysroot.CLANG, sysroot.LLVM_AR, cc.WASM_LD, cc.WASM_OPT]
_missing = [t for t in TOOLS if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(bool(_missing), reason=f"toolchain not installed: {', '.join(_missing)}")

ASYNCIFY_EXPORTS = {
    "asyncify_start_unwind",
    "asyncify_stop_unwind",
    "asyncify_start_rewind",
    "asyncify_stop_rewind",
    "asyncify_get_state",
}


def run_cage(path: Path, argv: list[str], env: list[str] | None = None) -> tuple[int, bytes, bytes]:
    """Run a lind module in a real cage (`lind run`); return (exit code, stdout, stderr)."""
    env = ["HOME=/home/lind"] if env is None else env
    cmd = [sys.executable, "-m", "lind_aot.cli", "run", "--root", str(path.parent)]
    for e in env:
        cmd += ["--env", e]
    p = subprocess.run([*cmd, str(path), *argv[1:]], capture_output=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture(scope="session")
def built_sysroot() -> Path:
    return sysroot.build_sysroot()


def lind_cc(tmp_path: Path, source: str, *flags: str, name: str = "prog") -> Path:
    src = tmp_path / f"{name}.c"
    src.write_text(source)
    out = tmp_path / f"{name}.wasm"
    rc = cc.main([*flags, str(src), "-o", str(out)])
    assert rc == 0, f"lind cc failed for {name}"
    return out


def test_sysroot_layout(built_sysroot: Path) -> None:
    assert sysroot.is_built(built_sysroot)
    lib = built_sysroot / "lib"
    for f in ["libc.a", "crt1.o", "libm.a", "libpthread.a", "librt.a", "libdl.a", sysroot.BUILTINS_NAME]:
        assert (lib / f).is_file(), f
    for h in ["stdio.h", "bits/alltypes.h", "bits/syscall.h", "lind_syscall.h"]:
        assert (built_sysroot / "include" / h).is_file(), h
    # x86-64 numbers, not x32's (0x40000000 + n)
    assert re.search(r"^#define SYS_write\s+1$", (built_sysroot / "include/bits/syscall.h").read_text(), re.M)


def test_hello_module_interface(built_sysroot: Path, tmp_path: Path) -> None:
    wasm = lind_cc(tmp_path, '#include <stdio.h>\nint main(void){ puts("hello, world"); return 0; }\n', "-O2")
    module = wasmtime.Module.from_file(wasmtime.Engine(), str(wasm))
    assert sorted((i.module, i.name) for i in module.imports) == [("env", "memory"), ("lind", "syscall")]
    exports = {e.name for e in module.exports}
    assert {"_start", "__stack_pointer", "__tls_base", "__heap_base", "__indirect_function_table"} <= exports
    assert ASYNCIFY_EXPORTS <= exports
    assert run_cage(wasm, ["hello"]) == (0, b"hello, world\n", b"")


def test_main_with_args(built_sysroot: Path, tmp_path: Path) -> None:
    src = r"""
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    for (int i = 0; i < argc; i++) printf("[%s]", argv[i]);
    printf(" HOME=%s\n", getenv("HOME"));
    return argc;
}
"""
    wasm = lind_cc(tmp_path, src)
    # argv[0] is the program as named on the `lind run` command line
    assert run_cage(wasm, ["prog", "a b", "c"]) == (3, f"[{wasm}][a b][c] HOME=/home/lind\n".encode(), b"")


def test_libc_functions(built_sysroot: Path, tmp_path: Path) -> None:
    src = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <errno.h>
#include <fcntl.h>
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
static void bye(void) { printf("bye\n"); }
int main(void) {
    atexit(bye);
    printf("%f %Lf %e %.3g\n", 3.14159, (long double)2.5L, 12345.678, 1.0 / 3);
    int v[] = {5, 3, 9, 1, 7};
    qsort(v, 5, sizeof v[0], cmp);
    printf("%d%d%d%d%d\n", v[0], v[1], v[2], v[3], v[4]);
    printf("%.4f\n", strtod("2.5e-1", 0));
    char *big = malloc(8 << 20);
    memset(big, 7, 8 << 20);
    char *s = malloc(100);
    strcpy(s, "abc");
    strcat(s, "def");
    printf("%s %zu %d\n", s, strlen(s), big[(8 << 20) - 1]);
    free(big);
    free(s);
    printf("%.6f %.6f %.6f %.6f\n", sin(1.0), pow(2.0, 10.0), exp(1.0), log(100.0));
    time_t t = 86400 * 365;
    struct tm tm;
    gmtime_r(&t, &tm);
    printf("%d-%02d-%02d\n", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    errno = 0;
    printf("%d %d\n", open("/x", O_RDONLY), errno);
    return 5;
}
"""
    wasm = lind_cc(tmp_path, src, "-O2", "-lm")
    code, out, err = run_cage(wasm, ["prog"])
    assert err == b""
    assert code == 5
    assert out.decode().splitlines() == [
        "3.141590 2.500000 1.234568e+04 0.333",
        "13579",
        "0.2500",
        "abcdef 6 7",
        "0.841471 1024.000000 2.718282 4.605170",
        "1971-01-01",
        "-1 2",
        "bye",
    ]


def test_separate_compile_archive_and_debug_link(built_sysroot: Path, tmp_path: Path) -> None:
    (tmp_path / "foo.c").write_text("int foo(int x) { return x * 2; }\n")
    (tmp_path / "main.c").write_text("int foo(int);\nint main(void) { return foo(21); }\n")
    assert cc.main(["-c", "-fPIC", str(tmp_path / "foo.c"), "-o", str(tmp_path / "foo.o")]) == 0
    assert cc.ar_main(["rcs", str(tmp_path / "libfoo.a"), str(tmp_path / "foo.o")]) == 0
    assert cc.ranlib_main([str(tmp_path / "libfoo.a")]) == 0
    out = tmp_path / "m.wasm"
    rc = cc.main(
        ["-g", "-O0", str(tmp_path / "main.c"), f"-L{tmp_path}", "-lfoo", "-lpthread", "-o", str(out)]
    )
    assert rc == 0
    assert run_cage(out, ["m"])[0] == 42


def test_link_errors(built_sysroot: Path, tmp_path: Path) -> None:
    (tmp_path / "undef.c").write_text("int nowhere(void);\nint main(void){ return nowhere(); }\n")
    # undefined symbols are link errors
    assert cc.main([str(tmp_path / "undef.c"), "-o", str(tmp_path / "undef.wasm")]) != 0
    (tmp_path / "nomain.c").write_text("int f(void) { return 0; }\n")
    assert cc.main([str(tmp_path / "nomain.c"), "-o", str(tmp_path / "nomain.wasm")]) != 0
    assert cc.main(["-shared", str(tmp_path / "nomain.c"), "-o", str(tmp_path / "x.so")]) != 0


def test_grate_api_links(built_sysroot: Path, tmp_path: Path) -> None:
    src = r"""
#include <lind_syscall.h>
#include <errno.h>
#include <unistd.h>
int main(void) {
    /* authority: only oneself or descendants as targets, only oneself or ancestors as grates */
    if (register_handler(getpid() + 1000, 107, getpid(), 0) != -1 || errno != EPERM) return 1;
    if (register_handler(getpid(), 107, getpid() + 1000, 0) != -1 || errno != EPERM) return 3;
    if (register_handler(getpid(), 107, 500, 0) != 0) return 4; /* deregistering is always allowed */
    return make_threei_call(39, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) == getpid() ? 0 : 2;
}
"""
    wasm = lind_cc(tmp_path, src)
    assert run_cage(wasm, ["g"])[0] == 0


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
