"""Running cages: hand lind programs to the C data plane and collect how they ended.

One `Microvisor` per host process (the C data plane's process table is process-wide). Python loads
a program from the AOT cache and sets up the root cage of a tree; the C side (native/rt/instance.c,
native/rt/runner.c) instantiates it, runs it and everything it starts (forks and threads on its own
OS threads), and calls back into Python only when an exec needs a program loaded from the cache.
A chain of execs runs in constant host memory.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from lind_aot.cache.store import ArtifactCache, CacheError
from lind_aot.vmm import native
from lind_aot.vmm.native import Program

DEFAULT_ENV = {"PATH": "/bin:/usr/bin", "HOME": "/"}
ENOEXEC, ENOMEM = 8, 12

_EXEC_LOAD_T = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p))


class LindError(RuntimeError):
    """A user-facing error (bad path, not a lind program, ...)."""


# (plain classes, not dataclasses: importing dataclasses costs `lind run` 15 ms of start-up)


class Usage:
    """What a cage (its main thread, for CPU time) and its whole tree used."""

    def __init__(self, cpu_time: float = 0.0, peak_memory: int = 0, syscalls: int = 0,
                 tree_cpu_time: float = 0.0, tree_peak_memory: int = 0) -> None:
        self.cpu_time = cpu_time  # seconds of CPU of the OS thread that ran the cage's main thread
        self.peak_memory = peak_memory  # bytes: the largest its linear memory grew
        self.syscalls = syscalls  # system calls made by all its threads
        self.tree_cpu_time = tree_cpu_time  # seconds of CPU of every thread of every cage of the tree
        self.tree_peak_memory = tree_peak_memory  # bytes: the most linear memory the tree's cages had at once

    def __repr__(self) -> str:
        return (f"Usage(cpu_time={self.cpu_time}, peak_memory={self.peak_memory}, syscalls={self.syscalls}, "
                f"tree_cpu_time={self.tree_cpu_time}, tree_peak_memory={self.tree_peak_memory})")


# Why a tree was killed (native/kern/tree.h: enum tree_end).
TREE_RUNNING, TREE_ROOT_ENDED, TREE_KILLED, TREE_WALL_LIMIT, TREE_CPU_LIMIT = range(5)

# Verdicts, as a code judge reports them (isolate's meta file is the model).
OK, RUNTIME_ERROR, SIGNALED, TIME_LIMIT, WALL_LIMIT, MEMORY_LIMIT = (
    "OK", "RUNTIME_ERROR", "SIGNALED", "TIME_LIMIT", "WALL_LIMIT", "MEMORY_LIMIT")


def verdict(exit_code: int | None, sig: int | None, end_reason: int, mem_limit_hit: bool, trap: str | None,
            tree_cpu_time: float) -> tuple[str, str]:
    """(verdict, one-line message) of a tree that ended so. A limit that killed the tree wins; a
    program that failed after a memory request was refused by the limit gets MEMORY_LIMIT."""
    if end_reason == TREE_CPU_LIMIT:
        return TIME_LIMIT, f"CPU time limit exceeded ({tree_cpu_time:.3f} s used by the tree)"
    if end_reason == TREE_WALL_LIMIT:
        return WALL_LIMIT, "wall-time limit exceeded"
    failed = sig is not None or (exit_code or 0) != 0
    if mem_limit_hit and failed:
        return MEMORY_LIMIT, "memory limit reached (an allocation was refused), then " + (
            f"exit code {exit_code}" if sig is None else f"signal {sig}")
    if sig is not None:
        if end_reason == TREE_KILLED:
            return SIGNALED, "killed by the embedder"
        try:
            import signal as _signal

            name = _signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return SIGNALED, f"killed by {name}" + (f" ({trap})" if trap else "")
    if exit_code:
        return RUNTIME_ERROR, f"exit code {exit_code}"
    return OK, "exited normally"


class CageResult:
    """How a cage ended: exit_code when it exited, signal when it was killed (a trap counts as the
    matching signal)."""

    def __init__(self, pid: int, exit_code: int | None, signal: int | None, trap: str | None = None,
                 usage: Usage | None = None) -> None:
        self.pid, self.exit_code, self.signal, self.trap = pid, exit_code, signal, trap
        self.usage = usage or Usage()
        self.wall_time_exceeded = False  # its tree was killed by the wall-time limit
        self.elapsed: float | None = None  # seconds from its start to its end (run_prepared)
        self.verdict, self.message = OK, "exited normally"  # see verdict()

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
        self.cpu_time = cpu_time  # seconds of CPU of the whole tree (ms precision): then it is killed
        self.wall_time = wall_time  # seconds: the whole tree gets SIGKILL
        self.max_fds = max_fds  # RLIMIT_NOFILE: EMFILE beyond
        self.max_cages = max_cages  # size of the cage tree: fork gets EAGAIN beyond

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Limits) and all(getattr(self, f) == getattr(other, f) for f in self.FIELDS)

    def __repr__(self) -> str:
        return "Limits(" + ", ".join(f"{f}={getattr(self, f)!r}" for f in self.FIELDS) + ")"


RLIMIT_CPU, RLIMIT_NOFILE = 0, 7

# What a tree gets when the embedder gives no limit: bounds a server can live with (docs/security.md).
# Each is raised by giving the limit explicitly. (Open files: 1,024 per cage, native/kern/cage.c.)
DEFAULT_MEM = 1 << 30  # bytes of linear memory per cage
DEFAULT_MAX_CAGES = 256  # live cages per tree


class CageSpec:
    """What to run in a new cage tree."""

    def __init__(self, program: Path | str, argv: list[str], env: dict[str, str] | None = None,
                 root: Path | str | None = None, cwd: str = "/", stdio: tuple[int, int, int] = (0, 1, 2),
                 mem_limit: int | None = None, limits: Limits | None = None, net: int | None = None,
                 programs: dict[str, Program] | None = None) -> None:
        self.program = program  # (kept as given: making Path objects costs a short job several us)
        self.argv = argv
        self.env = env if env is not None else {}
        self.root = root if root is not None else os.getcwd()
        self.cwd = cwd
        self.stdio = stdio
        self.mem_limit = mem_limit
        self.limits = limits or Limits()
        self.net = net  # network policy: 0 none, 1 loopback, 2 host (None: the process default)
        # programs the tree is given by name: an exec of that very name runs it (a stack of grates:
        # lind_aot/threei/grates.py)
        self.programs = programs or {}


def wait_in_slices(wait_ms: Callable[[int], object], timeout: float | None) -> bool:
    """Calls wait_ms(ms), a data-plane wait that gives up after ms milliseconds, until it reports
    success or timeout seconds (None: for ever) have passed. In slices of 0.5 s, so that a main
    thread waiting in C still sees Ctrl-C."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = 0.5 if deadline is None else min(0.5, max(0.0, deadline - time.monotonic()))
        if wait_ms(int(left * 1000)):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False


class CageHandle:
    """A running cage tree started by Microvisor.start (its root cage runs on a data-plane runner
    thread: native/rt/runner.c, lind_cage_start). Thread-safe."""

    def __init__(self, pid: int, lib: ctypes.CDLL, handle: int) -> None:
        self.pid = pid
        self._lib, self._handle = lib, handle
        self._result: CageResult | None = None
        self.wall_time_exceeded = False
        weakref.finalize(self, lib.lind_handle_free, handle)

    def wait(self, timeout: float | None = None) -> CageResult | None:
        """The root cage's result, or None if it is still running after timeout seconds."""
        if self._result is None:
            res = _Result()
            if not wait_in_slices(lambda ms: self._lib.lind_handle_wait(self._handle, ms, ctypes.byref(res)), timeout):
                return None
            r = Microvisor._result(res)
            self.wall_time_exceeded = r.wall_time_exceeded
            self._result = r
        return self._result


class _Setup(ctypes.Structure):
    """How to make a tree's root cage (native/rt/runner.h: struct lind_cage_setup)."""

    _fields_ = [
        ("root", ctypes.c_char_p),
        ("cwd", ctypes.c_char_p),
        ("stdio", ctypes.c_int32 * 3),
        ("net", ctypes.c_int32),
        ("args", ctypes.c_char_p),
        ("args_len", ctypes.c_uint32),
        ("argc", ctypes.c_uint32),
        ("envc", ctypes.c_uint32),
        ("max_cages", ctypes.c_uint32),
        ("mem_limit", ctypes.c_uint64),
        ("cpu_ms", ctypes.c_int64),
        ("max_fds", ctypes.c_int64),
        ("wall_ms", ctypes.c_int64),
        ("module", ctypes.c_void_p),
        ("nprograms", ctypes.c_uint32),
        ("program_names", ctypes.POINTER(ctypes.c_char_p)),
        ("program_modules", ctypes.POINTER(ctypes.c_void_p)),
        ("error", ctypes.c_char * 256),
    ]


class _Result(ctypes.Structure):
    """How a cage ended (native/rt/runner.c: struct lind_result)."""

    _fields_ = [
        ("exited", ctypes.c_int32),
        ("exit_code", ctypes.c_int32),
        ("signal", ctypes.c_int32),
        ("end_reason", ctypes.c_int32),
        ("not_started", ctypes.c_int32),
        ("pid", ctypes.c_int32),
        ("syscalls", ctypes.c_uint64),
        ("peak_memory", ctypes.c_uint64),
        ("cpu_ns", ctypes.c_uint64),
        ("wall_ns", ctypes.c_uint64),
        ("tree_cpu_ns", ctypes.c_uint64),
        ("tree_peak_memory", ctypes.c_uint64),
        ("mem_limit_hit", ctypes.c_int32),
        ("tree_complete", ctypes.c_int32),
        ("trap", ctypes.c_char * 512),
    ]


class Microvisor:
    """The process-wide owner of cages."""

    def __init__(self, cache: ArtifactCache | None = None) -> None:
        lib = self.lib = native.load()
        self.cache = cache or ArtifactCache()
        self._lock = threading.Lock()
        self._exec_cb = _EXEC_LOAD_T(self._exec_load)
        lib.lind_set_callbacks(ctypes.cast(self._exec_cb, ctypes.c_void_p))

    # ---- the callback from C (it must never raise) ----

    def _exec_load(self, pid: int, fd: int, out: ctypes._Pointer) -> int:  # type: ignore[type-arg]
        """Loads the program an exec names (from its open host fd) before the old one goes."""
        try:
            size = os.fstat(fd).st_size
            data = os.pread(fd, size, 0)
            program = self.cache.load(data, f"exec by cage {pid}")
            out[0] = self.lib.lind_module_ref(program.handle)  # C owns this reference
        except CacheError:
            return -ENOEXEC
        except MemoryError:
            return -ENOMEM
        except Exception:  # noqa: BLE001 - never let an exception cross into C
            return -ENOEXEC
        return 0

    # ---- running ----

    def load(self, program: Path | str) -> Program:
        try:
            wasm = Path(program).read_bytes()
        except OSError as e:
            raise LindError(f"{program}: {e.strerror}") from None
        return self.cache.load(wasm, str(program))

    def _setup(self, spec: CageSpec, module: Program | None) -> _Setup:
        """What native/rt/runner.c's lind_cage_create needs to make the tree's root cage."""
        program = module or self.load(spec.program)
        env = {**DEFAULT_ENV, **spec.env}
        strings = [a.encode() for a in spec.argv] + [f"{k}={v}".encode() for k, v in env.items()]
        if any(b"\0" in s for s in strings):
            raise LindError("argv and environment strings cannot contain NUL bytes")
        blob = b"".join(s + b"\0" for s in strings)
        lim = spec.limits
        s = _Setup(root=os.fspath(spec.root).encode(), cwd=spec.cwd.encode(), stdio=spec.stdio,
                   net=-1 if spec.net is None else spec.net, args=blob, args_len=len(blob), argc=len(spec.argv),
                   envc=len(env), max_cages=lim.max_cages or DEFAULT_MAX_CAGES,
                   mem_limit=lim.mem or spec.mem_limit or DEFAULT_MEM,
                   cpu_ms=-1 if lim.cpu_time is None else max(1, round(lim.cpu_time * 1000)),
                   max_fds=-1 if lim.max_fds is None else lim.max_fds,
                   wall_ms=-1 if lim.wall_time is None else max(0, int(lim.wall_time * 1000)), module=program.handle)
        s.program = program  # (alive as long as the set-up)
        if spec.programs:
            names = [n.encode() for n in spec.programs]
            s.program_names = (ctypes.c_char_p * len(names))(*names)
            s.program_modules = (ctypes.c_void_p * len(names))(*(p.handle for p in spec.programs.values()))
            s.nprograms = len(names)
            s.programs = list(spec.programs.values())  # (alive as long as the set-up, like program)
        return s

    def prepare(self, spec: CageSpec, module: Program | None = None) -> tuple[int, int, int]:
        """A new cage tree with its first instance, ready for run_prepared: (cage, pid, instance).
        The cage holds its own copies of spec.stdio from here on."""
        s = self._setup(spec, module)
        inst = ctypes.c_void_p()
        cage = self.lib.lind_cage_create(ctypes.byref(s), ctypes.byref(inst))
        if not cage:
            raise LindError(s.error.decode(errors="replace"))
        return int(cage), int(self.lib.lind_cage_pid(cage)), int(inst.value or 0)

    def create_run_many(self, jobs: list[tuple[CageSpec, Program | None, int | None]]) -> list[CageResult | LindError]:
        """New cage trees made and run to their ends one after another on the calling thread, in one
        call into the data plane, for (spec, program, capture) each (see run_prepared). A job
        that cannot start gets its LindError in its place."""
        out: list[CageResult | LindError | None] = [None] * len(jobs)
        setups: list[tuple[int, _Setup, int | None]] = []
        for i, (spec, module, capture) in enumerate(jobs):
            try:
                setups.append((i, self._setup(spec, module), capture))
            except LindError as e:
                out[i] = e
        n = len(setups)
        arr = (_Setup * n)(*(s for _, s, _ in setups))
        res = (_Result * n)()
        caps = (ctypes.c_void_p * n)(*(c for _, _, c in setups))
        self.lib.lind_cage_create_run_many(n, arr, res, caps)  # without Python's lock
        for k, (i, _, _) in enumerate(setups):
            r = res[k]
            out[i] = LindError(arr[k].error.decode(errors="replace")) if r.not_started else self._result(r)
        return out  # type: ignore[return-value]

    def start(self, spec: CageSpec, module: Program | None = None) -> CageHandle:
        """Starts a new cage tree on its own OS thread."""
        cage, pid, inst = self.prepare(spec, module)
        h = self.lib.lind_cage_start(cage, inst)
        if not h:
            raise LindError("cannot start a thread to run the cage")
        return CageHandle(pid, self.lib, h)

    def run_prepared(self, cage: int, inst: int, capture: int | None = None) -> CageResult:
        """Runs a prepared root cage to its end on the calling thread (no hand-off to another thread:
        the fastest way to run short programs one after another); its children run on their own.
        With a capture (native/rt/capture.c), returns once its streams are closed too."""
        res = _Result()
        one = ctypes.c_void_p * 1
        self.lib.lind_cage_run_many(1, one(cage), one(inst), ctypes.byref(res), one(capture))  # without the GIL
        return self._result(res)

    @staticmethod
    def _result(res: _Result) -> CageResult:
        pid = int(res.pid)
        usage = Usage(res.cpu_ns / 1e9, int(res.peak_memory), int(res.syscalls), res.tree_cpu_ns / 1e9,
                      int(res.tree_peak_memory))
        if not res.exited:  # _start returned
            r = CageResult(pid, 0, None, usage=usage)
        elif res.signal:
            trap = res.trap.decode(errors="replace")
            shown = trap if trap and "lind: cage" not in trap else None
            r = CageResult(pid, None, int(res.signal), shown, usage)
        else:
            r = CageResult(pid, int(res.exit_code), None, usage=usage)
        r.wall_time_exceeded = res.end_reason == TREE_WALL_LIMIT
        r.elapsed = res.wall_ns / 1e9
        r.verdict, r.message = verdict(r.exit_code, r.signal, int(res.end_reason), bool(res.mem_limit_hit),
                                       r.trap, usage.tree_cpu_time)
        return r

    def run(self, spec: CageSpec, module: Program | None = None, wait_all: bool = True) -> CageResult:
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
        wait_in_slices(lambda ms: self.lib.lind_tree_wait(pid, ms), None)

    def kill(self, pid: int, sig: int) -> int:
        """kill(2) from outside the cages: pid > 0 one cage, pid < 0 the process group -pid."""
        if pid < 0:
            return int(self.lib.lind_kill_group(-pid, sig))
        return int(self.lib.lind_kill(pid, sig))

    def kill_tree(self, root: int) -> bool:
        """Kills every cage of the tree started as `root`, now and for good (no cage can block,
        ignore or outrun it by forking); False if none of them was alive."""
        return int(self.lib.lind_tree_kill(root)) == 0


_microvisor: Microvisor | None = None
_mv_lock = threading.Lock()


def microvisor(cache: ArtifactCache | None = None) -> Microvisor:
    """The process-wide microvisor (created on first use)."""
    global _microvisor
    with _mv_lock:
        if _microvisor is None:
            _microvisor = Microvisor(cache)
        return _microvisor


def run_cage(spec: CageSpec, cache: ArtifactCache | None = None, module: Program | None = None) -> CageResult:
    """Runs one cage tree to its end on the calling thread."""
    mv = microvisor(cache)
    if cache is not None:
        mv.cache = cache
    return mv.run(spec, module)
