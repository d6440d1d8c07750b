"""Builds (on demand) and loads the C data plane, native/*.c, as a shared library."""

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

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None


class NativeBuildError(RuntimeError):
    pass


def _sources() -> list[Path]:
    return sorted(p for p in NATIVE_SRC.iterdir() if p.suffix in (".c", ".h", ".def"))


def library_path() -> Path:
    """Where the shim for the current sources lives (keyed by a hash of the sources and flags)."""
    h = hashlib.sha256(" ".join(CFLAGS).encode())
    for src in _sources():
        h.update(src.name.encode())
        h.update(src.read_bytes())
    return cache_home() / "native" / f"liblind-{h.hexdigest()[:16]}.so"


def build(force: bool = False) -> Path:
    out = library_path()
    if out.exists() and not force:
        return out
    import subprocess  # only when building (start-up of `lind run` does not pay for these)
    import tempfile

    out.parent.mkdir(parents=True, exist_ok=True)
    cfiles = [str(p) for p in _sources() if p.suffix == ".c"]
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".so.tmp")
    os.close(fd)
    cmd = ["gcc", *CFLAGS, "-shared", "-o", tmp, *cfiles, "-ldl"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        os.unlink(tmp)
        raise NativeBuildError(f"building the C data plane failed:\n{proc.stderr}")
    os.replace(tmp, out)  # atomic: concurrent builders never load a half-written library
    prune_versions(out, "liblind-*.so", keep=4)  # (a loaded library stays mapped when deleted)
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


# Calls that may wait (run a cage, wait for output or a tree, wait for calls in flight) release
# Python's lock; every other call is a few microseconds of C and keeps it: handing the lock back and
# forth around each of them made two threads running short cages slower than one.
BLOCKING = ("lind_cage_run_many", "lind_cage_create_run_many", "lind_capture_wait", "lind_handle_wait",
            "lind_tree_wait")


def load() -> ctypes.CDLL:
    """The initialized shim, built first if needed. Process-wide, thread-safe."""
    global _lib
    with _lock:
        if _lib is None:
            path = str(build())
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


def wasmtime_library() -> Path:
    """The C library of the wasmtime wheel (found without importing wasmtime-py, which is slow)."""
    spec = importlib.util.find_spec("wasmtime")
    if spec is None or spec.origin is None:
        raise NativeBuildError("the wasmtime package is not installed")
    return Path(spec.origin).parent / f"linux-{eng.host_target()}" / "_libwasmtime.so"


class Program:
    """A compiled program loaded into the data plane's engine (native/instance.h: struct
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

