"""The memory limit holds on the linear memory itself (issue 15, item 4): the wasm memory.grow
instruction never reaches the data plane, so the limit is the memory's maximum. Two tenants with
different limits grow at once in one process, each touching every page it gets; a forked child is
bound as its parent; a memory kept in the pool is never handed to a cage with another limit; a
program that needs more than its limit to start is refused with a one-line error."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conftest import C_DIR, build_cage  # noqa: E402

from lind_aot.api import Limits, Sandbox, SpawnError  # noqa: E402

MiB = 1 << 20


def _grown(out: bytes) -> int:
    """The memory size the program reports (MiB)."""
    return int(out.split(b" MiB")[0].split()[-1])


def test_memory_grow_stops_at_each_tenants_limit(tmp_path: Path) -> None:
    wasm = build_cage(C_DIR / "sec_memgrow.c")
    results: dict[int, bytes] = {}

    def tenant(limit: int) -> None:
        root = tmp_path / f"t{limit}"
        root.mkdir()
        r = Sandbox(root=root, limits=Limits(mem=limit * MiB)).run(wasm, [], timeout=120)
        assert r.returncode == 0, r.stderr
        results[limit] = r.stdout

    threads = [threading.Thread(target=tenant, args=(lim,)) for lim in (32, 96)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for limit in (32, 96):
        # refused within the last 1 MiB step below the limit (without it: 256 MiB, the program's cap)
        assert limit - 1 <= _grown(results[limit]) <= limit, (limit, results[limit])
    # a pooled memory of the 96 MiB tenant is not handed to a 32 MiB one
    r = Sandbox(root=tmp_path / "t32", limits=Limits(mem=32 * MiB)).run(wasm, [], timeout=120)
    assert 31 <= _grown(r.stdout) <= 32, r.stdout


def test_memory_grow_in_a_forked_child_is_bound_too(tmp_path: Path) -> None:
    wasm = build_cage(C_DIR / "sec_memgrow.c")
    r = Sandbox(root=tmp_path, limits=Limits(mem=48 * MiB)).run(wasm, ["fork"], timeout=120)
    assert r.returncode == 0 and r.stdout.endswith(b"child 0\n"), r.stdout
    assert 47 <= _grown(r.stdout) <= 48, r.stdout


def test_a_program_larger_than_its_limit_is_refused(tmp_path: Path) -> None:
    wasm = build_cage(C_DIR / "sec_memgrow.c")
    with pytest.raises(SpawnError) as e:
        Sandbox(root=tmp_path, limits=Limits(mem=1 * MiB)).run(wasm, [], timeout=60)
    msg = str(e.value)
    assert "\n" not in msg and "more than its limit of 1024 KiB" in msg, msg
