"""Socket benchmarks: two cages (fork) vs two native processes, on loopback TCP and AF_UNIX.

Prints a table and appends it to bench/RESULTS.md. Run: `python bench/net.py` (from the repository).
Each figure is measured inside the program (start-up excluded), the median of ROUNDS runs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import report  # bench/report.py: this script's folder is on sys.path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LIND = [sys.executable, "-m", "lind_aot.cli"]
OUT = REPO / "build" / "bench"
ROUNDS = 5

CASES = [
    ("TCP loopback round trip, 64 B", ["rtt", "tcp", "20000"], "us", False),
    ("AF_UNIX round trip, 64 B", ["rtt", "unix", "20000"], "us", False),
    ("TCP loopback throughput", ["tput", "tcp", "2048"], "MB/s", True),
    ("AF_UNIX throughput", ["tput", "unix", "2048"], "MB/s", True),
]


def build() -> tuple[Path, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    src = HERE / "c" / "net_bench.c"
    native, wasm = OUT / "net_bench", OUT / "net_bench.wasm"
    subprocess.run(["gcc", "-O2", "-o", str(native), str(src)], check=True)
    subprocess.run([*LIND, "cc", "-O2", "-o", str(wasm), str(src)], check=True, cwd=REPO)
    return native, wasm


def median(cmd: list[str], cwd: str) -> float:
    vals = []
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # `python -m lind_aot.cli` from another directory
    for _ in range(ROUNDS):
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True, env=env).stdout
        vals.append(float(out.strip()))
    return statistics.median(vals)


def main() -> int:
    native, wasm = build()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for name, args, unit, higher_better in CASES:
            n = median([str(native), *args], d)
            c = median([*LIND, "run", "--root", d, str(wasm), *args], d)
            ratio = n / c if higher_better else c / n  # cage cost relative to native: 1.0 = same
            rows.append((name, f"{n:.2f} {unit}", f"{c:.2f} {unit}", f"{ratio:.2f}x"))
    report.publish("networking", ".venv/bin/python bench/net.py", ("benchmark", "native", "cage", "cage/native (cost)"),
                   rows, f"Median of {ROUNDS} runs, measured inside the program (two processes / two cages made by "
                   "fork).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
