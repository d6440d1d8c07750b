"""pthreads in cages (instances over one shared memory), compared with native runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import C_DIR, build_cage, build_native, run_cage, run_native


@pytest.mark.parametrize("name", ["threads_basic", "threads_fork", "threads_cancel"])
def test_threads_match_native(root: Path, name: str) -> None:
    """Mutex/condvar contention (4 x 100,000 increments, no lost update), join values, __thread
    TLS per thread; fork while other threads spin duplicates only the calling thread;
    pthread_cancel of threads blocked in cancellation points, deferred and asynchronous."""
    src = C_DIR / f"{name}.c"
    native = build_native(src, ["-pthread"])
    wasm = build_cage(src, ["-pthread"])
    n = run_native(native, [], root)
    c = run_cage(wasm, [], root)
    assert (c.returncode, c.stdout) == (n.returncode, n.stdout), c.stderr


def test_exec_from_a_thread(tmp_path: Path) -> None:
    """A thread other than the main one execs while the main thread waits in pthread_join and
    others sleep or spin: the process (same pid) becomes the new program, with one thread."""
    src = C_DIR / "thread_exec.c"
    native = build_native(src, ["-pthread"])
    wasm = build_cage(src, ["-pthread"])
    results = []
    for d, exe, run in ((tmp_path / "native", native, run_native), (tmp_path / "cage", wasm, run_cage)):
        d.mkdir()
        (d / "prog").write_bytes(exe.read_bytes())
        (d / "prog").chmod(0o755)
        arg = str(d / "prog") if run is run_native else "/prog"
        results.append(run_native(exe, [arg], d) if run is run_native else run_cage(wasm, [arg], d))
    n, c = results
    assert n.returncode == 7 and n.stdout == b"before exec\nreplaced: same pid 1\nnew thread: 1\n", n
    assert (c.returncode, c.stdout) == (n.returncode, n.stdout), c.stderr
