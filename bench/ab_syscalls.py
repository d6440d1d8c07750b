"""The system-call path of two checkouts side by side: getppid, pread of 1 byte, and geteuid
answered by a grate (fakeid), in ns per call, measured in alternating rounds (A, B, B, A, ...) so
that a slow spell of the shared machine falls on both.

    .venv/bin/python bench/ab_syscalls.py OLD_CHECKOUT NEW_CHECKOUT [--rounds 9]

The programs are built once, by the new checkout, so that only the data plane differs; each run
is a `lind run` of that checkout (its own data plane build). Prints a table of medians.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def lind(tree: Path, args: list[str], cwd: Path) -> str:
    env = dict(os.environ, PYTHONPATH=str(tree))
    r = subprocess.run([sys.executable, "-m", "lind_aot.cli", *args], cwd=cwd, env=env, capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise SystemExit(f"lind {' '.join(args)} ({tree}): exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--rounds", type=int, default=9)
    a = ap.parse_args()
    old, new = a.old.resolve(), a.new.resolve()
    out = Path(tempfile.mkdtemp(prefix="ab-syscalls-"))
    try:
        progs = {"syscalls": new / "bench/c/syscalls.c", "grate_geteuid": new / "bench/c/grate_geteuid.c",
                 "fakeid": new / "grates/fakeid.c"}
        for name, src in progs.items():
            lind(new, ["cc", "-O2", "-o", str(out / f"{name}.wasm"), str(src)], cwd=out)
        root = out / "root"
        root.mkdir()
        shutil.copyfile(out / "grate_geteuid.wasm", root / "p.wasm")
        (root / "p.wasm").chmod(0o755)
        cases = {
            "getppid": ["run", "--root", str(root), str(out / "syscalls.wasm"), "getppid", "2000000"],
            "pread 1 B": ["run", "--root", str(root), str(out / "syscalls.wasm"), "pread1", "500000"],
            "grate geteuid": ["run", "--root", str(root), str(out / "fakeid.wasm"), "/p.wasm", "2000000"],
        }
        for tree in (old, new):  # warm-up: each checkout's data plane is built, the AOT cache filled
            for args in cases.values():
                lind(tree, args, cwd=root)
        res: dict[tuple[str, str], list[float]] = {(c, s): [] for c in cases for s in ("old", "new")}
        for r in range(a.rounds):
            for name, args in cases.items():
                sides = [("old", old), ("new", new)]
                for side, tree in sides if r % 2 == 0 else sides[::-1]:
                    res[(name, side)].append(float(lind(tree, args, cwd=root).strip().splitlines()[-1]))
        print(f"median ns per call over {a.rounds} interleaved rounds; old = {old}, new = {new}")
        print("| call | old | new | new/old |")
        print("|---|---|---|---|")
        for name in cases:
            o, n = statistics.median(res[(name, "old")]), statistics.median(res[(name, "new")])
            print(f"| {name} | {o:.1f} ns | {n:.1f} ns | {n / o:.3f} |")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
