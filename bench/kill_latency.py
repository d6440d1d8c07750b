"""Kill latency: the time from a kill request to the whole cage tree being gone.

Kill requests: Process.kill() (SIGKILL to the tree), the expiry of a wall-time limit, and SIGTERM
to a `lind run` process. Cages (tests/stress/c/stress_job.c): a fork bomb under max_cages, a
spinner, a cage blocked in read on a pipe nobody writes, and one that blocks and ignores every
signal and then blocks in read. "Gone" is: the root's result is in (Process.wait) and no cage of
the tree is alive (lind_tree_wait), or, for `lind run`, the process has exited.

For each (cage, request) it prints p50 and max over N tries (default 100), and how many did not
end within --timeout (counted as failures, not as latencies; after 3 such in a row the pair stops).
The wall-time row measures from the moment the limit expires (start + limit) to the end, so it
includes the spawn call's own time (a few ms at most).

    .venv/bin/python bench/kill_latency.py [--tries N] [--timeout S] [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from lind_aot.api import Limits, Process, Sandbox  # noqa: E402

LIND = [sys.executable, "-m", "lind_aot.cli"]
SRC = REPO / "tests" / "stress" / "c" / "stress_job.c"
OUT = REPO / "build" / "bench"

# name -> (argv, limits)
CAGES: dict[str, tuple[list[str], dict[str, float]]] = {
    "fork bomb (max_cages 8)": (["forkbomb"], {"max_cages": 8}),
    "spinner": (["spin"], {}),
    "blocked in read": (["block_read"], {}),
    "blocks+ignores all signals": (["block_sigs"], {}),
}
REQUESTS = ("Process.kill()", "wall-time limit", "SIGTERM to lind run")


def build() -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    wasm = OUT / "stress_job.wasm"
    if not wasm.exists() or wasm.stat().st_mtime < SRC.stat().st_mtime:
        subprocess.run([*LIND, "cc", "-O2", "-pthread", "-o", str(wasm), str(SRC)], check=True, cwd=REPO)
    return wasm


@dataclass
class Row:
    cage: str
    request: str
    times: list[float] = field(default_factory=list)
    failed: int = 0
    note: str = ""


def wait_ready(p: Process, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if p.stdout.startswith(b"ready\n"):
            return True
        if p.poll() is not None:
            return False
        time.sleep(0.001)
    return False


def gone(sb: Sandbox, p: Process, timeout: float) -> bool:
    """Waits (bounded) for the root's result and for every cage of the tree to have ended."""
    end = time.monotonic() + timeout
    if p.wait(timeout) is None:
        return False
    left = max(0.0, end - time.monotonic())
    return bool(sb._mv.lib.lind_tree_wait(p.pid, int(left * 1000)))


def try_kill(sb: Sandbox, wasm: Path, argv: list[str], limits: dict[str, float], timeout: float,
             rng: random.Random) -> float | None:
    p = sb.spawn(wasm, argv, limits=Limits(**limits), env={"STRESS_READY": "1"}, stdout=None)
    if not wait_ready(p, timeout):
        p.kill()
        return None
    time.sleep(rng.uniform(0.01, 0.03))  # (into the fork storm / the loop / the blocking call)
    t0 = time.perf_counter()
    p.kill()
    ok = gone(sb, p, timeout)
    t1 = time.perf_counter()
    return t1 - t0 if ok else None


def try_wall(sb: Sandbox, wasm: Path, argv: list[str], limits: dict[str, float], timeout: float,
             rng: random.Random) -> float | None:
    wall = rng.uniform(0.05, 0.1)
    t0 = time.perf_counter()
    p = sb.spawn(wasm, argv, limits=Limits(**limits, wall_time=wall))
    ok = gone(sb, p, wall + timeout)
    t1 = time.perf_counter()
    if not ok:
        p.kill()
        return None
    return max(0.0, t1 - (t0 + wall))


def try_sigterm(root: Path, wasm: Path, argv: list[str], limits: dict[str, float], timeout: float,
                rng: random.Random) -> float | None:
    flags = {"max_cages": "--max-cages"}
    cmd = [*LIND, "run", "--root", str(root), "--env", "STRESS_READY=1"]
    for k, v in limits.items():
        cmd += [flags[k], str(int(v))]
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH") or str(REPO)}
    p = subprocess.Popen([*cmd, str(wasm), *argv], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                         cwd=root)
    assert p.stdout is not None
    try:
        ready, _, _ = select.select([p.stdout], [], [], timeout)
        if not ready or p.stdout.readline() != b"ready\n":
            return None
        time.sleep(rng.uniform(0.01, 0.03))
        t0 = time.perf_counter()
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return time.perf_counter() - t0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def run_pair(cage: str, req: str, tries: int, timeout: float, seed: int) -> Row:
    """The tries of one (cage, request) pair, in this process."""
    wasm = build()
    rng = random.Random(seed)
    row = Row(cage, req)
    cargv, limits = CAGES[cage]
    with tempfile.TemporaryDirectory(prefix="lind-kill-") as tmp:
        root = Path(tmp)
        sb = Sandbox(root=root, max_output=1 << 12)
        fns: dict[str, Callable[..., float | None]] = {
            "Process.kill()": lambda *x: try_kill(sb, *x),
            "wall-time limit": lambda *x: try_wall(sb, *x),
            "SIGTERM to lind run": lambda *x: try_sigterm(root, *x),
        }
        streak = 0
        for i in range(tries):
            t = fns[req](wasm, cargv, limits, timeout, rng)
            if t is None:
                row.failed += 1
                streak += 1
                if streak >= 3:
                    row.note = f"stopped after {i + 1} tries: 3 in a row did not end within {timeout:g} s"
                    break
            else:
                streak = 0
                row.times.append(t)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tries", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds after which a try counts as failed")
    ap.add_argument("--only", default="", help="run only the pairs whose 'cage / request' contains this")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pair", help=argparse.SUPPRESS)  # (internal: one pair, in a process of its own)
    a = ap.parse_args(argv)
    if a.pair:
        cage, req = a.pair.split(" / ")
        row = run_pair(cage, req, a.tries, a.timeout, a.seed)
        print(json.dumps({"times": row.times, "failed": row.failed, "note": row.note}), flush=True)
        os._exit(0)  # (a tree that could not be killed must not hold the exit up)
    build()
    rows: list[Row] = []
    # Each pair runs in a process of its own: a tree that a kill failed to end (still forking,
    # spinning) would otherwise slow every later measurement down.
    for cage in CAGES:
        for req in REQUESTS:
            pair = f"{cage} / {req}"
            if a.only and a.only not in pair:
                continue
            row = Row(cage, req)
            cmd = [sys.executable, __file__, "--pair", pair, "--tries", str(a.tries), "--timeout", str(a.timeout),
                   "--seed", str(a.seed)]
            budget = a.tries * (a.timeout + 2) + 60
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=budget)
                last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
                if p.returncode != 0 or not last.startswith("{"):
                    row.note = f"the measuring process failed (exit {p.returncode}): {p.stderr.strip()[-300:]!r}"
                else:
                    d = json.loads(last)
                    row.times, row.failed, row.note = d["times"], d["failed"], d["note"]
            except subprocess.TimeoutExpired:
                row.note = f"the measuring process did not end within {budget:g} s"
            rows.append(row)
            print(fmt(row), flush=True)
    print()
    print(table(rows))
    return 0


def fmt(r: Row) -> str:
    if r.times:
        p50, mx = statistics.median(r.times) * 1e3, max(r.times) * 1e3
        stats = f"{p50:9.2f} {mx:9.2f}"
    else:
        stats = f"{'-':>9} {'-':>9}"
    return f"{r.cage:28} {r.request:21} {len(r.times) + r.failed:5} {stats} {r.failed:7}  {r.note}"


def table(rows: list[Row]) -> str:
    head = f"{'cage':28} {'kill request':21} {'tries':>5} {'p50 ms':>9} {'max ms':>9} {'failed':>7}"
    return "\n".join([head, "-" * len(head), *(fmt(r) for r in rows)])


if __name__ == "__main__":
    sys.exit(main())
