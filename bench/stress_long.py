"""The long stress run: many forking jobs (default 100,000) through one entry point, with the host's
RSS, open fds and threads printed at the start, at every tenth and at the end, and the growth
between the first tenth and the end judged at the end.

    .venv/bin/python bench/stress_long.py [--jobs N] [--entry run_here|run_many_here|batch] [--kinds ...]

Jobs (tests/stress/c/stress_job.c) cycle through forking behaviours: fork (1-4 children), a
child piping a line back (fork_pipe), a chain of forks, fork + exec, fork + crash of the child.
`run_here` and `run_many_here` run them in this process; `batch` runs `lind batch -j 2` on a job
file and samples that process from outside (psutil). Every job's result is checked; the run stops
at the first job that fails or if the host dies. (tests/stress/driver.py is the randomized suite
with kills and limits; this is the plain long haul.)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

LIND = [sys.executable, "-m", "lind_aot.cli"]
SRC = REPO / "tests" / "stress" / "c" / "stress_job.c"
OUT = REPO / "build" / "bench"
JOBS = {
    "fork": [["fork", "1"], ["fork", "2"], ["fork", "4"]],
    "fork_pipe": [["fork_pipe"]],
    "fork_chain": [["fork_chain", "3"]],
    "fork_exec": [["fork_exec", "1"]],
    "crash_child": [["crash_child"]],
}


def build() -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    wasm = OUT / "stress_job.wasm"
    if not wasm.exists() or wasm.stat().st_mtime < SRC.stat().st_mtime:
        subprocess.run([*LIND, "cc", "-O2", "-pthread", "-o", str(wasm), str(SRC)], check=True, cwd=REPO)
    return wasm


def sample(p: psutil.Process) -> dict[str, float]:
    return {"rss_mib": round(p.memory_info().rss / 2**20, 1), "fds": p.num_fds(), "threads": p.num_threads()}


def good(argv: list[str], rc: int | None, out: bytes) -> bool:
    return rc == 0 and (out == b"ok\n" or out.endswith(b" ok\n"))


def line(label: str, done: int, total: int, t0: float, s: dict[str, float]) -> str:
    el = time.monotonic() - t0
    rate = done / el if el > 0 else 0.0
    return (f"{label:>6} {done:>9,}/{total:,} jobs {el:8.1f} s {rate:8,.0f} jobs/s   rss {s['rss_mib']:8.1f} MiB"
            f"   fds {s['fds']:4}   threads {s['threads']:4}")


def in_process(entry: str, wasm: Path, kinds: list[list[str]], total: int) -> list[dict[str, float]]:
    from lind_aot.api import HereJob, Sandbox

    with tempfile.TemporaryDirectory(prefix="lind-long-") as tmp:
        root = Path(tmp)
        (root / "stress_job").write_bytes(wasm.read_bytes())
        (root / "stress_job").chmod(0o755)
        sb = Sandbox(root=root, max_output=1 << 12)
        mod = sb.load(wasm)
        me = psutil.Process()
        samples = [sample(me)]
        t0 = time.monotonic()
        print(line("start", 0, total, t0, samples[0]), flush=True)
        argvs = cycle(kinds)
        done, step, chunk = 0, max(1, total // 10), 16
        while done < total:
            n = min(step - done % step, total - done)
            batch = list(islice(argvs, n))
            if entry == "run_here":
                results = [sb.run_here(wasm, a, module=mod) for a in batch]
            else:
                results = []
                for i in range(0, len(batch), chunk):
                    results += sb.run_many_here([HereJob(wasm, a, module=mod) for a in batch[i:i + chunk]])
            for a, r in zip(batch, results, strict=True):
                rc = getattr(r, "returncode", None)
                if not good(a, rc, getattr(r, "stdout", b"")):
                    print(f"FAIL job {done + 1} {' '.join(a)}: {r!r}", flush=True)
                    os._exit(1)
                done += 1
            gc.collect()
            samples.append(sample(me))
            print(line("end" if done >= total else f"{100 * done // total}%", done, total, t0, samples[-1]), flush=True)
        return samples


def batch(wasm: Path, kinds: list[list[str]], total: int, workers: int) -> list[dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="lind-long-") as tmp:
        root = Path(tmp)
        (root / "stress_job").write_bytes(wasm.read_bytes())
        (root / "stress_job").chmod(0o755)
        jobs, res = root / "jobs.jsonl", root / "results.jsonl"
        with open(jobs, "w") as f:
            for i, a in enumerate(islice(cycle(kinds), total)):
                f.write(json.dumps({"id": i, "program": str(wasm), "argv": a}) + "\n")
        cmd = [*LIND, "batch", str(jobs), "-j", str(workers), "--out", str(res), "--root", str(root), "--quiet"]
        p = subprocess.Popen(cmd, cwd=root, stderr=subprocess.PIPE)
        ps = psutil.Process(p.pid)
        t0 = time.monotonic()
        samples: list[dict[str, float]] = []
        next_mark = 0
        while p.poll() is None:
            done = sum(1 for _ in open(res)) if res.exists() else 0
            if done >= next_mark:
                try:
                    if ps.status() == psutil.STATUS_ZOMBIE:  # (exiting: nothing left to measure)
                        break
                    samples.append(sample(ps))
                except psutil.Error:
                    break
                label = "start" if next_mark == 0 else f"{100 * next_mark // total}%"
                print(line(label, done, total, t0, samples[-1]), flush=True)
                next_mark += max(1, total // 10)
            time.sleep(0.2)
        _, err = p.communicate()
        recs = [json.loads(x) for x in open(res)] if res.exists() else []
        bad = [r for r in recs if r["status"] != "exited" or r["returncode"] != 0]
        print(f"   end {len(recs):>9,}/{total:,} jobs {time.monotonic() - t0:8.1f} s   lind batch exit {p.returncode}"
              f"   {len(bad)} failed", flush=True)
        if p.returncode != 0 or len(recs) != total or bad:
            print(f"FAIL: exit {p.returncode}, {len(recs)} results, first failures {bad[:3]}, "
                  f"stderr {err[-2000:]!r}", flush=True)
            os._exit(1)
        return samples


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--entry", choices=["run_here", "run_many_here", "batch"], default="run_here")
    ap.add_argument("--kinds", default=",".join(JOBS), help=f"comma-separated, of {', '.join(JOBS)}")
    ap.add_argument("-j", "--workers", type=int, default=2, help="lind batch -j (batch entry)")
    a = ap.parse_args(argv)
    kinds = [argv_ for k in a.kinds.split(",") for argv_ in JOBS[k]]
    wasm = build()
    print(f"stress_long: {a.jobs:,} jobs through {a.entry}, kinds {a.kinds}", flush=True)
    samples = batch(wasm, kinds, a.jobs, a.workers) if a.entry == "batch" else \
        in_process(a.entry, wasm, kinds, a.jobs)
    if len(samples) >= 3:
        first, last = samples[1], samples[-1]
        growth = {k: round(last[k] - first[k], 1) for k in first}
        verdict = "steady" if growth["fds"] <= 8 and growth["threads"] <= 24 and growth["rss_mib"] <= 128 else "GROWING"
        print(f"growth from the first tenth to the end: {growth} -> {verdict}", flush=True)
        sys.stdout.flush()
        os._exit(0 if verdict == "steady" else 1)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
