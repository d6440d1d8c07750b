"""Cage start-up, two checkouts side by side: jobs/s of Sandbox.run_here(hello) (output captured),
spawn()+wait() latency, `lind batch -j 1` of hello jobs, and host RSS per idle cage, measured in
alternating rounds (A, B, A, B, ...) so that a slow spell of the shared machine falls on both.

    .venv/bin/python bench/ab_startup.py OLD_CHECKOUT NEW_CHECKOUT [--rounds 5] [--jobs 3000]

Each measurement runs in a fresh interpreter with the checkout first on sys.path (and its own data
plane build). Prints the medians per checkout and the ratio new/old.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

PROBE = r"""
import json, os, sys, time, threading, subprocess
sys.path.insert(0, sys.argv[1])
from lind_aot.api import Sandbox, DEVNULL
from lind_aot import batch as B
wasm, root, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
sb = Sandbox(root=root)
for _ in range(300):
    sb.run_here(wasm)
t = time.perf_counter()
for _ in range(n):
    sb.run_here(wasm)
here = n / (time.perf_counter() - t)
lat = []
for _ in range(n // 5):
    t = time.perf_counter()
    sb.spawn(wasm).wait()
    lat.append(time.perf_counter() - t)
lat.sort()
# idle cages: 100 trees blocked in read(stdin) (spawned, not fed), RSS before and after
import psutil
me = psutil.Process()
rss0 = me.memory_info().rss
procs = [sb.spawn(sys.argv[5], ["read"]) for _ in range(100)]
deadline = time.monotonic() + 30
while any(p.stdout != b"ready\n" for p in procs) and time.monotonic() < deadline:
    time.sleep(0.01)
rss1 = me.memory_info().rss
for p in procs:
    p.kill()
for p in procs:
    p.wait(30)
print(json.dumps({"run_here_jobs_s": here, "spawn_wait_p50_ms": lat[len(lat) // 2] * 1e3,
                  "idle_cage_rss_kib": (rss1 - rss0) / 100 / 1024}))
"""


def batch_rate(checkout: Path, wasm: Path, root: Path, n: int) -> float:
    jobs = root / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({"program": str(wasm)}) + "\n" for _ in range(n)))
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run([sys.executable, "-m", "lind_aot.cli", "batch", str(jobs), "-j", "1", "--root", str(root),
                          "--out", os.devnull], capture_output=True, text=True, env=env, cwd=checkout, timeout=600)
    for line in out.stderr.splitlines():  # the summary: "lind batch: N jobs in T s: R jobs/s, ..."
        if line.startswith("lind batch:") and " jobs/s," in line:
            words = line.replace(",", " ").split()
            return float(words[words.index("jobs/s") - 1])
    raise RuntimeError(out.stderr[-500:])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=3000)
    a = ap.parse_args()
    sys.path.insert(0, str(HERE.parent / "tests"))
    from conftest import C_DIR, build_cage

    hello = build_cage(C_DIR / "api_hello.c")
    idle = build_cage(C_DIR / "lc_stubborn.c", ["-pthread"])
    res: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        for i in range(a.rounds):
            for name in ("old", "new") if i % 2 == 0 else ("new", "old"):
                co = getattr(a, name).resolve()
                cmd = [sys.executable, "-c", PROBE, str(co), str(hello), str(root), str(a.jobs), str(idle)]
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
                if p.returncode != 0:
                    raise SystemExit(f"{name}: {p.stderr[-2000:]}")
                r = json.loads(p.stdout.strip().splitlines()[-1])
                r["batch_j1_jobs_s"] = batch_rate(co, hello, root, a.jobs)
                for k, v in r.items():
                    res[name].setdefault(k, []).append(v)
                print(f"round {i + 1} {name}: " + ", ".join(f"{k}={v:.3f}" for k, v in r.items()), flush=True)
    print(f"\n| measure (median of {a.rounds}) | {a.old} | {a.new} | new/old |\n|---|---|---|---|")
    for k in res["old"]:
        o, n = statistics.median(res["old"][k]), statistics.median(res["new"][k])
        print(f"| {k} | {o:,.3f} | {n:,.3f} | {n / o:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
