"""The wasm32 sysroot (musl + libc/ overlay) and `lind cc`, checked without the lind host.

Programs are built with `lind cc` and run under wasmtime with a tiny stand-in for the `lind.syscall`
import (write/writev, brk/mmap, the 1010/1011 argument calls, exit_group; ENOSYS otherwise), which is
enough to prove the libc starts, formats, allocates and exits correctly.
"""

from __future__ import annotations

import re
import shutil
import struct
import sys
from pathlib import Path
from typing import Any

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


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def run_cage(path: Path, argv: list[str], env: list[str] | None = None) -> tuple[int, bytes, bytes]:
    """Run a lind module with a minimal syscall stub; return (exit code, stdout, stderr)."""
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module.from_file(engine, str(path))
    env = ["HOME=/home/lind"] if env is None else env
    out = {1: bytearray(), 2: bytearray()}
    state: dict[str, int] = {}

    strings = bytearray()
    offs: list[int] = []
    for s in [*argv, *env]:
        offs.append(len(strings))
        strings += s.encode() + b"\0"
    rand = len(strings)
    strings += bytes(range(16))
    aux = [6, 4096, 25, -1, 11, 0, 12, 0, 13, 0, 14, 0, 23, 0, 0, 0]
    nvec = len(argv) + 1 + len(env) + 1 + len(aux)

    def syscall(caller: Any, nr: int, *a: int) -> int:
        mem = caller["memory"]
        args = a[2::2]  # a1..a6 (the cage words are ignored)

        def grow_to(end: int) -> None:
            cur = mem.data_len(caller)
            if end > cur:
                mem.grow(caller, (end - cur + 65535) // 65536)

        if nr == 1010:
            mem.write(caller, struct.pack("<4I", len(argv), len(env), len(strings), nvec), args[0])
            return 0
        if nr == 1011:
            vec, base = args[0], args[1]
            ptrs = [base + o for o in offs]
            words = [*ptrs[: len(argv)], 0, *ptrs[len(argv) :], 0]
            words += [base + rand if w == -1 else w for w in aux]
            mem.write(caller, struct.pack(f"<{len(words)}I", *words), vec)
            mem.write(caller, bytes(strings), base)
            return 0
        if nr == 1 and args[0] in out:  # write
            data = bytes(mem.read(caller, args[1], args[1] + args[2]))
            out[args[0]] += data
            return len(data)
        if nr == 20 and args[0] in out:  # writev, ILP32 iovec
            total = 0
            for i in range(args[2]):
                b, n = struct.unpack("<II", bytes(mem.read(caller, args[1] + 8 * i, args[1] + 8 * i + 8)))
                out[args[0]] += bytes(mem.read(caller, b, b + n))
                total += n
            return total
        if nr == 12:  # brk
            brk = state.setdefault("brk", caller["__heap_base"].value(caller))
            if args[0] <= brk or "mmap" in state:
                return brk
            grow_to(args[0])
            state["brk"] = args[0]
            return args[0]
        if nr == 9:  # anonymous mmap at the end of memory
            start = mem.data_len(caller)
            grow_to(start + ((args[1] + 4095) & ~4095))
            state["mmap"] = 1
            return start
        if nr in (11, 28):  # munmap, madvise
            return 0
        if nr == 218:  # set_tid_address
            return 1
        if nr in (60, 231):  # exit, exit_group
            raise _Exit(args[0] & 0xFFFFFFFF)
        return -38  # ENOSYS

    i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
    func = wasmtime.Func(store, wasmtime.FuncType([i32] + [i64] * 14, [i64]), syscall, access_caller=True)
    linker = wasmtime.Linker(engine)
    linker.define(store, "lind", "syscall", func)
    instance = linker.instantiate(store, module)
    code = -1
    try:
        instance.exports(store)["_start"](store)
    except _Exit as e:
        code = e.code
    except wasmtime.WasmtimeError as e:
        cause = e.__cause__ or e.__context__
        if not isinstance(cause, _Exit):
            raise
        code = cause.code
    return code, bytes(out[1]), bytes(out[2])


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
    assert [(i.module, i.name) for i in module.imports] == [("lind", "syscall")]
    exports = {e.name for e in module.exports}
    assert {"memory", "_start", "__stack_pointer", "__heap_base"} <= exports
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
    assert run_cage(wasm, ["prog", "a b", "c"]) == (3, b"[prog][a b][c] HOME=/home/lind\n", b"")


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
        "-1 38",
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
    (tmp_path / "sj.c").write_text(
        "#include <setjmp.h>\njmp_buf b;\nint main(void){ if (setjmp(b)) return 1; longjmp(b, 1); }\n"
    )
    # setjmp/longjmp are not in libc yet: undefined symbols must be link errors.
    assert cc.main([str(tmp_path / "sj.c"), "-o", str(tmp_path / "sj.wasm")]) != 0
    (tmp_path / "nomain.c").write_text("int f(void) { return 0; }\n")
    assert cc.main([str(tmp_path / "nomain.c"), "-o", str(tmp_path / "nomain.wasm")]) != 0
    assert cc.main(["-shared", str(tmp_path / "nomain.c"), "-o", str(tmp_path / "x.so")]) != 0


def test_grate_api_links(built_sysroot: Path, tmp_path: Path) -> None:
    src = r"""
#include <lind_syscall.h>
#include <errno.h>
int main(void) {
    int r = register_handler(0, 1, 2, 0);
    if (r != -1 || errno != 38) return 1;
    return make_threei_call(39, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) == -38 ? 0 : 2;
}
"""
    wasm = lind_cc(tmp_path, src)
    assert run_cage(wasm, ["g"])[0] == 0


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
