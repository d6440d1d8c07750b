"""AOT-compile many programs into the cache at once (`lind compile` with several files or directories).

Cranelift compilation runs inside wasmtime's C API with the GIL released, so worker threads compile
in parallel; the LMDB cache serializes only the short writes.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lind_aot.cache.store import ArtifactCache, CacheError


@dataclass(frozen=True)
class Compiled:
    """The outcome for one program: key and artifact size, or the error."""

    path: Path
    key: str | None = None
    size: int = 0
    cached: bool = False
    seconds: float = 0.0
    error: str | None = None


def expand(paths_or_dirs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files as given, directories searched recursively for *.wasm (sorted, without duplicates)."""
    out: list[Path] = []
    seen: set[Path] = set()
    for p in map(Path, paths_or_dirs):
        found = sorted(q for q in p.rglob("*.wasm") if q.is_file()) if p.is_dir() else [p]
        for q in found:
            r = q.resolve()
            if r not in seen:
                seen.add(r)
                out.append(q)
    return out


def _one(cache: ArtifactCache, path: Path, target: str | None) -> Compiled:
    t0 = time.perf_counter()
    try:
        wasm = path.read_bytes()
        key, art, cached = cache.compile(wasm, target, str(path))
        return Compiled(path, key, len(art), cached, time.perf_counter() - t0)
    except OSError as e:
        return Compiled(path, error=f"{path}: {e.strerror}", seconds=time.perf_counter() - t0)
    except (CacheError, ValueError) as e:
        return Compiled(path, error=str(e), seconds=time.perf_counter() - t0)


def compile_many(paths_or_dirs: Iterable[str | os.PathLike[str]], target: str | None = None, jobs: int | None = None,
                 cache: ArtifactCache | None = None, progress: bool = True) -> list[Compiled]:
    """Compiles every program (directories: every *.wasm below) into the cache, `jobs` at a time
    (default: the number of CPUs). Returns one Compiled per program, in input order. With progress,
    a progress line goes to stderr (\\r-updated on a terminal)."""
    from lind_aot.batch import Progress

    files = expand(paths_or_dirs)
    cache = cache or ArtifactCache()
    if target is not None:  # refuse an unsupported target once, before starting N threads
        from lind_aot.vmm import engine as eng

        if target != eng.host_target():
            eng.make_config(target)
    prog = Progress(len(files), enabled=progress and len(files) > 1, label="programs")
    lock = threading.Lock()
    results: list[Compiled | None] = [None] * len(files)

    def work(i: int) -> None:
        r = _one(cache, files[i], target)
        with lock:
            results[i] = r
        prog.step(r.error is not None)

    with ThreadPoolExecutor(max_workers=max(1, jobs or os.cpu_count() or 1)) as ex:
        list(ex.map(work, range(len(files))))
    return [r for r in results if r is not None]


def report(results: list[Compiled], stream: object = None) -> int:
    """Prints what cmd_compile printed for each program (errors on stderr); 1 if any failed."""
    out = stream or sys.stdout
    status = 0
    for r in results:
        if r.error is not None:
            print(f"lind compile: {r.error}", file=sys.stderr)
            status = 1
            continue
        what = "cached" if r.cached else f"compiled in {r.seconds * 1000:.0f} ms"
        print(f"{r.path}: {what}, {r.size / 1024:.0f} KiB, key {(r.key or '').split(':')[0][:16]}", file=out)  # type: ignore[arg-type]
    return status
