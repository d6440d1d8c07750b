"""The lifecycle issue's proof runs: a 1,000-iteration run_here loop of a forking program, and a
1,000-job mixed batch (forking, threaded, crashing, looping, fork-bombing jobs) at -j 1 and -j 2,
each repeated, every run in a fresh process so that a host crash shows as a dead run.

    .venv/bin/python bench/lifecycle_soak.py [--runs 10] [--jobs 1000] [--seed 1]

Prints one line per run and a summary table (runs, host crashes, jobs accounted for, fork bombs
ended at their limits, wall time); appends the table to bench/RESULTS.md unless --no-append.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from conftest import C_DIR, LIND, build_cage  # noqa: E402

# kind: (program, argv, limits, the verdicts it may end with)
KINDS: dict[str, tuple[str, list[str], dict[str, object], set[str]]] = {
    "fork": ("lc_fork_pipe", ["3"], {}, {"OK"}),
    "ok": ("lc_verdict", ["ok"], {}, {"OK"}),
    "fail": ("lc_verdict", ["fail"], {}, {"RUNTIME_ERROR"}),
    "segv": ("lc_verdict", ["segv"], {}, {"SIGNALED"}),
    "abort": ("lc_verdict", ["abort"], {}, {"SIGNALED"}),
    "threads": ("threads_basic", [], {}, {"OK"}),
    "cpu": ("lc_cpu_tree", ["threads"], {"cpu_time": "50ms"}, {"TIME_LIMIT"}),
    "loop": ("lc_cpu_tree", ["fork"], {"wall_time": "100ms", "max_cages": 3}, {"WALL_LIMIT", "TIME_LIMIT"}),
    "sleep": ("lc_stubborn", ["read"], {"wall_time": "50ms"}, {"WALL_LIMIT"}),
    "bomb": ("lc_forkbomb", [], {"wall_time": "100ms", "max_cages": 8}, {"WALL_LIMIT"}),
}
WEIGHTS = {"fork": 40, "ok": 15, "fail": 5, "segv": 5, "abort": 5, "threads": 10, "cpu": 5, "loop": 5, "sleep": 5,
           "bomb": 5}


def programs() -> dict[str, Path]:
    return {name: build_cage(C_DIR / f"{name}.c", ["-pthread"]) for name in {k[0] for k in KINDS.values()}}


def run_here_loop(n: int, wasm: Path, root: Path) -> tuple[bool, str, float]:
    code = textwrap.dedent(f"""
        from lind_aot.api import Sandbox
        sb = Sandbox(root={str(root)!r})
        bad = 0
        for i in range({n}):
            r = sb.run_here({str(wasm)!r}, ["1"])
            bad += (r.stdout, r.returncode) != (b"child 0\\n", 0)
        print(bad)
    """)
    t = time.monotonic()
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
    ok = p.returncode == 0 and p.stdout.strip() == "0"
    msg = p.stdout.strip() if p.returncode == 0 else f"rc {p.returncode}: {p.stderr[-300:]}"
    return ok, msg, time.monotonic() - t


def batch_run(n: int, jobs_n: int, progs: dict[str, Path], root: Path, rng: random.Random) -> tuple[bool, str, float,
                                                                                                      int, int]:
    kinds = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()), k=n)
    lines = []
    for i, k in enumerate(kinds):
        prog, argv, limits, _ = KINDS[k]
        lines.append(json.dumps({"id": f"{i}:{k}", "program": str(progs[prog]), "argv": argv, "limits": limits}))
    jobs = root / "jobs.jsonl"
    out = root / "out.jsonl"
    jobs.write_text("\n".join(lines) + "\n")
    t = time.monotonic()
    p = subprocess.run([*LIND, "batch", str(jobs), "-j", str(jobs_n), "--root", str(root), "--out", str(out)],
                       capture_output=True, text=True, timeout=1800, cwd=REPO)
    wall = time.monotonic() - t
    if p.returncode != 0:
        return False, f"rc {p.returncode}: {p.stderr[-300:]}", wall, 0, 0
    res = [json.loads(x) for x in out.read_text().splitlines()]
    seen = {r["id"]: r for r in res}
    wrong = [(i, r["verdict"]) for i, r in seen.items() if r["verdict"] not in KINDS[i.split(":")[1]][3]]
    bombs = [r for i, r in seen.items() if i.endswith(":bomb")]
    bombs_ok = sum(r["verdict"] == "WALL_LIMIT" for r in bombs)
    ok = len(seen) == n and not wrong
    return ok, f"{len(seen)}/{n} results, unexpected verdicts {wrong[:3]}", wall, bombs_ok, len(bombs)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-append", action="store_true")
    a = ap.parse_args()
    progs = programs()
    rng = random.Random(a.seed)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        for what in ("run_here", "batch -j 1", "batch -j 2"):
            oks = crashes = bombs_ok = bombs = 0
            walls = []
            for i in range(a.runs):
                if what == "run_here":
                    ok, msg, wall = run_here_loop(a.jobs, progs["lc_fork_pipe"], root)
                    b_ok = b_n = 0
                else:
                    ok, msg, wall, b_ok, b_n = batch_run(a.jobs, int(what[-1]), progs, root, rng)
                oks += ok
                crashes += msg.startswith("rc ")
                bombs_ok += b_ok
                bombs += b_n
                walls.append(wall)
                print(f"{what} run {i + 1}: {'ok' if ok else 'FAILED'} {msg} ({wall:.1f} s)", flush=True)
            rows.append((what, a.runs, oks, crashes, f"{bombs_ok}/{bombs}" if bombs else "-",
                         f"{sum(walls) / len(walls):.1f}"))
    head = ("entry point", "runs", "runs all right", "host crashes", "fork bombs ended at their limit", "s per run")
    table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    table += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    text = "\n".join(table)
    print(text)
    if not a.no_append:
        with open(HERE / "RESULTS.md", "a") as f:
            f.write(f"\n### Lifecycle soak ({time.strftime('%Y-%m-%d')}, {platform.node()}, {os.cpu_count()} CPUs)\n\n"
                    f"`.venv/bin/python bench/lifecycle_soak.py --runs {a.runs} --jobs {a.jobs} --seed {a.seed}`: "
                    f"{a.jobs} jobs per run, each run in a fresh process.\n\n{text}\n")
    return 0 if all(r[2] == r[1] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
