"""The embedding API: run untrusted C programs (compiled with `lind cc`) as cages from Python.

    from lind_aot.api import Sandbox, Limits

    sb = Sandbox(root="/srv/jail", limits=Limits(mem=256 << 20, cpu_time=5, wall_time=10))
    p = sb.spawn("hello.wasm", ["world"], stdin=b"input")
    r = p.wait()
    print(r.returncode, r.stdout, r.usage.wall_time)

Every cage runs inside this host process (one process-wide `Microvisor`), each cage tree on its own
OS thread. `Sandbox.spawn` is thread-safe: many threads may spawn and wait at once. Captured output
and stdin are moved by one I/O thread of the data plane (native/rt/capture.c, epoll), so a spawn costs
pipes, not extra threads; output callbacks are called on that thread.

`AsyncSandbox` wraps the same for asyncio.

Semantics worth knowing:

* `program` is a host path to a `.wasm` file (like `lind run`); the cage sees `root` as `/`.
* `grates=[...]` (of the sandbox, or of one spawn) runs the program below grates, given like the
  program as host paths (with their options: `"strace.wasm --out /t.txt"`), **outermost first**:
  the last one listed is closest to the program and sees its calls first (lind_aot/threei/grates.py).
  Neither needs to be inside the root. `lind_aot.threei.routes` shows which calls of a live cage go
  to which grate (`Process.routes()` for the cages of a spawned tree).
* `argv` are the arguments after argv[0]; argv[0] is the program path as given.
* `returncode` follows `subprocess`: the exit code, or `-N` if the cage died of signal N (a wasm trap
  counts as the signal the same fault raises natively: SIGSEGV, SIGILL, SIGFPE, ...). `status` is the
  shell's convention (`N` or `128+N`), which is also what `lind run` exits with.
* `wait()` returns once the root cage has ended *and* the captured output streams are closed, i.e.
  every cage that inherited them (children, orphans) has ended or closed them.
* Resource usage (`Result.usage`): `wall_time` is measured from just before the cage starts to its
  end (the close of its captured output, else the moment `wait` saw it end). `cpu_time` is the CPU
  time of the OS thread that ran the root cage's main thread (its children, other threads and grate
  workers run on other OS threads and are not included), `peak_memory` the largest the root cage's
  linear memory grew, `syscalls` the system calls made by all the root cage's threads (not its
  children's). Each is None when the microvisor in use does not report it (see `ResourceUsage`).
* The network policy (`net=`) is set per cage (`CageSpec.net`); its children inherit it.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lind_aot.cache.store import ArtifactCache, CacheError
from lind_aot.threei import grates as _grates
from lind_aot.threei import routes as _routes
from lind_aot.threei.grates import GrateSpec
from lind_aot.vmm import cage as _cage
from lind_aot.vmm.cage import CageHandle, CageResult, CageSpec, Limits, LindError, microvisor, wait_in_slices
from lind_aot.vmm.native import Program

__all__ = [
    "DEVNULL", "AsyncProcess", "AsyncSandbox", "CacheError", "HereJob", "Limits", "LindError", "Process",
    "ResourceUsage", "Result", "Sandbox", "SpawnError", "NET_POLICIES",
]

NET_POLICIES: dict[str, int] = {"none": 0, "loopback": 1, "host": 2}
NetPolicy = Literal["none", "loopback", "host"]

DEVNULL = -3
"""For stdin/stdout/stderr: the host's /dev/null (no capture, nothing read)."""

OutputSink = Callable[[bytes], object]
Output = OutputSink | int | None


class SpawnError(LindError):
    """The program could not be started (missing file, not a lind program, bad root, ...)."""


# ---- captured stdout/stderr and fed stdin, serviced by the data plane's I/O thread ----

CAP_STDIN, CAP_STDOUT, CAP_STDERR, CAP_STDOUT_SINK, CAP_STDERR_SINK = 1, 2, 4, 8, 16
_SINK_T = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_char), ctypes.c_size_t)
_sinks: dict[int, tuple[OutputSink | None, OutputSink | None]] = {}  # capture -> (stdout, stderr) callbacks
_sinks_lock = threading.Lock()


def _to_sink(cap: int, which: int, data: ctypes._Pointer, n: int) -> None:  # type: ignore[type-arg]
    """Called by the data plane's I/O thread with a chunk of streamed output."""
    with _sinks_lock:
        pair = _sinks.get(cap)
    fn = pair[which - 1] if pair else None
    if fn is not None:
        try:
            fn(ctypes.string_at(data, n))
        except Exception as e:  # noqa: BLE001 - a bad callback must not stop the I/O thread
            print(f"lind: output callback failed: {e!r}", file=sys.stderr)


_sink_cb = _SINK_T(_to_sink)
_sink_set = False


def _forget(lib: ctypes.CDLL, cap: int) -> None:
    with _sinks_lock:
        _sinks.pop(cap, None)
    lib.lind_capture_free(cap)


class _Capture:
    """A process's pipes (native/rt/capture.c): stdin fed from bytes, stdout and stderr kept (up to
    max_output) or streamed to callbacks. `cage_fds` are the ends for the cage (-1 where the caller
    gives its own); close_cage_ends() once the cage holds its copies."""

    def __init__(self, lib: ctypes.CDLL, max_output: int | None, stdin: bytes | None, out: Output,
                 err: Output) -> None:
        global _sink_set
        flags = CAP_STDIN if stdin is not None else 0
        for spec, keep, stream in ((out, CAP_STDOUT, CAP_STDOUT_SINK), (err, CAP_STDERR, CAP_STDERR_SINK)):
            if spec is None:
                flags |= keep
            elif callable(spec):
                flags |= keep | stream
        fds = (ctypes.c_int * 3)()
        data = bytes(stdin or b"")
        self._lib = lib
        self.ptr = int(lib.lind_capture_new(max_output if max_output is not None else sys.maxsize, data, len(data),
                                            flags, fds) or 0)
        if not self.ptr:
            raise SpawnError("cannot make the pipes of the cage's stdio")
        self.cage_fds = [fds[0], fds[1], fds[2]]
        if flags & (CAP_STDOUT_SINK | CAP_STDERR_SINK):
            with _sinks_lock:
                if not _sink_set:
                    lib.lind_capture_set_sink(ctypes.cast(_sink_cb, ctypes.c_void_p))
                    _sink_set = True
                _sinks[self.ptr] = (out if callable(out) else None, err if callable(err) else None)
        weakref.finalize(self, _forget, lib, self.ptr)

    def close_cage_ends(self) -> None:
        self._lib.lind_capture_close_cage_ends(self.ptr)

    def data(self, which: int) -> bytes:
        """What stdout (1) or stderr (2) wrote so far (b"" when streamed)."""
        while True:
            n = self._lib.lind_capture_copy(self.ptr, which, None, 0)
            if not n:
                return b""
            buf = ctypes.create_string_buffer(n)
            if self._lib.lind_capture_copy(self.ptr, which, buf, n) == n:
                return buf.raw

    def wait(self, timeout: float | None) -> bool:
        """Whether every stream closed within timeout seconds (None: waits for ever)."""
        return wait_in_slices(lambda ms: self._lib.lind_capture_wait(self.ptr, ms), timeout)

    @property
    def closed_at(self) -> float | None:
        """time.monotonic() when the last stream closed."""
        ns = self._lib.lind_capture_closed_ns(self.ptr)
        return ns / 1e9 if ns else None

    @property
    def truncated(self) -> bool:
        return bool(self._lib.lind_capture_truncated(self.ptr))


_devnull_fds: dict[int, int] = {}
_devnull_lock = threading.Lock()


def _devnull(flags: int) -> int:
    with _devnull_lock:
        fd = _devnull_fds.get(flags)
        if fd is None:
            fd = _devnull_fds[flags] = os.open(os.devnull, flags | os.O_CLOEXEC)
        return fd


# ---- results ----


@dataclass(frozen=True)
class ResourceUsage:
    """What a finished cage used. Fields the microvisor does not report are None."""

    wall_time: float
    """Seconds from just before the start of the cage to its end."""
    cpu_time: float | None = None
    """CPU seconds of the root cage's main thread (not its children or other threads)."""
    peak_memory: int | None = None
    """Bytes: the largest the root cage's linear memory grew."""
    syscalls: int | None = None
    """System calls made by the root cage's threads (not its children's)."""
    tree_cpu_time: float | None = None
    """CPU seconds of every thread of every cage of the tree (what the cpu_time limit counts)."""
    tree_peak_memory: int | None = None
    """Bytes: the most linear memory the tree's cages had at once."""


@dataclass(frozen=True)
class Result:
    """How a cage ended, and what it wrote."""

    pid: int
    returncode: int
    """The exit code, or -N after signal N (like subprocess)."""
    exit_code: int | None
    signal: int | None
    stdout: bytes
    """Captured output (b"" when streamed to a callback or passed to a host fd)."""
    stderr: bytes
    usage: ResourceUsage
    trap: str | None = None
    """The wasm trap message when a trap ended the cage."""
    wall_time_exceeded: bool = False
    """The wall-time limit ended it."""
    output_truncated: bool = False
    """More than the sandbox's max_output was written; the rest was dropped."""
    verdict: str = "OK"
    """How it ended, as a judge says it: OK, RUNTIME_ERROR (non-zero exit), SIGNALED (a signal or a
    trap; Process.kill too), TIME_LIMIT (the tree's CPU time), WALL_LIMIT, MEMORY_LIMIT (it failed
    after the memory limit refused an allocation)."""
    message: str = "exited normally"
    """One line on the verdict."""

    @property
    def status(self) -> int:
        """The shell's convention: the exit code, or 128+N after signal N."""
        return self.exit_code if self.signal is None else 128 + self.signal  # type: ignore[operator]

    @property
    def signal_name(self) -> str | None:
        if self.signal is None:
            return None
        try:
            return signal.Signals(self.signal).name
        except ValueError:
            return f"SIG{self.signal}"


class Process:
    """A running cage tree started by `Sandbox.spawn`. Thread-safe."""

    def __init__(self, handle: CageHandle, started: float, capture: _Capture) -> None:
        self._handle = handle
        self._started = started  # time.monotonic()
        self._capture = capture
        self._result: Result | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int:
        """The root cage's pid inside the sandbox (also its process group)."""
        return self._handle.pid

    @property
    def stdout(self) -> bytes:
        """stdout captured so far (all of it once wait() returned a Result)."""
        return self._capture.data(1)

    @property
    def stderr(self) -> bytes:
        return self._capture.data(2)

    @property
    def returncode(self) -> int | None:
        """None while running; else the exit code or -signal (see Result.returncode)."""
        return self._result.returncode if self._result is not None else None

    @property
    def status(self) -> int | None:
        """None while running; else the exit code or 128+signal."""
        return self._result.status if self._result is not None else None

    @property
    def result(self) -> Result | None:
        return self._result

    def poll(self) -> Result | None:
        """The result if the process has ended, without waiting."""
        return self.wait(0)

    def wait(self, timeout: float | None = None) -> Result | None:
        """Waits for the root cage to end and its captured output to close; None on timeout."""
        if self._result is not None:
            return self._result
        deadline = None if timeout is None else time.monotonic() + timeout
        r = self._handle.wait(timeout)
        if r is None:
            return None
        seen = time.monotonic()
        if not self._capture.wait(None if deadline is None else max(0.0, deadline - time.monotonic())):
            return None
        with self._lock:
            if self._result is None:
                closed = self._capture.closed_at
                end = min(seen, closed) if closed is not None else seen
                self._result = _result(r, self.stdout, self.stderr, max(0.0, end - self._started),
                                       self._capture.truncated)
            return self._result

    def kill(self, sig: int = signal.SIGKILL) -> bool:
        """Sends sig to the cage tree (its process group; the root cage alone if it left it).
        SIGKILL ends every cage of the tree, wherever it is and whatever it does (forking, spinning,
        blocked, blocking signals), within milliseconds. False if there was nothing to signal (it
        already ended)."""
        mv = microvisor()
        if sig == signal.SIGKILL:
            return mv.kill_tree(self.pid)
        if mv.kill(-self.pid, int(sig)) >= 0:
            return True
        return mv.kill(self.pid, int(sig)) >= 0

    def terminate(self) -> bool:
        return self.kill(signal.SIGTERM)

    def routes(self) -> dict[int, dict[str, tuple[int, int]]]:
        """For debugging: which calls of each live cage of the tree a grate answers, as
        {pid: {call name: (grate pid, handler)}} (lind_aot.threei.routes; empty once it has ended)."""
        return _routes.tree_tables(self.pid)


def _merge(base: Limits, over: Limits | None) -> Limits:
    if over is None:
        return base
    vals = {f: getattr(over, f) for f in Limits.FIELDS}
    merged = {f: getattr(base, f) for f in Limits.FIELDS}
    merged.update({k: v for k, v in vals.items() if v is not None})
    return Limits(**merged)


_caches: dict[Path, ArtifactCache] = {}
_cache_lock = threading.Lock()


def _open_cache(path: str | os.PathLike[str] | None) -> ArtifactCache:
    """One ArtifactCache per directory per process (an LMDB environment must not be opened twice)."""
    with _cache_lock:
        if path is None:
            from lind_aot.paths import aot_cache_dir

            key = aot_cache_dir().resolve()
        else:
            key = Path(path).resolve()
        c = _caches.get(key)
        if c is None:
            mv = _cage._microvisor  # the process-wide one, if it exists: reuse its cache
            c = mv.cache if mv is not None and mv.cache.path.resolve() == key else ArtifactCache(key)
            _caches[key] = c
        return c




@dataclass(frozen=True)
class HereJob:
    """One program for Sandbox.run_many_here: the arguments of run_here."""

    program: str | os.PathLike[str]
    argv: Sequence[str] = ()
    env: dict[str, str] | None = None
    stdin: bytes | None = None
    limits: Limits | None = None
    cwd: str | None = None
    module: Program | None = None


class Sandbox:
    """A place to run cages: a root directory, an AOT cache, a network policy, default limits.

    Args:
        root: the host directory every cage of this sandbox sees as `/`. Default: a new empty
            private temporary directory (removed at exit of the host process is *not* attempted).
        cache: the AOT artifact cache (an ArtifactCache, or its directory). Default: $LIND_CACHE or
            ~/.cache/lind-aot/aot.
        net: "none" (no IP networking), "loopback" (127.0.0.1/::1 only, the default) or "host".
        limits: default limits of every cage (a spawn's own limits override field by field).
        env: environment added to every cage (besides PATH and HOME).
        cwd: the starting directory inside the root.
        max_output: bytes of stdout and of stderr kept per process (the rest is drained and
            dropped; Result.output_truncated tells). Default 64 MiB; None: unlimited.
        grates: grates every program of this sandbox runs below (host paths, each with its
            options), outermost first: the last one is closest to the program. A spawn's own
            `grates` replaces them.

    With no limits given, a tree gets 1 GiB of memory per cage, 256 live cages and 1,024 open
    files per cage, and no time limit (lind_aot.vmm.cage: DEFAULT_MEM, DEFAULT_MAX_CAGES); a limit
    given explicitly replaces its default, higher or lower.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None, cache: ArtifactCache | str | os.PathLike[str] |
                 None = None, net: NetPolicy = "loopback", limits: Limits | None = None,
                 env: dict[str, str] | None = None, cwd: str = "/", max_output: int | None = 64 << 20,
                 grates: Sequence[GrateSpec] = ()) -> None:
        if net not in NET_POLICIES:
            raise ValueError(f"net must be one of {', '.join(NET_POLICIES)}, not {net!r}")
        if root is None:
            import tempfile

            root = tempfile.mkdtemp(prefix="lind-root-")
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise SpawnError(f"{self.root}: root is not a directory")
        self.cache = cache if isinstance(cache, ArtifactCache) else _open_cache(cache)
        self.net: NetPolicy = net
        self.limits = limits or Limits()
        self.env = dict(env or {})
        self.cwd = cwd
        self.max_output = max_output
        self.grates = [_grates.Grate.of(g) for g in grates]
        self._mv = microvisor(self.cache)
        self._modules: dict[tuple[str, int, int, int], Program] = {}
        self._mlock = threading.Lock()

    # ---- programs ----

    def load(self, program: str | os.PathLike[str]) -> Program:
        """The compiled module of a host .wasm file (AOT cache; remembered while the file is unchanged)."""
        path = os.fspath(program)
        try:
            st = os.stat(path)
        except OSError as e:
            raise SpawnError(f"{program}: {e.strerror}") from None
        key = (path, st.st_ino, st.st_size, st.st_mtime_ns)
        with self._mlock:
            mod = self._modules.get(key)
        if mod is not None:
            return mod
        try:
            wasm = Path(path).read_bytes()
        except OSError as e:
            raise SpawnError(f"{program}: {e.strerror}") from None
        mod = self.cache.load(wasm, str(program))
        with self._mlock:
            if len(self._modules) >= 256:
                self._modules.clear()
            self._modules[key] = mod
        return mod

    def _stack(self, program: str | os.PathLike[str], args: Sequence[str],
               grates: Sequence[GrateSpec] | None) -> tuple[str, list[str], Program, dict[str, Program]]:
        """What the tree's root cage runs for program (below the grates: the sandbox's unless given):
        its host path, its argv, its module, and the programs the tree is given by name."""
        st = _grates.stack(self.grates if grates is None else grates, program, args)
        try:
            top, below = _grates.programs(st, self.load)
        except CacheError as e:
            raise SpawnError(str(e)) from None
        return st.top, st.argv, top, below

    # ---- spawning ----

    def spawn(self, program: str | os.PathLike[str], argv: Sequence[str] | None = None,
              env: dict[str, str] | None = None, stdin: bytes | int | None = None, limits: Limits | None = None,
              grates: Sequence[GrateSpec] | None = None, stdout: Output = None, stderr: Output = None,
              cwd: str | None = None) -> Process:
        """Starts a cage tree running `program` and returns at once.

        Args:
            program: host path of the .wasm file.
            argv: the arguments (argv[1:]); argv[0] is `program` as given.
            env: environment variables, added to the sandbox's.
            stdin: bytes to feed (then EOF), a host fd to share (not closed), DEVNULL, or None
                (empty: /dev/null).
            limits: overrides of the sandbox's limits, field by field.
            grates: grates to run the program below (host paths, each with its options),
                outermost first; None: the sandbox's.
            stdout, stderr: None to capture (Result.stdout), a callable to receive the output in
                chunks as it comes (called on the shared I/O thread: keep it quick), a host fd to
                write to directly, or DEVNULL.
            cwd: the starting directory inside the root (default: the sandbox's).

        Raises:
            SpawnError: the program (or a grate) is missing or not a lind program, or the root or
                cwd is unusable.
        """
        host_prog, full, module, below = self._stack(program, [str(a) for a in (argv or ())], grates)
        feed = stdin if isinstance(stdin, bytes | bytearray | memoryview) else None
        capture = _Capture(self._mv.lib, self.max_output, bytes(feed) if feed is not None else None, stdout, stderr)
        stdio = list(capture.cage_fds)  # where the caller gives its own fd (or DEVNULL), that one
        if isinstance(stdin, int):
            stdio[0] = _devnull(os.O_RDONLY) if stdin == DEVNULL else stdin
        for i, spec_out in ((1, stdout), (2, stderr)):
            if isinstance(spec_out, int):
                stdio[i] = _devnull(os.O_WRONLY) if spec_out == DEVNULL else spec_out
        spec = CageSpec(program=host_prog, argv=full, env={**self.env, **(env or {})}, root=self.root,
                        cwd=cwd or self.cwd, stdio=(stdio[0], stdio[1], stdio[2]), limits=_merge(self.limits, limits),
                        net=NET_POLICIES[self.net], programs=below)
        started = time.monotonic()
        try:
            handle = self._mv.start(spec, module)
        except LindError as e:
            raise SpawnError(str(e)) from None
        finally:
            capture.close_cage_ends()  # the cage holds its own copies now (or failed to start)
        return Process(handle, started, capture)

    def run_here(self, program: str | os.PathLike[str], argv: Sequence[str] | None = None, *,
                 env: dict[str, str] | None = None, stdin: bytes | None = None, limits: Limits | None = None,
                 cwd: str | None = None, module: Program | None = None) -> Result:
        """Runs a cage tree on the calling thread until its root cage ends and its output is closed,
        with stdout and stderr captured by the data plane (no Python I/O thread, no hand-off): the
        fastest way to run many short programs (`lind batch` uses it). Arguments as for spawn(),
        below the sandbox's grates; no output callbacks; `module` is the program already loaded with
        load() (not checked again against the file; ignored below grates). Thread-safe: run it from
        several threads at once."""
        r = self.run_many_here([HereJob(program, tuple(argv or ()), env, stdin, limits, cwd, module)])[0]
        if isinstance(r, SpawnError):
            raise r
        return r

    def run_many_here(self, jobs: Sequence[HereJob]) -> list[Result | SpawnError]:
        """run_here for several programs, made and run one after another in a single call into the
        data plane (for jobs of a fraction of a millisecond, returning to Python between them costs
        more than the jobs). A job that cannot start gets its SpawnError in its place; the others
        still run. Each job's wall-time limit and usage.wall_time count from its own start."""
        out: list[Result | SpawnError | None] = [None] * len(jobs)
        todo: list[tuple[int, CageSpec, Program, _Capture]] = []
        for i, job in enumerate(jobs):
            try:
                todo.append((i, *self._here_spec(job)))
            except SpawnError as e:
                out[i] = e
        results = self._mv.create_run_many([(spec, prog, cap.ptr) for _, spec, prog, cap in todo])
        for (i, _, _, cap), r in zip(todo, results, strict=True):
            out[i] = SpawnError(str(r)) if isinstance(r, LindError) else \
                _result(r, cap.data(1), cap.data(2), r.elapsed or 0.0, cap.truncated)
        return out  # type: ignore[return-value]

    def _here_spec(self, job: HereJob) -> tuple[CageSpec, Program, _Capture]:
        """A job's cage spec, program and capture (the spec's stdio are the capture's cage ends)."""
        module, below = job.module, {}
        program, argv = job.program, [str(job.program), *(str(a) for a in job.argv)]
        if self.grates:
            program, argv, module, below = self._stack(job.program, argv[1:], None)
        elif module is None:
            try:
                module = self.load(job.program)
            except CacheError as e:
                raise SpawnError(str(e)) from None
        cap = _Capture(self._mv.lib, self.max_output, job.stdin, None, None)
        fds = cap.cage_fds
        spec = CageSpec(program=program, argv=argv, env={**self.env, **(job.env or {})}, root=self.root,
                        cwd=job.cwd or self.cwd, stdio=(fds[0], fds[1], fds[2]), limits=_merge(self.limits, job.limits),
                        net=NET_POLICIES[self.net], programs=below)
        return spec, module, cap

    def run(self, program: str | os.PathLike[str], argv: Sequence[str] | None = None, *,
            timeout: float | None = None, **kw: object) -> Result:
        """spawn() then wait(); on timeout the tree is killed (SIGKILL) and its result returned."""
        p = self.spawn(program, argv, **kw)  # type: ignore[arg-type]
        r = p.wait(timeout)
        if r is None:
            p.kill()
            r = p.wait()
        assert r is not None
        return r


def _result(r: CageResult, out: bytes, err: bytes, wall_time: float, truncated: bool) -> Result:
    usage = ResourceUsage(wall_time=wall_time, cpu_time=r.usage.cpu_time, peak_memory=r.usage.peak_memory,
                          syscalls=r.usage.syscalls, tree_cpu_time=r.usage.tree_cpu_time,
                          tree_peak_memory=r.usage.tree_peak_memory)
    return Result(pid=r.pid, returncode=r.exit_code if r.signal is None else -r.signal,  # type: ignore[operator]
                  exit_code=r.exit_code, signal=r.signal, stdout=out, stderr=err, usage=usage, trap=r.trap,
                  wall_time_exceeded=r.wall_time_exceeded, output_truncated=truncated, verdict=r.verdict,
                  message=r.message)


# ---- asyncio ----


class AsyncProcess:
    """A Process for asyncio code: `await p.wait()`."""

    def __init__(self, proc: Process) -> None:
        self.proc = proc

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def kill(self, sig: int = signal.SIGKILL) -> bool:
        return self.proc.kill(sig)

    async def wait(self, timeout: float | None = None) -> Result | None:
        """Waits without blocking the event loop; None on timeout (the cage keeps running)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Result | None] = loop.create_future()

        def waiter() -> None:
            try:
                res = self.proc.wait(timeout)
            except BaseException as e:  # noqa: BLE001 - handed to the awaiting task
                loop.call_soon_threadsafe(_set, fut, None, e)
            else:
                loop.call_soon_threadsafe(_set, fut, res, None)

        threading.Thread(target=waiter, daemon=True, name=f"lind-await-{self.pid}").start()
        return await fut


def _set(fut: asyncio.Future[Result | None], res: Result | None, err: BaseException | None) -> None:
    if fut.done():
        return
    if err is not None:
        fut.set_exception(err)
    else:
        fut.set_result(res)


@dataclass
class AsyncSandbox:
    """Sandbox for asyncio: `p = await sb.spawn(...); r = await p.wait()`. Same arguments as Sandbox."""

    sandbox: Sandbox = field(default_factory=Sandbox)

    @classmethod
    def create(cls, **kw: object) -> AsyncSandbox:
        return cls(Sandbox(**kw))  # type: ignore[arg-type]

    async def spawn(self, program: str | os.PathLike[str], argv: Sequence[str] | None = None,
                    **kw: object) -> AsyncProcess:
        """Starts a cage (loading a program not yet in memory happens off the event loop)."""
        loop = asyncio.get_running_loop()
        proc = await loop.run_in_executor(None, lambda: self.sandbox.spawn(program, argv, **kw))  # type: ignore[arg-type]
        return AsyncProcess(proc)

    async def run(self, program: str | os.PathLike[str], argv: Sequence[str] | None = None, *,
                  timeout: float | None = None, **kw: object) -> Result:
        p = await self.spawn(program, argv, **kw)
        r = await p.wait(timeout)
        if r is None:
            p.kill()
            r = await p.wait()
        assert r is not None
        return r
