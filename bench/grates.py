"""3i benchmarks: a system call answered by a grate vs by the microvisor vs native Linux, and pread
through the in-memory file system grate (grates/imfs.c) vs pread of a real file.

Prints a table and appends it to bench/RESULTS.md. Run: `.venv/bin/python bench/grates.py`.
"""

from __future__ import annotations

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

Row = tuple[str, str, str, str, str, str, str]


def build(src: Path, native: bool = True) -> tuple[Path | None, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    nat, wasm = OUT / src.stem, OUT / f"{src.stem}.wasm"
    if native:
        subprocess.run(["gcc", "-O2", "-o", str(nat), str(src)], check=True)
    subprocess.run([*LIND, "cc", "-O2", "-o", str(wasm), str(src)], check=True, cwd=REPO)
    return (nat if native else None), wasm


def median_of(cmd: list[str], cwd: Path) -> float:
    vals = []
    for _ in range(ROUNDS):
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True).stdout
        vals.append(float(out.strip().splitlines()[-1]))
    return statistics.median(vals)


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def main() -> int:
    rows: list[Row] = []
    _, fakeid = build(REPO / "grates" / "fakeid.c", native=False)
    _, imfs = build(REPO / "grates" / "imfs.c", native=False)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run = [*LIND, "run", "--root", str(root)]

        native, wasm = build(HERE / "c" / "grate_geteuid.c")
        (root / "p.wasm").write_bytes(wasm.read_bytes())
        (root / "p.wasm").chmod(0o755)
        n = "2000000"
        nat = median_of([str(native), n], root)
        cage = median_of([*run, str(wasm), n], REPO)
        grate = median_of([*run, str(fakeid), "/p.wasm", n], REPO)
        rows.append(("geteuid()", f"{nat:.1f} ns", f"{cage:.1f} ns", f"{grate:.1f} ns (fakeid)",
                     f"{cage / nat:.2f}x / {grate / nat:.2f}x", "grate <= 100 ns", verdict(grate <= 100)))

        native, wasm = build(HERE / "c" / "grate_pread.c")
        (root / "p.wasm").write_bytes(wasm.read_bytes())
        for size, label in (("1", "pread 1 B"), ("4096", "pread 4 KiB")):
            n = "1000000"
            nat = median_of([str(native), str(root / "f.bin"), size, n], root)
            cage = median_of([*run, str(wasm), "/f.bin", size, n], REPO)
            grate = median_of([*run, str(imfs), "--prefix", "/mem", "/p.wasm", "/mem/f.bin", size, n], REPO)
            rows.append((label, f"{nat:.1f} ns", f"{cage:.1f} ns", f"{grate:.1f} ns (imfs)",
                         f"{cage / nat:.2f}x / {grate / nat:.2f}x", "imfs <= 1.0x native", verdict(grate / nat <= 1.0)))

    header = ("what", "native Linux", "cage (microvisor)", "cage via grate", "cage/native, grate/native",
              "target", "")
    report.publish("3i and grates", ".venv/bin/python bench/grates.py", header, rows,
                   f"Median of {ROUNDS} runs, each timed inside the program (mean per call).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
