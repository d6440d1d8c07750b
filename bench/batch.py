"""Batch throughput of a hello-world cage (lind_aot.batch / lind_aot.api), spawn latency, and where the
time of one job goes.

    .venv/bin/python bench/batch.py [--jobs 5000] [--no-append]

Prints tables and appends them to bench/RESULTS.md. The comparison is native fork+exec+wait of the
same program compiled with gcc (bench/c/spawn.c, a C loop; posix_spawn from Python if it is absent).
The target is >= 10,000 jobs/s on 2 cores with a warm cache.
"""

from __future__ import annotations

import argparse
import ctypes
import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import report  # bench/report.py: this script's folder is on sys.path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from lind_aot import batch  # noqa: E402
from lind_aot.api import DEVNULL, Sandbox  # noqa: E402
from lind_aot.vmm import cage as C  # noqa: E402

OUT = REPO / "build" / "bench"
TARGET = 10_000.0


def build() -> tuple[Path, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    src = REPO / "tests" / "c" / "api_hello.c"
    native, wasm = OUT / "api_hello", OUT / "api_hello.wasm"
    subprocess.run(["gcc", "-O2", "-o", str(native), str(src)], check=True)
    subprocess.run([sys.executable, "-m", "lind_aot.cli", "cc", "-O2", "-o", str(wasm), str(src)], check=True,
                   cwd=REPO)
    return native, wasm


def native_rate(native: Path, n: int) -> tuple[float, str]:
    """fork+exec+wait of the native hello per second."""
    driver_src = HERE / "c" / "spawn.c"
    if driver_src.exists():
        driver = OUT / "spawn_driver"
        r = subprocess.run(["gcc", "-O2", "-o", str(driver), str(driver_src)], capture_output=True)
        if r.returncode == 0:
            out = subprocess.run([str(driver), str(native), str(n)], capture_output=True, text=True, check=True).stdout
            try:
                return float(out.split()[0]), "fork+exec+wait, C loop (bench/c/spawn.c)"
            except (ValueError, IndexError):
                pass
    devnull = os.open(os.devnull, os.O_WRONLY)
    t0 = time.perf_counter()
    for _ in range(n):
        pid = os.posix_spawn(str(native), [str(native)], {}, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
        os.waitpid(pid, 0)
    os.close(devnull)
    return n / (time.perf_counter() - t0), "posix_spawn+waitpid from Python"


def batch_rate(sb: Sandbox, wasm: Path, n: int, workers: int) -> dict[str, float]:
    lines = [f'{{"program": "{wasm}", "argv": ["{i}"]}}' for i in range(n)]
    jobs = batch.read_jobs(lines)
    out = io.StringIO()
    s = batch.run_batch(sb, jobs, workers, out, progress=False)
    bad = [ln for ln in out.getvalue().splitlines() if '"returncode": 0' not in ln]
    assert not bad, bad[:3]
    return s


def api_rate(sb: Sandbox, wasm: Path, n: int, threads: int, capture: bool, here: bool = False) -> float:
    per = n // threads

    def work() -> None:
        for _ in range(per):
            if here:
                sb.run_here(wasm)
            elif capture:
                sb.run(wasm)
            else:
                sb.run(wasm, stdout=DEVNULL, stderr=DEVNULL)

    ts = [threading.Thread(target=work) for _ in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return per * threads / (time.perf_counter() - t0)


def latencies(sb: Sandbox, wasm: Path, n: int) -> tuple[float, float, float, float]:
    """spawn() -> wait() latency, sequential: (p50, p99, spawn-call p50, spawn-call p99)."""
    tot, sp = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        p = sb.spawn(wasm)
        t1 = time.perf_counter()
        p.wait()
        tot.append(time.perf_counter() - t0)
        sp.append(t1 - t0)
    return (batch.percentile(tot, 50), batch.percentile(tot, 99), batch.percentile(sp, 50), batch.percentile(sp, 99))


def breakdown(wasm: Path, root: Path, n: int) -> list[tuple[str, float]]:
    """Median microseconds of each step of one cage's life, run step by step on this thread (what
    Microvisor.start + the runner thread do), plus the API's own costs."""
    mv = C.microvisor()
    lib = mv.lib
    program = mv.load(wasm)
    dn = os.open(os.devnull, os.O_WRONLY)
    spec = C.CageSpec(program=wasm, argv=["hello"], root=root, stdio=(dn, dn, dn))
    steps: dict[str, list[float]] = {}

    def rec(k: str, v: float) -> None:
        steps.setdefault(k, []).append(v)

    p = time.perf_counter
    for _ in range(n):
        a = p()
        cage, _, inst = mv.prepare(spec, program)
        rec("new cage (root, cwd, 3 fds, args, limits) and its wasm instance, in C", p() - a)
        a = p()
        mv.run_prepared(cage, inst)
        rec("run _start (hello: printf, exit) and end the cage (finish, free, memory scrubbed)", p() - a)
        a = p()
        h = mv.start(spec, program)
        h.wait()
        rec("the same two steps as spawn() does them: on a runner thread, waited for", p() - a)
        a = p()
        fds = (ctypes.c_int * 3)()
        cap = lib.lind_capture_new(1 << 20, b"", 0, 0, fds)
        lib.lind_capture_free(cap)
        rec("capture: made and dropped unused (3 pipes; the C hub closes them)", p() - a)
    os.close(dn)
    return [(k, statistics.median(v) * 1e6) for k, v in steps.items()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--jobs", type=int, default=5000, help="jobs per batch measurement")
    ap.add_argument("--no-append", action="store_true", help="do not append to bench/RESULTS.md")
    a = ap.parse_args(argv)
    native, wasm = build()
    n = a.jobs
    with tempfile.TemporaryDirectory(prefix="lind-bench-root-") as rd:
        root = Path(rd)
        sb = Sandbox(root=root)
        sb.run(wasm)  # warm: compiled into the cache, module loaded
        for _ in range(200):
            sb.run(wasm)
        nat, nat_how = native_rate(native, min(n, 3000))
        rows: list[tuple[str, ...]] = []
        best = 0.0
        for workers in (1, 2, 4, 8):
            s = batch_rate(sb, wasm, n, workers)
            best = max(best, s["jobs_per_s"])
            rows.append((f"`lind batch` hello, -j {workers} ({n} jobs, stdout+stderr captured)",
                         f"{s['jobs_per_s']:,.0f} jobs/s", f"{s['p50'] * 1e3:.2f} ms", f"{s['p99'] * 1e3:.2f} ms",
                         f"{s['jobs_per_s'] / nat:.2f}x"))
        for threads, cap in ((1, False), (2, False), (2, True)):
            r = api_rate(sb, wasm, n, threads, cap)
            best = max(best, r)
            what = "captured" if cap else "to /dev/null"
            rows.append((f"Sandbox.run(hello) from {threads} thread(s), output {what}", f"{r:,.0f} jobs/s", "", "",
                         f"{r / nat:.2f}x"))
        for threads in (1, 2):
            r = api_rate(sb, wasm, n, threads, True, here=True)
            best = max(best, r)
            rows.append((f"Sandbox.run_here(hello) from {threads} thread(s), output captured", f"{r:,.0f} jobs/s",
                         "", "", f"{r / nat:.2f}x"))
        rows.append((f"native hello: {nat_how}", f"{nat:,.0f} /s", "", "", "1.00x"))
        p50, p99, s50, s99 = latencies(sb, wasm, 1000)
        rows.append(("spawn()+wait() latency, one at a time", "", f"{p50 * 1e3:.3f} ms", f"{p99 * 1e3:.3f} ms", ""))
        rows.append(("spawn() call alone (until it returns)", "", f"{s50 * 1e3:.3f} ms", f"{s99 * 1e3:.3f} ms", ""))
        t1 = report.markdown_table(("what", "throughput", "p50 latency", "p99 latency", "vs native fork+exec"), rows)
        steps = breakdown(wasm, root, 300)
    t2 = report.markdown_table(("step of one hello job (median, single thread, no contention)", "us"),
               [(k, f"{v:.1f}") for k, v in steps])
    verdict = (f"Best: {best:,.0f} jobs/s; target {TARGET:,.0f} jobs/s: "
               f"{'met' if best >= TARGET else f'**missed** ({best / TARGET:.0%} of it)'}.")
    text = f"{t1}\n\n{verdict}\n\n{t2}\n"
    print(text)
    if not a.no_append:
        try:
            load = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
        except OSError:
            load = ""
        report.append_results("batch throughput", f".venv/bin/python bench/batch.py --jobs {n}", text,
                              f"{load} at the end (a shared machine: other work ran meanwhile).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
