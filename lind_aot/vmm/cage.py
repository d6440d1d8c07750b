"""Running one cage: instantiate a lind program against the C data plane and run it to its end."""

from __future__ import annotations

import ctypes
import os
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import wasmtime
from wasmtime import _ffi as ffi

from lind_aot.cache.store import ArtifactCache
from lind_aot.vmm import engine as eng
from lind_aot.vmm import native

SYSCALL_TYPE = wasmtime.FuncType([wasmtime.ValType.i32()] + [wasmtime.ValType.i64()] * 14,
                                 [wasmtime.ValType.i64()])
DEFAULT_ENV = {"PATH": "/bin:/usr/bin", "HOME": "/"}

# wasm traps, reported as the signal the same fault raises natively
TRAP_SIGNALS = {
    wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS: signal.SIGSEGV,
    wasmtime.TrapCode.STACK_OVERFLOW: signal.SIGSEGV,
    wasmtime.TrapCode.TABLE_OUT_OF_BOUNDS: signal.SIGSEGV,
    wasmtime.TrapCode.INDIRECT_CALL_TO_NULL: signal.SIGSEGV,
    wasmtime.TrapCode.BAD_SIGNATURE: signal.SIGSEGV,
    wasmtime.TrapCode.HEAP_MISALIGNED: signal.SIGBUS,
    wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO: signal.SIGFPE,
    wasmtime.TrapCode.INTEGER_OVERFLOW: signal.SIGFPE,
    wasmtime.TrapCode.BAD_CONVERSION_TO_INTEGER: signal.SIGFPE,
    wasmtime.TrapCode.UNREACHABLE: signal.SIGILL,
}

_pid_lock = threading.Lock()
_next_pid = 1


def _new_pid() -> int:
    global _next_pid
    with _pid_lock:
        pid = _next_pid
        _next_pid += 1
        return pid


_NULL_FINALIZER = ctypes.cast(None, ctypes.CFUNCTYPE(None, ctypes.c_void_p))


@dataclass
class CageResult:
    pid: int
    exit_code: int | None  # set when the cage exited
    signal: int | None  # set when it was killed (a trap counts as the matching signal)
    trap: str | None = None

    @property
    def status(self) -> int:
        """Shell convention: the exit code, or 128+N after signal N."""
        return self.exit_code if self.signal is None else 128 + self.signal  # type: ignore[operator]


@dataclass
class CageSpec:
    program: Path
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    root: Path = field(default_factory=Path.cwd)
    cwd: str = "/"
    stdio: tuple[int, int, int] = (0, 1, 2)
    mem_limit: int | None = None


class LindError(RuntimeError):
    """A user-facing error (bad path, not a lind program, ...)."""


def run_cage(spec: CageSpec, cache: ArtifactCache | None = None, module: wasmtime.Module | None = None) -> CageResult:
    lib = native.load()
    if module is None:
        try:
            wasm = Path(spec.program).read_bytes()
        except OSError as e:
            raise LindError(f"{spec.program}: {e.strerror}") from None
        module = (cache or ArtifactCache()).load(wasm, str(spec.program))
    root = Path(spec.root)
    if not root.is_dir():
        raise LindError(f"{root}: root is not a directory")

    pid = _new_pid()
    cage = lib.lind_cage_new(pid, 0, str(root).encode())
    if not cage:
        raise LindError(f"{root}: cannot open the root directory")
    try:
        return _run(lib, cage, pid, spec, module)
    finally:
        lib.lind_cage_free(cage)


def _run(lib: ctypes.CDLL, cage: int, pid: int, spec: CageSpec, module: wasmtime.Module) -> CageResult:
    r = lib.lind_cage_set_cwd(cage, spec.cwd.encode())
    if r < 0:
        raise LindError(f"--cwd {spec.cwd}: {os.strerror(-r)} (inside the root)")
    for i, host_fd in enumerate(spec.stdio):
        if lib.lind_cage_set_fd(cage, i, host_fd) < 0:
            raise LindError(f"cannot give fd {host_fd} to the cage")
    env = {**DEFAULT_ENV, **spec.env}
    strings = [a.encode() for a in spec.argv] + [f"{k}={v}".encode() for k, v in env.items()]
    if any(b"\0" in s for s in strings):
        raise LindError("argv and environment strings cannot contain NUL bytes")
    blob = b"".join(s + b"\0" for s in strings)
    lib.lind_cage_set_args(cage, blob, len(blob), len(spec.argv), len(env))
    if spec.mem_limit:
        lib.lind_cage_set_mem_limit(cage, spec.mem_limit)

    engine = eng.engine()
    store = wasmtime.Store(engine)
    store.set_epoch_deadline(1 << 62)
    linker = wasmtime.Linker(engine)
    cb = ffi.wasmtime_func_unchecked_callback_t(lib.lind_syscall_entry_ptr())
    err = ffi.wasmtime_linker_define_func_unchecked(
        linker.ptr(), b"lind", 4, b"syscall", 7, SYSCALL_TYPE.ptr(), cb, ctypes.c_void_p(cage), _NULL_FINALIZER
    )
    if err:
        raise wasmtime.WasmtimeError._from_ptr(err)
    try:
        instance = linker.instantiate(store, module)
    except wasmtime.WasmtimeError as e:
        raise LindError(f"{spec.program}: cannot instantiate: {str(e).splitlines()[0]}") from None
    exports = instance.exports(store)
    memory = exports["memory"]
    heap_base = exports["__heap_base"]
    start = exports["_start"]
    if not isinstance(memory, wasmtime.Memory) or not isinstance(heap_base, wasmtime.Global) or not isinstance(
        start, wasmtime.Func
    ):
        raise LindError(f"{spec.program}: not a lind program (bad export types)")
    base = ctypes.cast(memory.data_ptr(store), ctypes.c_void_p)
    r = lib.lind_cage_attach_memory(
        cage, ctypes.byref(memory._memory), base, memory.data_len(store), heap_base.value(store) & 0xFFFFFFFF
    )
    if r < 0:
        raise LindError(f"{spec.program}: bad memory layout ({os.strerror(-r)})")

    trap_msg = None
    try:
        start(store)
    except wasmtime.Trap as t:
        trap_msg = t.message
        code = t.trap_code
        info = _exit_info(lib, cage)
        if not info[0]:
            lib.lind_cage_set_killed(cage, int(TRAP_SIGNALS.get(code, signal.SIGILL)) if code else signal.SIGILL)
    except wasmtime.WasmtimeError as e:
        trap_msg = str(e)
        if not _exit_info(lib, cage)[0]:
            lib.lind_cage_set_killed(cage, signal.SIGSEGV)
    exited, code_, sig = _exit_info(lib, cage)
    if not exited:  # _start returned
        return CageResult(pid, 0, None)
    if sig:
        return CageResult(pid, None, sig, trap_msg if trap_msg and "cage exited" not in trap_msg else None)
    return CageResult(pid, code_, None)


def _exit_info(lib: ctypes.CDLL, cage: int) -> tuple[int, int, int]:
    out = (ctypes.c_int * 3)()
    lib.lind_cage_exit_info(cage, out)
    return out[0], out[1], out[2]
