"""The engine settings every cage runs with, the fingerprint of them (part of cache keys), and the
wasmtime-py engine that compiles programs on a cache miss. (Cages run on an engine the C data plane
makes with the same settings: native/rt/engine.c. Running a cached program never imports wasmtime-py.)"""

from __future__ import annotations

import atexit
import os
import threading

TYPE_CHECKING = False  # (typing.TYPE_CHECKING without importing typing: 3 ms of `lind run` start-up)
if TYPE_CHECKING:
    import wasmtime

WASMTIME_VERSION = "50.0.1"

# Every setting that changes the generated code or the runtime contract of an artifact.
# Memories are reserved whole (4 GiB + guard), so a cage's memory never moves: the C data plane
# caches its base address. Copy-on-write memory images are off: munmap relies on MADV_DONTNEED
# zeroing pages, which a file-backed image would not do.
ENGINE_SETTINGS: dict[str, object] = {
    "cranelift_opt_level": "speed",
    "epoch_interruption": True,
    "memory_reservation": 1 << 32,
    "memory_guard_size": 1 << 31,
    "memory_reservation_for_growth": 0,
    "memory_may_move": False,
    "memory_init_cow": False,
    "wasm_bulk_memory": True,
    "wasm_threads": True,
    "shared_memory": True,
}

# wasmtime reads WASMTIME_BACKTRACE_DETAILS when it makes an engine's configuration (the C API has no
# setter): set in a user's environment, it would give the running engine a setting the cached
# artifacts were not compiled with, and no program would load. Every engine here ignores it.
os.environ.pop("WASMTIME_BACKTRACE_DETAILS", None)

TARGETS = {"x86_64": "x86_64-unknown-linux-gnu", "aarch64": "aarch64-unknown-linux-gnu"}


def host_target() -> str:
    m = os.uname().machine
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(m.lower(), m)


OPT_LEVELS = {"none": 0, "speed": 1, "speed_and_size": 2}


def native_settings() -> list[int]:
    """ENGINE_SETTINGS as native/rt/engine.c's lind_engine_init takes them, in its order."""
    order = ("cranelift_opt_level", "epoch_interruption", "memory_reservation", "memory_guard_size",
             "memory_reservation_for_growth", "memory_may_move", "memory_init_cow", "wasm_bulk_memory",
             "wasm_threads", "shared_memory")
    assert set(order) == set(ENGINE_SETTINGS)
    return [OPT_LEVELS[v] if isinstance(v, str) else int(v) for v in (ENGINE_SETTINGS[k] for k in order)]


def make_config(target: str | None = None) -> wasmtime.Config:
    import wasmtime

    cfg = wasmtime.Config()
    for key, value in ENGINE_SETTINGS.items():
        setattr(cfg, key, value)
    if target and target != host_target():
        if target not in TARGETS:
            raise ValueError(f"unknown target {target!r} (known: {', '.join(TARGETS)})")
        # The wasmtime wheel is built with Cranelift for its own architecture only: creating an
        # engine for another target aborts the process inside wasmtime, so refuse up front.
        raise ValueError(
            f"this wasmtime build ({WASMTIME_VERSION}, {host_target()}) cannot generate code for {target}; "
            f"run `lind compile --target {target}` on a {target} machine"
        )
    return cfg


def fingerprint(target: str) -> str:
    settings = ",".join(f"{k}={v}" for k, v in sorted(ENGINE_SETTINGS.items()))
    return f"wasmtime={WASMTIME_VERSION};target={target};{settings}"


_engines: dict[str, wasmtime.Engine] = {}
_lock = threading.Lock()


def engine(target: str | None = None) -> wasmtime.Engine:
    """One shared compiling engine per target (engines are thread-safe)."""
    import wasmtime

    t = target or host_target()
    with _lock:
        if t not in _engines:
            if not _engines:
                atexit.register(_close_engines)
            _engines[t] = wasmtime.Engine(make_config(t))
        return _engines[t]


def _close_engines() -> None:
    # Dropped at exit, before interpreter teardown: wasmtime-py's finalizers fail once its module
    # globals are gone. (Modules made by an engine keep their own reference to it.)
    for e in _engines.values():
        e.close()
    _engines.clear()
