"""Running cages: instantiate lind programs against the C data plane and drive their lifecycle.

One `Microvisor` per host process (the C data plane's process table is process-wide). Each cage
runs on its own OS thread; its run loop handles what the C side cannot do alone: making the child
instance of a fork (after the asyncify unwind) and loading the program of an exec, without nesting
host stacks (a chain of execs runs in constant host memory).
"""

from __future__ import annotations

import ctypes
import os
import queue
import signal
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

import wasmtime
from wasmtime import _bindings, _extern
from wasmtime import _ffi as ffi

from lind_aot.cache.store import ArtifactCache, CacheError
from lind_aot.vmm import engine as eng
from lind_aot.vmm import native

SYSCALL_TYPE = wasmtime.FuncType([wasmtime.ValType.i32()] + [wasmtime.ValType.i64()] * 14,
                                 [wasmtime.ValType.i64()])
DEFAULT_ENV = {"PATH": "/bin:/usr/bin", "HOME": "/"}
PENDING_FORK, PENDING_EXEC, PENDING_SETJMP, PENDING_LONGJMP = 1, 2, 3, 4
ENOEXEC, ENOMEM, EAGAIN = 8, 12, 11

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

def _trap_code(value: int) -> wasmtime.TrapCode | None:
    try:
        return wasmtime.TrapCode(value) if value >= 0 else None
    except ValueError:
        return None


_NULL_FINALIZER = ctypes.cast(None, ctypes.CFUNCTYPE(None, ctypes.c_void_p))
_EXEC_LOAD_T = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64, ctypes.c_int)
_THREAD_START_T = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32,
                                   ctypes.c_uint32)
_WORKER_NEW_T = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)
WORKER_STACK = 256 * 1024  # each grate worker's own stack, inside the grate's memory
_EPOCH_CB_T = _bindings._wasmtime_store_epoch_deadline_callback.argtypes[1]


class LindError(RuntimeError):
    """A user-facing error (bad path, not a lind program, ...)."""


# (plain classes, not dataclasses: importing dataclasses costs `lind run` 15 ms of start-up)


class Usage:
    """What a cage (its main thread, for CPU time) used."""

    def __init__(self, cpu_time: float = 0.0, peak_memory: int = 0, syscalls: int = 0) -> None:
        self.cpu_time = cpu_time  # seconds of CPU of the OS thread that ran the cage's main thread
        self.peak_memory = peak_memory  # bytes: the largest its linear memory grew
        self.syscalls = syscalls  # system calls made by all its threads

    def __repr__(self) -> str:
        return f"Usage(cpu_time={self.cpu_time}, peak_memory={self.peak_memory}, syscalls={self.syscalls})"


class CageResult:
    """How a cage ended: exit_code when it exited, signal when it was killed (a trap counts as the
    matching signal)."""

    def __init__(self, pid: int, exit_code: int | None, signal: int | None, trap: str | None = None,
                 usage: Usage | None = None) -> None:
        self.pid, self.exit_code, self.signal, self.trap = pid, exit_code, signal, trap
        self.usage = usage or Usage()

    @property
    def status(self) -> int:
        """Shell convention: the exit code, or 128+N after signal N."""
        return self.exit_code if self.signal is None else 128 + self.signal  # type: ignore[operator]

    def __repr__(self) -> str:
        return (f"CageResult(pid={self.pid}, exit_code={self.exit_code}, signal={self.signal}, "
                f"trap={self.trap!r}, usage={self.usage!r})")


class Limits:
    """Per-cage limits; exceeding one ends only the offending cage (tree)."""

    FIELDS = ("mem", "cpu_time", "wall_time", "max_fds", "max_cages")

    def __init__(self, mem: int | None = None, cpu_time: float | None = None, wall_time: float | None = None,
                 max_fds: int | None = None, max_cages: int | None = None) -> None:
        self.mem = mem  # bytes of linear memory: brk/mmap fail with ENOMEM beyond
        self.cpu_time = cpu_time  # seconds of CPU: SIGXCPU, then SIGKILL one second later
        self.wall_time = wall_time  # seconds: the whole tree gets SIGKILL
        self.max_fds = max_fds  # RLIMIT_NOFILE: EMFILE beyond
        self.max_cages = max_cages  # size of the cage tree: fork gets EAGAIN beyond

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Limits) and all(getattr(self, f) == getattr(other, f) for f in self.FIELDS)

    def __repr__(self) -> str:
        return "Limits(" + ", ".join(f"{f}={getattr(self, f)!r}" for f in self.FIELDS) + ")"


RLIMIT_CPU, RLIMIT_NOFILE = 0, 7


class CageSpec:
    """What to run in a new cage tree."""

    def __init__(self, program: Path | str, argv: list[str], env: dict[str, str] | None = None,
                 root: Path | str | None = None, cwd: str = "/", stdio: tuple[int, int, int] = (0, 1, 2),
                 mem_limit: int | None = None, limits: Limits | None = None, net: int | None = None) -> None:
        self.program = Path(program)
        self.argv = argv
        self.env = env if env is not None else {}
        self.root = Path(root) if root is not None else Path.cwd()
        self.cwd = cwd
        self.stdio = stdio
        self.mem_limit = mem_limit
        self.limits = limits or Limits()
        self.net = net  # network policy: 0 none, 1 loopback, 2 host (None: the process default)


class CageHandle:
    """A running cage tree started by Microvisor.start."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._result: CageResult | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self.wall_time_exceeded = False

    def wait(self, timeout: float | None = None) -> CageResult | None:
        """The root cage's result, or None if it is still running after timeout seconds."""
        if not self._done.wait(timeout):
            return None
        if self._error is not None:
            raise self._error
        return self._result


def memory_type(module: wasmtime.Module) -> wasmtime.MemoryType:
    """The type of the shared memory a lind program imports as env.memory."""
    for imp in module.imports:
        if (imp.module, imp.name) == ("env", "memory") and isinstance(imp.type, wasmtime.MemoryType):
            return imp.type
    raise LindError("not a lind program (no env.memory import; rebuild it with `lind cc`)")


class _RunCtx(ctypes.Structure):
    """What native/runloop.c needs to run an instance (struct run_ctx)."""

    _fields_ = [
        ("ctx", ctypes.c_void_p),
        ("entry", ffi.wasmtime_func_t),
        ("nargs", ctypes.c_int32),
        ("arg", ctypes.c_int32),
        ("stop_unwind", ffi.wasmtime_func_t),
        ("start_rewind", ffi.wasmtime_func_t),
        ("sp", ffi.wasmtime_global_t),
    ]


RUN_RETURNED, RUN_TRAPPED, RUN_ERROR, RUN_BAD_JUMP = 0, 1, 2, 3


class _Exports:
    """An instance's exports, looked up one by one when needed (wasmtime-py's exports() wraps them
    all, which costs more than the instantiation itself)."""

    def __init__(self, store: wasmtime.Store, instance: wasmtime.Instance) -> None:
        self._store, self._instance, self._cache = store, instance, {}

    def get(self, name: str) -> object | None:
        if name not in self._cache:
            item = ffi.wasmtime_extern_t()
            raw = name.encode()
            ok = ffi.wasmtime_instance_export_get(self._store._context(), ctypes.byref(self._instance._instance),
                                                  raw, len(raw), ctypes.byref(item))
            self._cache[name] = _extern.wrap_extern(item) if ok else None
        return self._cache[name]

    def __getitem__(self, name: str) -> object:
        item = self.get(name)
        if item is None:
            raise KeyError(name)
        return item

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None


_memory_types: weakref.WeakKeyDictionary[wasmtime.Module, wasmtime.MemoryType] = weakref.WeakKeyDictionary()


def _cached_memory_type(module: wasmtime.Module) -> wasmtime.MemoryType:
    """The module's imported memory type, read once per module."""
    mt = _memory_types.get(module)
    if mt is None:
        mt = _memory_types[module] = memory_type(module)
    return mt


class _Instance:
    """One wasm instance of a cage (replaced on exec, created for a fork child, one per thread).

    All instances of a cage share its memory, a wasmtime SharedMemory created by the host."""

    def __init__(self, lib: ctypes.CDLL, th: int, module: wasmtime.Module,
                 memory: wasmtime.SharedMemory | None = None,
                 entry: tuple[str, tuple[int, ...]] = ("_start", ())) -> None:
        engine = eng.engine()
        self.module = module
        self.entry = entry  # the outermost function: where the thread starts and fork rewinds
        self._run_ctx: _RunCtx | None = None
        if memory is None:
            memory = wasmtime.SharedMemory(engine, _cached_memory_type(module))
        self.memory = memory
        self.store = wasmtime.Store(engine)
        # every epoch tick (native/epoch.c) the cage's pending signals are looked at
        self.store.set_epoch_deadline(1)
        ffi.wasmtime_store_epoch_deadline_callback(
            self.store.ptr(), _EPOCH_CB_T(lib.lind_epoch_callback_ptr()), ctypes.c_void_p(th), _NULL_FINALIZER
        )
        self.linker = wasmtime.Linker(engine)
        # (wasmtime-py 50's Linker.define mis-wraps a SharedMemory: build the extern here)
        ext = ffi.wasmtime_extern_t(ffi.WASMTIME_EXTERN_SHAREDMEMORY,
                                    ffi.wasmtime_extern_union(sharedmemory=self.memory.ptr()))
        err = ffi.wasmtime_linker_define(self.linker.ptr(), self.store._context(), b"env", 3, b"memory", 6,
                                         ctypes.byref(ext))
        if err:
            raise wasmtime.WasmtimeError._from_ptr(err)
        cb = ffi.wasmtime_func_unchecked_callback_t(lib.lind_syscall_entry_ptr())
        err = ffi.wasmtime_linker_define_func_unchecked(
            self.linker.ptr(), b"lind", 4, b"syscall", 7, SYSCALL_TYPE.ptr(), cb, ctypes.c_void_p(th),
            _NULL_FINALIZER,
        )
        if err:
            raise wasmtime.WasmtimeError._from_ptr(err)
        try:
            self.instance = self.linker.instantiate(self.store, module)
        except wasmtime.WasmtimeError as e:
            raise LindError(f"cannot instantiate: {str(e).splitlines()[0]}") from None
        ex = self.exports = _Exports(self.store, self.instance)
        heap_base, start = ex.get("__heap_base"), ex.get("_start")
        if not (isinstance(heap_base, wasmtime.Global) and isinstance(start, wasmtime.Func)):
            raise LindError("not a lind program (bad export types)")
        self.heap_base, self.start = heap_base, start
        table = ex.get("__indirect_function_table")
        if isinstance(table, wasmtime.Table):
            lib.lind_thread_set_table(th, ctypes.byref(table._table))

    def run_ctx(self) -> _RunCtx:
        """The C run loop's view of this instance (made on first use)."""
        if self._run_ctx is None:
            name, args = self.entry
            funcs = [self.exports[n] for n in (name, "asyncify_stop_unwind", "asyncify_start_rewind")]
            sp = self.exports["__stack_pointer"]
            assert all(isinstance(f, wasmtime.Func) for f in funcs) and isinstance(sp, wasmtime.Global)
            self._run_ctx = _RunCtx(
                ctypes.cast(self.store._context(), ctypes.c_void_p), funcs[0]._func,  # type: ignore[union-attr]
                len(args), args[0] if args else 0, funcs[1]._func, funcs[2]._func,  # type: ignore[union-attr]
                sp._global,
            )
        return self._run_ctx

    def call(self, name: str, *args: int) -> None:
        fn = self.exports[name]
        assert isinstance(fn, wasmtime.Func)
        fn(self.store, *args)

    def global_value(self, name: str) -> int | None:
        g = self.exports.get(name)
        return int(g.value(self.store)) if isinstance(g, wasmtime.Global) else None

    def memory_ptr(self) -> int:
        return ctypes.cast(self.memory.ptr(), ctypes.c_void_p).value or 0

    def copy_global(self, lib: ctypes.CDLL, name: str, src: _Instance) -> None:
        g_src, g_dst = src.exports.get(name), self.exports.get(name)
        if isinstance(g_src, wasmtime.Global) and isinstance(g_dst, wasmtime.Global):
            lib.lind_global_copy(ctypes.cast(src.store._context(), ctypes.c_void_p), ctypes.byref(g_src._global),
                                 ctypes.cast(self.store._context(), ctypes.c_void_p), ctypes.byref(g_dst._global))


class _Runners:
    """The OS threads that run cages and cage threads, kept for reuse (starting a thread costs more
    than the rest of a fork). `wait_idle` returns when no task is running."""

    IDLE_SECONDS = 30.0

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._idle: list[queue.SimpleQueue[tuple[Callable[..., None], tuple[object, ...]] | None]] = []
        self._busy = 0

    def submit(self, fn: Callable[..., None], *args: object) -> None:
        with self._lock:
            self._busy += 1
            q = self._idle.pop() if self._idle else None
        if q is not None:
            q.put((fn, args))
            return
        q = queue.SimpleQueue()
        q.put((fn, args))
        threading.Thread(target=self._main, args=(q,), daemon=True, name="cage-runner").start()

    def _main(self, q: queue.SimpleQueue[tuple[Callable[..., None], tuple[object, ...]] | None]) -> None:
        while True:
            try:
                task = q.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if q in self._idle:
                        self._idle.remove(q)
                        return
                continue  # a task was handed over just now
            if task is None:
                return
            fn, args = task
            try:
                fn(*args)
            finally:
                with self._lock:
                    self._busy -= 1
                    self._idle.append(q)
                    self._lock.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: self._busy == 0, timeout)


class Microvisor:
    """The process-wide owner of cages."""

    def __init__(self, cache: ArtifactCache | None = None) -> None:
        self.lib = native.load()
        self.cache = cache or ArtifactCache()
        self._exec_modules: dict[int, wasmtime.Module] = {}
        self._cages: dict[int, _Instance] = {}  # cage pointer -> its main thread's instance
        self._lock = threading.Lock()
        self._runners = _Runners()
        self._memories: list[wasmtime.SharedMemory] = []  # scrubbed memories of ended cages
        self._exec_cb = _EXEC_LOAD_T(self._exec_load)
        self._thread_cb = _THREAD_START_T(self._thread_start)
        self._worker_cb = _WORKER_NEW_T(self._worker_new)
        self._workers: dict[int, tuple[int, _Instance]] = {}  # worker pointer -> (grate cage, instance)
        self.lib.lind_set_callbacks(ctypes.cast(self._exec_cb, ctypes.c_void_p))
        self.lib.lind_set_thread_callback(ctypes.cast(self._thread_cb, ctypes.c_void_p))
        self.lib.lind_set_grate_callback(ctypes.cast(self._worker_cb, ctypes.c_void_p))
        self.lib.lind_start_epoch_ticker(
            ctypes.cast(eng.engine().ptr(), ctypes.c_void_p),
            ctypes.cast(ffi.dll.wasmtime_engine_increment_epoch, ctypes.c_void_p),
            ctypes.cast(ffi.dll.wasmtime_engine_clone, ctypes.c_void_p),
        )

    # ---- callbacks from C (they must never raise) ----

    def _exec_load(self, pid: int, fd: int) -> int:
        """Loads the program an exec names (from its open host fd) before the old one goes."""
        try:
            size = os.fstat(fd).st_size
            data = os.pread(fd, size, 0)
            module = self.cache.load(data, f"exec by cage {pid}")
        except CacheError:
            return -ENOEXEC
        except MemoryError:
            return -ENOMEM
        except Exception:  # noqa: BLE001 - never let an exception cross into C
            return -ENOEXEC
        with self._lock:
            self._exec_modules[pid] = module
        return 0

    def _thread_start(self, cage: int, th: int, stack: int, start: int) -> int:
        """clone(CLONE_THREAD): a new instance over the cage's memory, on a new OS thread."""
        try:
            with self._lock:
                main = self._cages[cage]
            inst = _Instance(self.lib, th, main.module, main.memory, ("__lind_thread_start", (start,)))
            sp = inst.exports.get("__stack_pointer")
            if not isinstance(sp, wasmtime.Global):
                return -EAGAIN
            sp.set_value(inst.store, wasmtime.Val.i32(stack))
            self._runners.submit(self._thread_main, cage, th, inst)
        except Exception:  # noqa: BLE001
            return -EAGAIN
        return 0

    def _worker_new(self, grate: int) -> int | None:
        """A worker instance of a grate: its own Store and instance over the grate's memory, its own
        stack and TLS block in that memory. Called by the first caller that finds no idle one."""
        lib = self.lib
        try:
            with self._lock:
                main = self._cages[grate]
            if "pass_fptr_to_wt" not in main.exports or "__lind_worker_init" not in main.exports:
                return None
            w = lib.lind_worker_new(grate)
            if not w:
                return None
            inst = _Instance(lib, lib.lind_worker_thread(w), main.module, main.memory, ("_start", ()))
            tls_size, tls_align = (int(inst.global_value(n) or 0) for n in ("__tls_size", "__tls_align"))
            tls_room = (tls_size + max(tls_align, 16) + 15) & ~15
            base = lib.lind_grate_region(grate, tls_room + WORKER_STACK)
            if base < 0:
                lib.lind_worker_free(w)
                return None
            tls_block = (base + max(tls_align, 1) - 1) & ~(max(tls_align, 1) - 1)
            sp = inst.exports["__stack_pointer"]
            assert isinstance(sp, wasmtime.Global)
            sp.set_value(inst.store, wasmtime.Val.i32(base + tls_room + WORKER_STACK))
            inst.call("__lind_worker_init", tls_block)
            disp = inst.exports["pass_fptr_to_wt"]
            assert isinstance(disp, wasmtime.Func)
            lib.lind_worker_set(w, ctypes.cast(inst.store._context(), ctypes.c_void_p), ctypes.byref(disp._func))
            with self._lock:
                self._workers[w] = (grate, inst)
            return w
        except Exception:  # noqa: BLE001 - never let an exception cross into C
            return None

    def _free_workers(self, grate: int) -> None:
        """After a grate ended: drop its worker instances."""
        lib = self.lib
        while True:
            w = lib.lind_grate_take_worker(grate)
            if not w:
                break
            with self._lock:
                self._workers.pop(w, None)
            lib.lind_worker_free(w)
        with self._lock:  # workers dropped after a trap are not in the pool any more
            broken = [w for w, (g, _) in self._workers.items() if g == grate]
            for w in broken:
                del self._workers[w]
        for w in broken:
            lib.lind_worker_free(w)

    # ---- memories: reused, because faulting in fresh pages costs more than zeroing used ones ----

    MEMORY_POOL = 8
    MEMORY_POOL_MAX_BYTES = 64 << 20  # larger memories are not kept

    def _take_memory(self, module: wasmtime.Module) -> wasmtime.SharedMemory | None:
        with self._lock:
            mem = self._memories.pop() if self._memories else None
        if mem is None:
            return None
        need = _cached_memory_type(module).limits.min * 65536
        if mem.data_len() < need:
            mem.grow((need - mem.data_len() + 65535) // 65536)
        return mem

    def _give_memory(self, mem: wasmtime.SharedMemory) -> None:
        if mem.data_len() > self.MEMORY_POOL_MAX_BYTES:
            return
        with self._lock:
            if len(self._memories) >= self.MEMORY_POOL:
                return
        ptr = ctypes.cast(mem.data_ptr(), ctypes.c_void_p)
        if self.lib.lind_memory_scrub(ptr, mem.data_len()) == 0:
            with self._lock:
                if len(self._memories) < self.MEMORY_POOL:
                    self._memories.append(mem)

    # ---- running ----

    def load(self, program: Path) -> wasmtime.Module:
        try:
            wasm = Path(program).read_bytes()
        except OSError as e:
            raise LindError(f"{program}: {e.strerror}") from None
        return self.cache.load(wasm, str(program))

    def start(self, spec: CageSpec, module: wasmtime.Module | None = None) -> CageHandle:
        """Starts a new cage tree on its own OS thread."""
        module = module or self.load(spec.program)
        cage = self._new_cage(spec)
        pid = int(self.lib.lind_cage_pid(cage))
        try:
            inst = _Instance(self.lib, self.lib.lind_cage_main_thread(cage), module, self._take_memory(module))
            self._attach(cage, inst)
        except BaseException:
            self.lib.lind_cage_finish(cage)
            self.lib.lind_cage_free(cage)
            raise
        handle = CageHandle(pid)
        self._runners.submit(self._root_main, cage, pid, inst, handle)
        if spec.limits.wall_time is not None:
            self._wall_clock(handle, spec.limits.wall_time)
        return handle

    def _wall_clock(self, handle: CageHandle, seconds: float) -> None:
        """--wall-time: SIGKILL to the tree's process group (and the root cage) when time is up."""

        def expire() -> None:
            if not handle._done.wait(seconds):
                handle.wall_time_exceeded = True
                self.kill(-handle.pid, int(signal.SIGKILL))
                self.kill(handle.pid, int(signal.SIGKILL))

        threading.Thread(target=expire, daemon=True, name=f"wall-{handle.pid}").start()

    def run(self, spec: CageSpec, module: wasmtime.Module | None = None, wait_all: bool = True) -> CageResult:
        """Runs a new cage tree; returns the root cage's result once it ends (and, with wait_all,
        once every cage it started has ended too)."""
        handle = self.start(spec, module)
        result = handle.wait()
        assert result is not None
        if wait_all:
            self.wait_tree(handle.pid)
        return result

    def wait_tree(self, pid: int) -> None:
        """Returns when every cage of the tree started as `pid` has ended (orphans included)."""
        while not self.lib.lind_tree_wait(pid, 500):  # a timeout keeps the caller responsive to signals
            pass

    def _root_main(self, cage: int, pid: int, inst: _Instance, handle: CageHandle) -> None:
        try:
            handle._result = self._loop(cage, pid, inst)
        except BaseException as e:  # noqa: BLE001 - reported through the handle
            handle._error = e
        finally:
            handle._done.set()

    def wait_all(self) -> None:
        """Returns when no cage started by a fork (or cage thread) is running any more."""
        while not self._runners.wait_idle(0.5):  # a timeout keeps the waiting thread responsive to signals
            pass

    def _new_cage(self, spec: CageSpec) -> int:
        lib = self.lib
        root = Path(spec.root)
        if not root.is_dir():
            raise LindError(f"{root}: root is not a directory")
        cage = lib.lind_cage_new(str(root).encode())
        if not cage:
            raise LindError(f"{root}: cannot open the root directory")
        try:
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
            if spec.net is not None:
                lib.lind_set_net_policy(cage, spec.net)
            lim = spec.limits
            mem = lim.mem or spec.mem_limit
            if mem:
                lib.lind_cage_set_mem_limit(cage, mem)
            if lim.cpu_time is not None:
                secs = max(1, int(lim.cpu_time + 0.999))
                lib.lind_cage_set_rlimit(cage, RLIMIT_CPU, secs, secs + 1)
            if lim.max_fds is not None:
                lib.lind_cage_set_rlimit(cage, RLIMIT_NOFILE, lim.max_fds, lim.max_fds)
            if lim.max_cages is not None:
                lib.lind_cage_set_max_cages(cage, lim.max_cages)
        except BaseException:
            lib.lind_cage_finish(cage)
            lib.lind_cage_free(cage)
            raise
        return cage

    def _attach(self, cage: int, inst: _Instance) -> None:
        r = self.lib.lind_cage_attach_memory(cage, inst.memory_ptr(), inst.heap_base.value(inst.store) & 0xFFFFFFFF)
        if r < 0:
            raise LindError(f"bad memory layout ({os.strerror(-r)})")
        with self._lock:
            self._cages[cage] = inst

    def _run_instance(self, cage: int, th: int, inst: _Instance) -> tuple[_Instance, str | None, int | None]:
        """Runs one thread's instance until its program or thread ends; handles fork and exec.
        Returns the last instance, a trap message and the signal a trap stands for."""
        lib = self.lib
        code = ctypes.c_int(-1)
        msg = ctypes.create_string_buffer(512)
        while True:
            # native/runloop.c runs the entry and does setjmp/longjmp; traps come back as codes
            rc = lib.lind_run_entry(th, ctypes.byref(inst.run_ctx()), ctypes.byref(code), msg, len(msg))
            trap: str | None = msg.value.decode(errors="replace") if rc != RUN_RETURNED else None
            if rc == RUN_BAD_JUMP:
                return inst, "longjmp to an unknown jmp_buf", int(signal.SIGSEGV)
            pending = lib.lind_thread_pending(th)
            if pending == PENDING_FORK and trap is None:
                self._fork(cage, th, inst)
                continue
            if pending == PENDING_EXEC:
                pid = int(lib.lind_cage_pid(cage))
                with self._lock:
                    module = self._exec_modules.pop(pid)
                lib.lind_thread_clear_pending(th)
                old = inst
                try:
                    inst = _Instance(lib, th, module, self._take_memory(module))
                    self._attach(cage, inst)
                except LindError as e:
                    return inst, str(e), int(signal.SIGKILL)
                self._give_memory(old.memory)
                del old
                continue
            if rc == RUN_TRAPPED:
                tc = _trap_code(code.value)
                return inst, trap, int(TRAP_SIGNALS.get(tc, signal.SIGILL)) if tc is not None else int(signal.SIGSEGV)
            if trap is not None:
                return inst, trap, int(signal.SIGSEGV)
            return inst, None, None

    def _loop(self, cage: int, pid: int, inst: _Instance) -> CageResult:
        """The main thread of a cage: runs it, then ends the cage."""
        lib = self.lib
        th = lib.lind_cage_main_thread(cage)
        cpu0 = time.thread_time()
        lib.lind_thread_bind(th)
        inst, trap_msg, killed = self._run_instance(cage, th, inst)
        info = (ctypes.c_int * 3)()
        lib.lind_cage_exit_info(cage, info)
        if not info[0] and killed is not None:
            lib.lind_cage_set_killed(cage, killed)
        lib.lind_cage_wait_threads(cage)
        lib.lind_cage_exit_info(cage, info)
        raw = (ctypes.c_uint64 * 2)()
        lib.lind_cage_usage(cage, raw)
        usage = Usage(time.thread_time() - cpu0, int(raw[1]), int(raw[0]))
        lib.lind_cage_finish(cage)
        self._free_workers(cage)
        with self._lock:
            self._cages.pop(cage, None)
        lib.lind_cage_free(cage)
        self._give_memory(inst.memory)
        del inst
        if not info[0]:  # _start returned
            return CageResult(pid, 0, None, usage=usage)
        if info[2]:
            shown = trap_msg if trap_msg and "lind: cage" not in trap_msg else None
            return CageResult(pid, None, info[2], shown, usage)
        return CageResult(pid, info[1], None, usage=usage)

    def _thread_main(self, cage: int, th: int, inst: _Instance) -> None:
        """A thread other than the main one: a trap in it (not exit) ends the whole cage."""
        lib = self.lib
        lib.lind_thread_bind(th)
        _, _, killed = self._run_instance(cage, th, inst)
        info = (ctypes.c_int * 3)()
        lib.lind_cage_exit_info(cage, info)
        if killed is not None and not info[0] and not lib.lind_thread_exited(th):
            lib.lind_cage_set_killed(cage, killed)  # a fault in a thread ends the whole cage
        lib.lind_thread_unbind(th)
        del inst
        lib.lind_thread_finish(th)

    def _fork(self, cage: int, th: int, inst: _Instance) -> None:
        lib = self.lib
        lib.lind_stop_unwind(ctypes.byref(inst.run_ctx()))
        buf = lib.lind_thread_async_buf(th)
        child = lib.lind_cage_fork(cage, th)
        result = -EAGAIN
        if child:
            cth = lib.lind_cage_main_thread(child)
            try:
                cinst = self._fork_instance(cage, child, cth, inst)
            except (LindError, wasmtime.WasmtimeError):
                lib.lind_cage_finish(child)
                lib.lind_cage_free(child)
            else:
                cpid = int(lib.lind_cage_pid(child))
                lib.lind_thread_set_rewind(cth, 0)
                lib.lind_start_rewind(ctypes.byref(cinst.run_ctx()), buf)
                self._runners.submit(self._child_main, child, cpid, cinst)
                result = cpid
        lib.lind_thread_set_rewind(th, result)
        lib.lind_start_rewind(ctypes.byref(inst.run_ctx()), buf)

    def _fork_instance(self, parent: int, child: int, cth: int, pinst: _Instance) -> _Instance:
        cinst = _Instance(self.lib, cth, pinst.module, self._take_memory(pinst.module), entry=pinst.entry)
        psize, csize = pinst.memory.data_len(), cinst.memory.data_len()
        if psize > csize:
            cinst.memory.grow((psize - csize + 65535) // 65536)
        r = self.lib.lind_cage_fork_memory(parent, child, cinst.memory_ptr())
        if r < 0:
            raise LindError(f"fork: cannot copy memory ({os.strerror(-r)})")
        # the instance's own state that lives outside memory: its stack pointer and TLS block
        cinst.copy_global(self.lib, "__stack_pointer", pinst)
        cinst.copy_global(self.lib, "__tls_base", pinst)
        with self._lock:
            self._cages[child] = cinst
        return cinst

    def _child_main(self, cage: int, pid: int, inst: _Instance) -> None:
        self._loop(cage, pid, inst)

    def kill(self, pid: int, sig: int) -> int:
        """kill(2) from outside the cages: pid > 0 one cage, pid < 0 the process group -pid."""
        if pid < 0:
            return int(self.lib.lind_kill_group(-pid, sig))
        return int(self.lib.lind_kill(pid, sig))


_microvisor: Microvisor | None = None
_mv_lock = threading.Lock()


def microvisor(cache: ArtifactCache | None = None) -> Microvisor:
    """The process-wide microvisor (created on first use)."""
    global _microvisor
    with _mv_lock:
        if _microvisor is None:
            _microvisor = Microvisor(cache)
        return _microvisor


def run_cage(spec: CageSpec, cache: ArtifactCache | None = None, module: wasmtime.Module | None = None) -> CageResult:
    """Runs one cage tree to its end on the calling thread."""
    mv = microvisor(cache)
    if cache is not None:
        mv.cache = cache
    return mv.run(spec, module)
