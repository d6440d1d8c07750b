"""Hostile cage programs: wild pointers and fds get errors, faults kill only the cage, and `lind run`
survives to report the program's status."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import C_DIR, build_cage, run_cage


@pytest.fixture(scope="module")
def wasm() -> Path:
    return build_cage(C_DIR / "hostile.c")


def results(out: bytes) -> dict[str, str]:
    res = {}
    for line in out.decode().splitlines():
        label, sep, value = line.partition(": ")
        if sep:
            res[label] = value
    return res


EFAULT_CASES = [
    "read wild", "read NULL", "read straddling end", "read huge len", "write wild", "write past end",
    "write huge len", "pwrite wild", "open wild path", "open NULL path", "open path off the end",
    "openat path off the end", "stat wild buf", "stat wild path", "stat path off the end", "fstat wild buf",
    "newfstatat wild", "mkdir path off the end", "unlink wild", "rename wild", "symlink wild target",
    "readlink wild buf", "chdir wild", "getcwd wild", "getcwd straddling", "clock_gettime wild",
    "clock_gettime NULL", "clock_getres wild", "gettimeofday wild", "nanosleep wild", "uname wild",
    "getrandom wild", "sysinfo wild", "getrlimit wild", "statfs wild", "utimensat wild", "getdents64 wild",
    "fcntl F_GETLK wild", "ioctl TIOCGWINSZ wild", "readv entry out of bounds", "writev entry out of bounds",
    "preadv entry out of bounds", "readv iov array wild", "writev iov array off the end",
]


def test_wild_pointers_give_efault(wasm: Path, root: Path) -> None:
    r = run_cage(wasm, ["efault"], root)
    assert r.returncode == 7, r.stderr
    res = results(r.stdout)
    assert r.stdout.decode().rstrip().endswith("survived")
    assert res["memory end is page aligned"] == "1"
    bad = {k: res.get(k) for k in EFAULT_CASES if res.get(k) != "EFAULT"}
    assert not bad, f"expected EFAULT: {bad}"
    # a total length beyond ssize_t and too many iovecs are EINVAL on Linux
    assert res["readv entry huge len"] in ("EINVAL", "EFAULT")
    assert res["readv iovcnt huge"] == "EINVAL"
    assert res["read valid"] == "OK"
    assert res["readv valid"] == "OK"
    # nothing was created through the wild paths
    assert sorted(p.name for p in root.iterdir()) == ["f"]
    assert (root / "f").read_bytes() == b"0123456789"


def test_wild_fds_give_ebadf(wasm: Path, root: Path) -> None:
    r = run_cage(wasm, ["badfd"], root)
    assert r.returncode == 9, r.stderr
    res = results(r.stdout)
    assert len(res) == 7 * 6 + 4
    bad = {k: v for k, v in res.items() if v != "EBADF"}
    assert not bad, bad


@pytest.mark.parametrize(
    ("mode", "status", "signame"),
    [
        ("oob_write", 139, "SIGSEGV"),
        ("oob_read", 139, "SIGSEGV"),
        ("trap", 132, "SIGILL"),
        ("div0", 136, "SIGFPE"),
        ("recurse", 139, "SIGSEGV"),
    ],
)
def test_faults_kill_the_cage(wasm: Path, root: Path, mode: str, status: int, signame: str) -> None:
    r = run_cage(wasm, [mode], root)
    assert r.returncode == status, r.stderr
    assert r.stdout == b"before\n"
    err = r.stderr.decode()
    assert signame in err
    assert "Traceback" not in err


def test_host_survives_many_faults(wasm: Path, root: Path) -> None:
    """Faults in a row: each `lind run` reports its cage's status, never crashes itself."""
    for mode, status in [("oob_write", 139), ("div0", 136), ("efault", 7), ("trap", 132), ("badfd", 9)]:
        r = run_cage(wasm, [mode], root)
        assert r.returncode == status, (mode, r.stderr)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_hostile_syscalls(tmp_path: Path, seed: int) -> None:
    """20,000 random system calls with wild pointers, sizes, fds and cage ids: the cage runs to its
    end (status 42) and nothing appears outside its root."""
    wasm = build_cage(C_DIR / "fuzz_syscalls.c")
    root = tmp_path / "root"
    root.mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    r = run_cage(wasm, ["20000", str(seed)], root, timeout=300)
    assert r.returncode == 42, r.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_reused_memory_holds_nothing_of_the_previous_cage(tmp_path: Path) -> None:
    """Linear memories are reused between cages of one process: a cage that fills its heap with a
    secret is followed by cages that scan all of their memory and must find none of it."""
    from lind_aot.vmm.cage import CageSpec, microvisor

    wasm = build_cage(C_DIR / "memleak_probe.c")
    mv = microvisor()
    module = mv.load(wasm)
    out = tmp_path / "out.txt"
    with open(out, "wb") as f:
        devnull = open("/dev/null", "rb")  # noqa: SIM115
        stdio = (devnull.fileno(), f.fileno(), f.fileno())
        for _ in range(3):
            r = mv.run(CageSpec(program=wasm, argv=["probe", "write"], root=tmp_path, stdio=stdio), module)
            assert r.exit_code == 0
            r = mv.run(CageSpec(program=wasm, argv=["probe", "scan"], root=tmp_path, stdio=stdio), module)
            assert r.exit_code == 0, out.read_text()
        devnull.close()
    assert out.read_text().splitlines() == ["pattern bytes: 0"] * 3


def _handmade(nr: int, asyncify: bool) -> bytes:
    """A module made by hand (not by `lind cc`) that makes system call nr once; with `asyncify`, it
    exports dummy asyncify functions but no __stack_pointer."""
    import wasmtime

    exports = ('(func (export "asyncify_start_unwind") (param i32)) (func (export "asyncify_stop_unwind"))'
               ' (func (export "asyncify_start_rewind") (param i32))') if asyncify else ""
    args = " ".join(["(i64.const 0)"] * 2 + ["(i64.const 4096)", "(i64.const 0)", "(i64.const 1)"] +
                    ["(i64.const 0)"] * 9)
    # as libc does (docs/abi.md): the calls that may unwind go through lind.syscall_unwind
    gateway, other = ("syscall_unwind", "syscall") if nr in (57, 1020) else ("syscall", "syscall_unwind")
    return wasmtime.wat2wasm(f"""
(module
  (import "env" "memory" (memory 2 16 shared))
  (import "lind" "{gateway}" (func $sys (param i32 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
                                      (result i64)))
  (import "lind" "{other}" (func (param i32 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)))
  (global (export "__heap_base") i32 (i32.const 65536))
  {exports}
  (func (export "_start") (drop (call $sys (i32.const {nr}) {args}))))""")


@pytest.mark.parametrize("asyncify", [False, True])
@pytest.mark.parametrize("nr", [57, 1020, 1021])  # fork, setjmp, longjmp
def test_handmade_module_without_stack_pointer(tmp_path: Path, root: Path, nr: int, asyncify: bool) -> None:
    """fork/setjmp/longjmp from a module with none or only part of what unwinding needs: the call
    fails or the cage is killed (SIGSEGV), the host process reports it (it used to abort)."""
    wasm = tmp_path / "handmade.wasm"
    wasm.write_bytes(_handmade(nr, asyncify))
    r = run_cage(wasm, [], root)
    assert r.returncode in (0, 128 + 11) and b"panicked" not in r.stderr, r
    if asyncify and nr in (57, 1020):  # the unwind starts, the run loop cannot finish it
        assert r.returncode == 128 + 11, r


def test_handmade_module_with_wrongly_typed_exports(tmp_path: Path, root: Path) -> None:
    """Exports the host calls with a fixed buffer (_start, the asyncify functions) but of other
    types, which would make the host read and write past that buffer: refused, not called."""
    import wasmtime

    sys_t = "(param i32 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)"
    fork = "(drop (call $sys (i32.const 57) " + "(i64.const 0) " * 14 + "))"
    head = (f'(module (import "env" "memory" (memory 2 16 shared)) (import "lind" "syscall_unwind" (func $sys {sys_t}))'
            f' (import "lind" "syscall" (func {sys_t})) (global (export "__heap_base") i32 (i32.const 65536))')
    bad_start = head + ' (func (export "_start") (param i64 i64 i64 i64) (result i64 i64 i64 i64 i64 i64)' \
        ' (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4) (i64.const 5) (i64.const 6)))'
    bad_asyncify = head + (' (func (export "asyncify_start_unwind") (param i64 i64 i64 i64 i64 i64 i64 i64))'
                           ' (func (export "asyncify_stop_unwind") (result i64 i64 i64 i64 i64 i64 i64 i64)'
                           ' (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0)'
                           ' (i64.const 0) (i64.const 0))'
                           ' (func (export "asyncify_start_rewind") (param i32))'
                           f' (func (export "_start") {fork}))')
    for name, wat, status in (("start", bad_start, 126), ("asyncify", bad_asyncify, 0)):
        wasm = tmp_path / f"{name}.wasm"
        wasm.write_bytes(wasmtime.wat2wasm(wat))
        r = run_cage(wasm, [], root)
        assert r.returncode == status and b"panicked" not in r.stderr, (name, r)
    assert b"_start export of the right type" in run_cage(tmp_path / "start.wasm", [], root).stderr
