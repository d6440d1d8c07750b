"""pthreads in cages (instances over one shared memory), compared with native runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import C_DIR, build_cage, build_native, run_cage, run_native


@pytest.mark.parametrize("name", ["threads_basic", "threads_fork"])
def test_threads_match_native(root: Path, name: str) -> None:
    """Mutex/condvar contention (4 x 100,000 increments, no lost update), join values, __thread
    TLS per thread; fork while other threads spin duplicates only the calling thread."""
    src = C_DIR / f"{name}.c"
    native = build_native(src, ["-pthread"])
    wasm = build_cage(src, ["-pthread"])
    n = run_native(native, [], root)
    c = run_cage(wasm, [], root)
    assert (c.returncode, c.stdout) == (n.returncode, n.stdout), c.stderr
