"""`lind bench` (or `python bench/suite.py`): the benchmark suite, natively and in cages in the same run.

Runs the scripts of bench/ one after another (each measures the native program and the cage in the
same run and appends a table to bench/RESULTS.md), then draws the cage/native ratios of this run
into bench/ratios.png.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO_ROOT = BENCH.parent
SUITES = {
    "syscalls": "run.py",  # system calls, file I/O, start-up, cache, in-process spawn
    "processes": "processes.py",  # fork, pipes, spawn
    "network": "net.py",
    "grates": "grates.py",
    "batch": "batch.py",
    "real": "realprog.py",  # Lua, SQLite, busybox (builds them first: minutes)
}
RATIO = re.compile(r"(\d+(?:\.\d+)?)x")


def ratios(markdown: str) -> list[tuple[str, float]]:
    """(row label, cost ratio) for every table row of the text: the first NN.NNx figure of the row,
    turned from a rate ratio (jobs/s, spawns/s: higher is better) into a cost ratio where needed."""
    out = []
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or set(cells[0]) <= {"-", " "} or cells[0] in ("what", "benchmark"):
            continue
        for cell in cells[1:]:
            m = RATIO.fullmatch(cell.split()[0]) if cell else None
            if m and "faster" not in cell:  # "N x faster" compares two cage paths, not cage/native
                value = float(m.group(1))
                is_rate = any("/s" in c and "MB/s" not in c for c in cells[1:])
                if is_rate and value > 0:
                    value = round(1.0 / value, 2)  # a throughput ratio: as a cost, like the others
                out.append((cells[0][:60], value))
                break
    return out


def plot(rows: list[tuple[str, float]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("lind bench: matplotlib is not installed: no plot", file=sys.stderr)
        return False
    labels = [r[0] for r in rows][::-1]
    values = [r[1] for r in rows][::-1]
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(rows) + 1.5))
    colors = ["#2a9d8f" if v <= 1.0 else "#e9c46a" if v <= 1.5 else "#e76f51" for v in values]
    ys = list(range(len(values)))
    ax.barh(ys, values, color=colors)
    ax.set_yticks(ys, labels)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("cost, cage / native (time per operation; log scale; left of the line: the cage is faster)")
    ax.set_title(f"lind-aot vs native Linux, {time.strftime('%Y-%m-%d')}")
    for y, v in zip(ys, values, strict=True):
        ax.text(v, y, f" {v:g}x", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="lind bench", description=__doc__.split("\n\n")[0])
    p.add_argument("suites", nargs="*", choices=[*SUITES, []], help=f"default: all but real ({', '.join(SUITES)})")
    a = p.parse_args(argv)
    chosen = a.suites or [s for s in SUITES if s != "real"]
    results = BENCH / "RESULTS.md"
    before = results.read_text() if results.exists() else ""
    status = 0
    for name in chosen:
        print(f"== {name} (bench/{SUITES[name]})", flush=True)
        r = subprocess.run([sys.executable, str(BENCH / SUITES[name])], cwd=REPO_ROOT)
        if r.returncode != 0:
            print(f"lind bench: {name} failed ({r.returncode})", file=sys.stderr)
            status = 1
    after = results.read_text() if results.exists() else ""
    new = after[len(before):] if after.startswith(before) else after
    rows = ratios(new)
    if rows and plot(rows, BENCH / "ratios.png"):
        print(f"plot: {BENCH / 'ratios.png'} ({len(rows)} ratios)")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
