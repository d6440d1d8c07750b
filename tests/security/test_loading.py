"""Nothing a module does while it is being loaded freezes the host or outruns its limits (issue
15, item 8). A module whose wasm start function loops is instantiated with the tree's clock
running and without Python's lock: its wall-time or CPU-time limit ends it with a one-line error,
and the embedding process's other threads (another tenant's jobs) go on meanwhile. A compile (an
exec of a huge module) holds only its own program's lock: loading another program does not wait."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conftest import C_DIR, LIND, build_cage  # noqa: E402

from lind_aot.api import Limits, Sandbox, SpawnError  # noqa: E402
from lind_aot.cache.store import ArtifactCache  # noqa: E402


@pytest.fixture(scope="module")
def looping_start(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """api_hello.wasm whose start function (wasm-ld's memory initialiser) is wrapped in one that
    then loops for ever (made once for the module's tests)."""
    tmp_path = tmp_path_factory.mktemp("spin")
    wat = subprocess.run(["wasm-dis", "-all", str(build_cage(C_DIR / "api_hello.c"))], check=True,
                         capture_output=True, text=True).stdout
    m = re.search(r"^ \(start (\$\S+)\)$", wat, re.M)
    assert m, "the program has no start function to wrap"
    wat = wat.replace(m.group(0), " (start $spin)")
    end = wat.rindex(")")
    wat = wat[:end] + f" (func $spin (call {m.group(1)}) (loop $l (br $l)))\n" + wat[end:]
    (tmp_path / "spin.wat").write_text(wat)
    out = tmp_path / "spin_start.wasm"
    subprocess.run(["wasm-as", "-all", str(tmp_path / "spin.wat"), "-o", str(out)], check=True)
    return out


@pytest.mark.parametrize("limit, name", [(Limits(wall_time=1.5), "wall-time limit"),
                                         (Limits(cpu_time=0.5), "CPU-time limit")])
def test_a_looping_start_function_meets_its_limit_and_freezes_nobody(tmp_path: Path, looping_start: Path,
                                                                     limit: Limits, name: str) -> None:
    spin = looping_start
    hello = build_cage(C_DIR / "api_hello.c")
    other: list[bytes] = []
    loading = threading.Event()

    def other_tenant() -> None:  # another tenant's jobs, while the first is being loaded
        loading.wait()
        time.sleep(0.2)
        sb = Sandbox(root=tmp_path)
        for _ in range(5):
            other.append(sb.run(hello, [], timeout=30).stdout)

    t = threading.Thread(target=other_tenant)
    t.start()
    loading.set()
    t0 = time.monotonic()
    with pytest.raises(SpawnError) as e:
        Sandbox(root=tmp_path, limits=limit).run(spin, [], timeout=60)
    took = time.monotonic() - t0
    t.join()
    assert str(e.value) == f"killed while being loaded, in the module's start function ({name})"
    assert took < 20, took  # (without the limit in force there: for ever)
    assert len(other) == 5 and all(o == other[0] and o for o in other), other


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_lind_run_is_stopped_while_a_start_function_loops(tmp_path: Path, looping_start: Path,
                                                         sig: signal.Signals) -> None:
    """Ctrl-C (or SIGTERM) to `lind run` ends a tree whose root is still being loaded, with no limit
    given: the tree's pid is not known yet, so the signal kills the tree being loaded."""
    spin = looping_start
    p = subprocess.Popen([*LIND, "run", "--root", str(tmp_path), str(spin)], stderr=subprocess.PIPE)
    time.sleep(1.5)  # (well into the start function)
    assert p.poll() is None
    t0 = time.monotonic()
    p.send_signal(sig)
    try:
        _, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        raise AssertionError("lind run did not end after the signal") from None
    assert time.monotonic() - t0 < 5
    assert b"killed while being loaded, in the module's start function (killed)" in err, err


def test_a_compile_does_not_hold_up_other_programs(tmp_path: Path) -> None:
    hello = build_cage(C_DIR / "api_hello.c")
    other = build_cage(C_DIR / "math.c")
    in_compile, release = threading.Event(), threading.Event()

    class SlowCache(ArtifactCache):
        def compile(self, wasm: bytes, target: str | None = None, source: str = "") -> tuple[str, bytes, bool]:
            if source == "slow":  # an exec of a huge module, compiling
                in_compile.set()
                release.wait(30)
            return super().compile(wasm, target, source)

    cache = SlowCache(tmp_path / "cache")
    cache.load(other.read_bytes(), "other")  # loaded once: in the cache and the process
    t = threading.Thread(target=cache.load, args=(hello.read_bytes(), "slow"))
    t.start()
    assert in_compile.wait(30)
    t0 = time.monotonic()
    cache.load(other.read_bytes(), "other")
    waited = time.monotonic() - t0
    release.set()
    t.join()
    assert waited < 5, waited  # (with one lock for every load: until the compile ends, 30 s here)
