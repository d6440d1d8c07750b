"""Process benchmarks, cage vs the same C program native: fork latency, pipe ping-pong between two
processes, fork+exec rate, and the in-process spawn API.

Prints a table and appends it to bench/RESULTS.md. Run: `.venv/bin/python bench/processes.py`.
"""

from __future__ import annotations

import os
import shutil
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

from lind_aot.vmm.cage import CageSpec, microvisor  # noqa: E402

LIND = [sys.executable, "-m", "lind_aot.cli"]
OUT = REPO / "build" / "bench"
ROUNDS = 3

Row = tuple[str, str, str, str, str, str]


def build(name: str, flags: tuple[str, ...] = ()) -> tuple[Path, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    src = HERE / "c" / f"{name}.c"
    native, wasm = OUT / name, OUT / f"{name}.wasm"
    subprocess.run(["gcc", "-O2", *flags, "-o", str(native), str(src)], check=True)
    subprocess.run([*LIND, "cc", "-O2", *flags, "-o", str(wasm), str(src)], check=True, cwd=REPO)
    return native, wasm


def median_of(cmd: list[str], cwd: str | Path, rounds: int = ROUNDS) -> float:
    vals = []
    for _ in range(rounds):
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True).stdout
        vals.append(float(out.strip()))
    return statistics.median(vals)


def cage_cmd(root: Path, wasm: Path, *args: str) -> list[str]:
    return [*LIND, "run", "--root", str(root), str(wasm), *args]


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def main() -> int:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)

        # fork + _exit + waitpid with 4 MiB of touched heap
        native, wasm = build("fork")
        nat = median_of([str(native), "200", "4"], root)
        cage = median_of(cage_cmd(root, wasm, "100", "4"), REPO)
        rows.append(("fork+exit+wait, 4 MiB touched", f"{nat:.0f} us", f"{cage:.0f} us", f"{cage / nat:.2f}x",
                     "<= 300 us and <= 1.5x", verdict(cage <= 300 and cage / nat <= 1.5)))

        # pipe ping-pong between two processes (parent and a forked child)
        # (unpinned, the native figure is bimodal: both processes on one CPU or on two; pinned to one
        # CPU, both sides pay a context switch per message and the comparison is stable)
        native, wasm = build("pipe")
        pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
        for label, prefix in (("unpinned", []), ("pinned to 1 CPU", pin)):
            if label != "unpinned" and not prefix:
                continue
            nat = median_of([*prefix, str(native), "20000"], root, 7)
            cage = median_of([*prefix, *cage_cmd(root, wasm, "20000")], REPO, 7)
            rows.append((f"pipe ping-pong round trip (1 byte), {label}", f"{nat:.2f} us", f"{cage:.2f} us",
                         f"{cage / nat:.2f}x", "<= 1.0x", verdict(cage / nat <= 1.0)))

        # pthread_create + pthread_join of a thread that returns at once
        native, wasm = build("threads", ("-pthread",))
        nat = median_of([str(native), "2000"], root)
        cage = median_of(cage_cmd(root, wasm, "1000"), REPO)
        rows.append(("pthread_create+join", f"{nat:.1f} us", f"{cage:.1f} us", f"{cage / nat:.2f}x", "", ""))

        # fork + exec of hello + wait
        hn, hw = build("hello")
        shutil.copyfile(hn, root / "hello_native")
        (root / "hello_native").chmod(0o755)
        shutil.copyfile(hw, root / "hello")
        (root / "hello").chmod(0o755)
        native, wasm = build("spawn")
        nat = median_of([str(native), "./hello_native", "300"], root)
        cage = median_of(cage_cmd(root, wasm, "/hello", "100"), REPO)
        rows.append(("fork+exec+wait of hello", f"{nat:.0f} /s", f"{cage:.0f} /s",
                     f"{cage / nat:.2f}x the native rate", "", ""))

        # the in-process spawn API: a new cage tree running cached hello, stdout to /dev/null
        mv = microvisor()
        module = mv.load(hw)
        devnull = os.open(os.devnull, os.O_WRONLY)
        spec = CageSpec(program=hw, argv=["hello"], root=root, stdio=(devnull, devnull, devnull))
        for _ in range(20):
            mv.run(spec, module)
        n = 300
        t0 = time.perf_counter()
        for _ in range(n):
            r = mv.run(spec, module)
            assert r.status == 0, r
        rate = n / (time.perf_counter() - t0)
        os.close(devnull)
        rows.append(("microvisor().run(CageSpec(hello), module)", f"{nat:.0f} /s (fork+exec)", f"{rate:.0f} /s",
                     f"{rate / nat:.2f}x the native rate", "", ""))

    header = ("what", "native", "cage", "ratio", "target", "")
    report.publish("processes", ".venv/bin/python bench/processes.py", header, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
