"""Builds (on demand) and loads the C data plane, native/**/*.c, as a shared library."""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import os
import threading
import weakref
from pathlib import Path

from lind_aot.paths import NATIVE_SRC, cache_home, prune_versions
from lind_aot.vmm import engine as eng

# (LTO, -fno-semantic-interposition and -Bsymbolic-functions: calls between the data plane's files
# are direct, often inlined, instead of going through the PLT; a few ns of every system call.
# native/Makefile has the same.)
CFLAGS = ["-O2", "-g", "-fPIC", "-fno-semantic-interposition", "-flto=auto", "-Wl,-Bsymbolic-functions",
          "-Wall", "-Wextra", "-std=gnu11", "-D_GNU_SOURCE"]

# Sanitizer builds of the data plane, chosen by LIND_SANITIZE=asan|tsan (tests/stress/README.md,
# `make test-asan`, `make test-tsan`). Such a build replaces the optimization flags and LTO (which
# only blur the reports' stacks) and lives in its own file, so it never evicts the normal one.
# Python is not instrumented: the runtime must be loaded first, with LD_PRELOAD of
# sanitizer_runtime()'s libraries (tests/stress/sanitize.py sets up the environment).
SANITIZERS: dict[str, list[str]] = {
    "asan": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1"],
    "tsan": ["-fsanitize=thread", "-fno-omit-frame-pointer", "-O1"],
}
_RUNTIMES = {"asan": ("libasan.so", "libubsan.so"), "tsan": ("libtsan.so",)}
_NOT_SANITIZED = ("-O2", "-flto=auto")

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None


class NativeBuildError(RuntimeError):
    pass


def _sources() -> list[Path]:
    """Every source of the data plane, in native/ and its folders (native/README.md)."""
    return sorted(p for p in NATIVE_SRC.rglob("*") if p.suffix in (".c", ".h", ".def") and p.is_file())


def _snapshot() -> dict[str, bytes]:
    """The sources as they are now: path under native/ (e.g. "kern/cage.c") -> contents."""
    return {p.relative_to(NATIVE_SRC).as_posix(): p.read_bytes() for p in _sources()}


def sanitizer() -> str | None:
    """The sanitizer LIND_SANITIZE selects ("asan", "tsan"), None for the normal build."""
    name = os.environ.get("LIND_SANITIZE", "").strip().lower()
    if not name or name in ("0", "no", "none"):
        return None
    if name not in SANITIZERS:
        raise NativeBuildError(f"LIND_SANITIZE={name!r}: not one of {', '.join(SANITIZERS)}")
    return name


def cflags(san: str | None = None) -> list[str]:
    """The compiler flags of the data plane (of its `san` sanitizer build when given)."""
    if san is None:
        return list(CFLAGS)
    return [f for f in CFLAGS if f not in _NOT_SANITIZED] + SANITIZERS[san]


def sanitizer_runtime(san: str) -> list[str]:
    """The runtime libraries a `san` build needs loaded before anything else (LD_PRELOAD)."""
    import subprocess

    libs = []
    for name in _RUNTIMES[san]:
        path = subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
        if not os.path.isabs(path):
            raise NativeBuildError(f"gcc has no {name} (the {san} runtime)")
        libs.append(os.path.realpath(path))
    return libs


def _variant(san: str | None) -> str:
    return "liblind" if san is None else f"liblind.{san}"  # ("liblind-*.so" never matches a variant)


def library_path(san: str | None = None, snapshot: dict[str, bytes] | None = None) -> Path:
    """Where the shim for the current sources lives (keyed by a hash of the sources and flags);
    for `snapshot` (path under native/ -> contents) rather than the files as they are now, when given."""
    san = san if san is not None else sanitizer()
    h = hashlib.sha256(" ".join(cflags(san)).encode())
    for name, data in (snapshot.items() if snapshot is not None else _snapshot().items()):
        h.update(name.encode())
        h.update(data)
    return cache_home() / "native" / f"{_variant(san)}-{h.hexdigest()[:16]}.so"


def build(force: bool = False, san: str | None = None) -> Path:
    san = san if san is not None else sanitizer()
    # A sanitizer build compiles a copy of the sources, read once and hashed for the file name:
    # a source edited while gcc runs would otherwise be built into a library filed under the hash
    # of the sources before the edit, a torn build that every later run loads (seen: ASan SEGVs
    # on garbage pointers while native/ was being edited). (The normal build has the same exposure.)
    snapshot = _snapshot() if san is not None else None
    out = library_path(san, snapshot)
    if out.exists() and not force:
        return out
    import subprocess  # only when building (start-up of `lind run` does not pay for these)
    import tempfile

    out.parent.mkdir(parents=True, exist_ok=True)
    cfiles = [str(p) for p in _sources() if p.suffix == ".c"]
    extra: list[str] = []
    copy = None
    if snapshot is not None:
        copy = tempfile.mkdtemp(prefix="lind-native-")
        for name, data in snapshot.items():
            Path(copy, name).parent.mkdir(parents=True, exist_ok=True)
            Path(copy, name).write_bytes(data)
        # (compiled from inside the copy by relative names, which UBSan's reports show; the
        # debug info names native/, so the stacks of the reports do too)
        cfiles = [name for name in sorted(snapshot) if name.endswith(".c")]
        extra = [f"-ffile-prefix-map={copy}={NATIVE_SRC}"]
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".so.tmp")
    os.close(fd)
    # (-I: files include each other by their path under native/, e.g. "kern/cage.h")
    cmd = ["gcc", *cflags(san), *extra, f"-I{copy or NATIVE_SRC}", "-shared", "-o", tmp, *cfiles, "-ldl"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=copy)
    finally:
        if copy is not None:
            import shutil

            shutil.rmtree(copy, ignore_errors=True)
    if proc.returncode != 0:
        os.unlink(tmp)
        raise NativeBuildError(f"building the C data plane failed:\n{proc.stderr}")
    os.replace(tmp, out)  # atomic: concurrent builders never load a half-written library
    prune_versions(out, f"{_variant(san)}-*.so", keep=4)  # (a loaded library stays mapped when deleted)
    return out


def _declare(lib: ctypes.CDLL) -> None:
    vp, u64, i32 = ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int
    sigs: dict[str, tuple[object, list[object]]] = {
        "lind_init": (i32, [ctypes.c_char_p]),
        "lind_cage_pid": (u64, [vp]),
        "lind_kill": (i32, [i32, i32]),
        "lind_kill_group": (i32, [i32, i32]),
        "lind_forward_signals": (i32, [i32]),
        "lind_tree_wait": (i32, [i32, i32]),
        "lind_tree_kill": (i32, [i32]),
        "lind_tree_cages": (i32, [i32, ctypes.POINTER(ctypes.c_int32), i32]),
        "lind_cage_table": (i32, [i32, vp, i32]),
        "lind_set_net_policy_default": (None, [i32]),
        "lind_set_callbacks": (None, [vp]),
        "lind_engine_init": (i32, [ctypes.POINTER(u64), i32, ctypes.c_char_p, ctypes.c_size_t]),
        "lind_module_load": (vp, [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]),
        "lind_module_ref": (vp, [vp]),
        "lind_module_put": (None, [vp]),
        "lind_cage_run_many": (None, [i32, vp, vp, vp, vp]),
        "lind_cage_create": (vp, [vp, ctypes.POINTER(vp)]),
        "lind_cage_create_run_many": (None, [i32, vp, vp, vp]),
        "lind_cage_start": (vp, [vp, vp]),
        "lind_handle_wait": (i32, [vp, i32, vp]),
        "lind_handle_free": (None, [vp]),
        "lind_capture_new": (vp, [ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t, i32, ctypes.POINTER(i32)]),
        "lind_capture_wait": (i32, [vp, i32]),
        "lind_capture_copy": (ctypes.c_size_t, [vp, i32, vp, ctypes.c_size_t]),
        "lind_capture_closed_ns": (ctypes.c_int64, [vp]),
        "lind_capture_set_sink": (None, [vp]),
        "lind_capture_truncated": (i32, [vp]),
        "lind_capture_free": (None, [vp]),
        "lind_capture_close_cage_ends": (None, [vp]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args


# Calls that may wait (run a cage, wait for output or a tree, wait for calls in flight, or make a
# root cage: instantiating runs the module's start function, which may loop) release Python's lock;
# every other call is a few microseconds of C and keeps it: handing the lock back and forth around
# each of them made two threads running short cages slower than one.
BLOCKING = ("lind_cage_create", "lind_cage_run_many", "lind_cage_create_run_many", "lind_capture_wait",
            "lind_handle_wait", "lind_tree_wait")


def load() -> ctypes.CDLL:
    """The initialized shim, built first if needed. Process-wide, thread-safe."""
    global _lib
    with _lock:
        if _lib is None:
            san = sanitizer()
            if san is not None:
                _check_preloaded(san)
                _ubsan_log_path()
            path = str(build(san=san))
            lib = ctypes.PyDLL(path)
            _declare(lib)
            releasing = ctypes.CDLL(path)  # the same library; its functions release Python's lock
            _declare(releasing)
            for name in BLOCKING:
                setattr(lib, name, getattr(releasing, name))
            if lib.lind_init(str(wasmtime_library()).encode()) != 0:
                raise NativeBuildError("the C data plane could not resolve the wasmtime C API")
            values = eng.native_settings()
            err = ctypes.create_string_buffer(256)
            if lib.lind_engine_init((ctypes.c_uint64 * len(values))(*values), len(values), err, len(err)) != 0:
                raise NativeBuildError(f"the C data plane could not make its engine: {err.value.decode()}")
            _lib = lib
        return _lib


def _check_preloaded(san: str) -> None:
    """A sanitizer build loaded into an uninstrumented Python without its runtime first ends the
    process (ASan: "runtime does not come first"); say what to do instead."""
    with open("/proc/self/maps") as f:
        maps = f.read()
    missing = [lib for lib in _RUNTIMES[san][:1] if f"/{lib.removesuffix('.so')}.so" not in maps]
    if missing:
        raise NativeBuildError(f"LIND_SANITIZE={san}: preload the runtime first, e.g. "
                               f"LD_PRELOAD={':'.join(sanitizer_runtime(san))} (see tests/stress/sanitize.py)")


def _ubsan_log_path() -> None:
    """GCC 12's libubsan, loaded beside libasan, ignores log_path in UBSAN_OPTIONS and writes its
    reports to stderr (where a test's capture loses them): set it through its own API instead."""
    opts = dict(o.split("=", 1) for o in os.environ.get("UBSAN_OPTIONS", "").split(":") if "=" in o)
    if "log_path" not in opts:
        return
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "/libubsan.so" in line}
    for lib in libs:
        ctypes.CDLL(lib).__sanitizer_set_report_path(opts["log_path"].encode())


def wasmtime_library() -> Path:
    """The C library of the wasmtime wheel (found without importing wasmtime-py, which is slow)."""
    spec = importlib.util.find_spec("wasmtime")
    if spec is None or spec.origin is None:
        raise NativeBuildError("the wasmtime package is not installed")
    return Path(spec.origin).parent / f"linux-{eng.host_target()}" / "_libwasmtime.so"


class Program:
    """A compiled program loaded into the data plane's engine (native/kern/module.h: struct
    lind_module); dropped with this object."""

    __slots__ = ("handle", "__weakref__")

    def __init__(self, handle: int) -> None:
        self.handle = handle
        weakref.finalize(self, load().lind_module_put, handle)


def load_program(artifact: bytes) -> Program:
    """The program of an AOT artifact (checked by the caller). Raises ValueError with wasmtime's or
    the data plane's reason."""
    lib = load()
    err = ctypes.create_string_buffer(512)
    h = lib.lind_module_load(artifact, len(artifact), err, len(err))
    if not h:
        raise ValueError(err.value.decode(errors="replace"))
    return Program(int(h))

