"""Benchmarks of the vertical slice, cage vs the same C program native, in one run.

Prints a table and appends it to bench/RESULTS.md. Run: `make bench` or `.venv/bin/python bench/run.py`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import report  # bench/report.py: this script's folder is on sys.path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from lind_aot.cache.store import ArtifactCache  # noqa: E402
from lind_aot.vmm.cage import CageSpec, run_cage  # noqa: E402
from lind_aot.vmm.native import load_program  # noqa: E402

LIND = str(Path(sys.executable).parent / "lind")
OUT = REPO / "build" / "bench"
ROUNDS = 9


def build(name: str) -> tuple[Path, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    src = HERE / "c" / f"{name}.c"
    native, wasm = OUT / name, OUT / f"{name}.wasm"
    subprocess.run(["gcc", "-O2", "-o", str(native), str(src)], check=True)
    subprocess.run([LIND, "cc", "-O2", "-o", str(wasm), str(src)], check=True)
    return native, wasm


def ns_per_call(cmd: list[str], cwd: str) -> float:
    return float(subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True).stdout.strip())


def medians_interleaved(native: list[str], cage: list[str], cwd: str) -> tuple[float, float]:
    """Median ns per call of each side over ROUNDS rounds, native and cage taking turns, so that
    a slow spell of this shared machine falls on both sides alike."""
    nat, cg = [], []
    for _ in range(ROUNDS):
        nat.append(ns_per_call(native, cwd))
        cg.append(ns_per_call(cage, cwd))
    return statistics.median(nat), statistics.median(cg)


def wall(cmd: list[str], cwd: str, n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    rows: list[tuple[str, str, str, str, str]] = []
    native, wasm = build("syscalls")
    with tempfile.TemporaryDirectory() as root:
        for what, n, target in (
            ("getppid", 2_000_000, "<= 0.5x"),
            ("close", 2_000_000, "<= 0.5x"),
            ("pread1", 500_000, "<= 1.2x"),
            ("pread4k", 500_000, "<= 1.2x"),
            ("write1", 500_000, ""),
        ):
            nat, cage = medians_interleaved([str(native), what, str(n)],
                                            [LIND, "run", "--root", root, str(wasm), what, str(n)], root)
            label = {"close": "close(-1)", "pread1": "pread 1 B", "pread4k": "pread 4 KiB",
                     "write1": "write 1 B to /dev/null"}.get(what, what + "()")
            rows.append((label, f"{nat:.1f} ns", f"{cage:.1f} ns", f"{cage / nat:.2f}x", target))

        hn, hw = build("hello")
        subprocess.run([LIND, "compile", str(hw)], check=True, stdout=subprocess.DEVNULL)
        t_native = wall([str(hn)], root, 20)
        t_cage = wall([LIND, "run", "--root", root, str(hw)], root, 10)
        t_py = wall([sys.executable, "-c", "import lmdb"], root, 10)
        rows.append(("`lind run hello.wasm` wall, warm cache", f"{t_native * 1e3:.2f} ms", f"{t_cage * 1e3:.1f} ms",
                     f"{t_cage / t_native:.0f}x", f"< 60 ms (python + lmdb import alone: {t_py * 1e3:.0f} ms)"))

        # cache hit vs Cranelift compile, in process
        wasm_bytes = hw.read_bytes()
        with tempfile.TemporaryDirectory() as cdir:
            cache = ArtifactCache(Path(cdir))
            t0 = time.perf_counter()
            cache.compile(wasm_bytes, None, "hello.wasm")
            t_compile = time.perf_counter() - t0
            hits = []
            for _ in range(20):
                t0 = time.perf_counter()
                art = cache.compile(wasm_bytes, None, "hello.wasm")[1]
                load_program(art)
                hits.append(time.perf_counter() - t0)
            t_hit = statistics.median(hits)
            rows.append(("hello.wasm: Cranelift compile vs cache hit + deserialize", f"{t_compile * 1e3:.1f} ms",
                         f"{t_hit * 1e3:.2f} ms", f"{t_compile / t_hit:.0f}x faster", ""))

            # in-process spawn of a cached cage (module already loaded), stdout to /dev/null
            module = cache.load(wasm_bytes, "hello.wasm")
            devnull = os.open(os.devnull, os.O_WRONLY)
            spec = CageSpec(program=hw, argv=["hello"], root=Path(root), stdio=(devnull, devnull, devnull))
            spawns = []
            for _ in range(200):
                t0 = time.perf_counter()
                run_cage(spec, cache, module)
                spawns.append(time.perf_counter() - t0)
            os.close(devnull)
            t_fork_native = wall([str(hn)], root, 50)
            rows.append(("in-process spawn+run of cached hello (median)", f"{t_fork_native * 1e3:.2f} ms (fork+exec)",
                         f"{statistics.median(spawns) * 1e3:.3f} ms",
                         f"{statistics.median(spawns) / t_fork_native:.2f}x", "< 1 ms"))

    header = ("what", "native", "cage", "ratio", "target")
    report.publish("system calls, start-up", ".venv/bin/python bench/run.py", header, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
