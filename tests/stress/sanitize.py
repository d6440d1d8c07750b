"""Runs a command with the data plane built under a sanitizer, and reports what the sanitizer found.

    python tests/stress/sanitize.py asan|tsan [--logs DIR] -- COMMAND...
    python tests/stress/sanitize.py report DIR     (the deduplicated reports of an earlier run)
    python tests/stress/sanitize.py env asan|tsan  (the environment, as shell assignments)

The C data plane is built with LIND_SANITIZE (lind_aot/vmm/native.py: its own library file), and
since Python itself is not instrumented the sanitizer's runtime is preloaded (LD_PRELOAD) into
COMMAND and everything it starts (`lind run`, `lind batch`, the stress driver). Reports go to
files in DIR (log_path), one per process, so that reports of subprocesses are not lost in their
captured output; afterwards they are grouped by kind and by the top frames in the data plane and
printed once each with their count. The exit status is COMMAND's, or 1 if it succeeded but a
report was found (a sanitizer report is a failure even when no test noticed).

Options chosen (and why):
* ASan: detect_leaks=0 (CPython and wasmtime keep memory until exit by design: thousands of
  "leaks" that are not ours); wasmtime's SIGSEGV handler must stay installed (it turns
  out-of-bounds accesses of cages into traps), which is ASan's default (allow_user_segv_handler=1,
  wasmtime chains to ASan's handler for faults outside wasm code, so a crash of the host still
  gets ASan's report); PYTHONMALLOC=malloc so that Python's objects are ASan allocations too (an
  overflow of the data plane into one is then caught); UBSan prints stacks and does not halt.
* TSan: works under this process (wasmtime's reservations of 6 GiB per linear memory fit TSan's
  application ranges on x86-64), but sees none of the synchronization inside wasmtime (Rust
  atomics are not instrumented): reports whose every frame is inside wasmtime's compiler are
  suppressed (tests/stress/tsan.supp, each entry with its reason); halt_on_error=0 so that a run
  gives every race it meets.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def runtime(san: str) -> list[str]:
    from lind_aot.vmm.native import sanitizer_runtime

    return sanitizer_runtime(san)


def environment(san: str, logs: Path) -> dict[str, str]:
    """The variables that run COMMAND under `san`, its reports going to files in logs."""
    env = {"LIND_SANITIZE": san, "LD_PRELOAD": ":".join(runtime(san))}
    if san == "asan":
        env["ASAN_OPTIONS"] = ":".join([
            "detect_leaks=0", "allow_user_segv_handler=1", "handle_segv=1", "handle_abort=1",
            "detect_stack_use_after_return=0", "check_initialization_order=0", "halt_on_error=1",
            "abort_on_error=0", "exitcode=66", f"log_path={logs}/asan", "print_summary=1",
        ])
        env["UBSAN_OPTIONS"] = ":".join([
            "print_stacktrace=1", "halt_on_error=0", f"log_path={logs}/ubsan",
            f"suppressions={HERE / 'ubsan.supp'}",
        ])
        env["PYTHONMALLOC"] = "malloc"
    elif san == "tsan":
        env["TSAN_OPTIONS"] = ":".join([
            "halt_on_error=0", "second_deadlock_stack=1", "report_signal_unsafe=0", "history_size=7",
            "exitcode=0",  # (the reports decide, below: TSan would otherwise fail every process it reports in)
            f"log_path={logs}/tsan", f"suppressions={HERE / 'tsan.supp'}",
        ])
    else:
        raise SystemExit(f"unknown sanitizer {san!r} (asan or tsan)")
    return env


# ---- reading the reports ----

_HEADER = re.compile(r"^(==\d+==ERROR: AddressSanitizer: \S+|WARNING: ThreadSanitizer: [^(]+|"
                     r"==\d+==ERROR: LeakSanitizer|.*: runtime error: .*)")
_FRAME = re.compile(r"^\s+#(\d+) (?:0x[0-9a-f]+ in )?(\S+)(?: (\S+))?")


def _split(text: str) -> list[list[str]]:
    """A log file's reports, each as its lines."""
    reports: list[list[str]] = []
    cur: list[str] | None = None
    for line in text.splitlines():
        if _HEADER.match(line):
            cur = [line]
            reports.append(cur)
        elif cur is not None:
            cur.append(line)
    return reports


def _ours(frame_fn: str, where: str | None) -> bool:
    return bool(where and "/native/" in where)


def signature(report: list[str]) -> tuple[str, tuple[str, ...]]:
    """(kind, top frames in the data plane of the report's first two stacks: the access and the
    other access / the free): equal for the same bug wherever it was met."""
    head = report[0]
    m = re.search(r"runtime error: (.*)", head)
    if m:  # UBSan: file:line and the message without its values
        loc = head.split(": runtime error:")[0].split("/native/")[-1]
        kind = "ubsan: " + re.sub(r"-?\b(0x[0-9a-f]+|\d+)\b", "N", m.group(1))
        return kind, (loc,)
    kind = re.sub(r"^==\d+==", "", head)
    kind = re.sub(r" on (unknown )?address.*| \(pid=\d+\)", "", kind).strip()
    stacks: list[list[str]] = []
    for line in report[1:]:
        f = _FRAME.match(line)
        if not f:
            continue
        if f.group(1) == "0":
            if len(stacks) == 2:
                break
            stacks.append([])
        if _ours(f.group(2), f.group(3)):
            stacks[-1].append(f"{f.group(2)} {f.group(3).split('/native/')[-1]}")
    tops = [" < ".join(st[:3]) or "(not in native/)" for st in stacks]
    if kind.startswith("WARNING: ThreadSanitizer"):
        tops.sort()  # (which of the two racing accesses came first does not matter)
    return kind, tuple(tops)


def summarize(logs: Path) -> tuple[int, str]:
    """(number of distinct reports, a text with each once: count, kind, frames, one full copy)."""
    groups: dict[tuple[str, tuple[str, ...]], list[tuple[str, list[str]]]] = defaultdict(list)
    for f in sorted(logs.glob("*.*")):
        try:
            text = f.read_text(errors="replace")
        except OSError:
            continue
        for rep in _split(text):
            groups[signature(rep)].append((f.name, rep))
    out = []
    for (kind, frames), reps in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        out.append(f"---- {len(reps)} x {kind}")
        out += [f"     {'at' if i == 0 else 'vs' if 'ThreadSanitizer' in kind else 'by'} {fr}"
                for i, fr in enumerate(frames)] or ["     (no frame in native/)"]
        name, rep = reps[0]
        out.append(f"     first in {name}:")
        out += ["       " + line for line in rep[:80]]
    return len(groups), "\n".join(out)


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "report":
        n, text = summarize(Path(argv[1]))
        print(text or "no sanitizer reports")
        return 1 if n else 0
    if len(argv) >= 2 and argv[0] == "env":
        logs = Path(argv[2]) if len(argv) > 2 else Path(tempfile.gettempdir()) / f"lind-{argv[1]}"
        for k, v in environment(argv[1], logs).items():
            print(f"export {k}='{v}'")
        return 0
    if not argv or "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    k = argv.index("--")
    opts, cmd = argv[:k], argv[k + 1:]
    san = opts[0] if opts else ""
    logs = Path(opts[opts.index("--logs") + 1]) if "--logs" in opts else Path(tempfile.mkdtemp(prefix=f"lind-{san}-"))
    logs.mkdir(parents=True, exist_ok=True)
    for old in logs.glob("*.*"):
        old.unlink()
    env = {**os.environ, **environment(san, logs)}
    # the sanitizer build first, without the runtime preloaded into the compiler
    build_env = {**os.environ, "LIND_SANITIZE": san}
    b = subprocess.run([sys.executable, "-c", "from lind_aot.vmm.native import build; print(build())"],
                       env=build_env, cwd=logs, capture_output=True, text=True)  # (cwd: PYTHONPATH decides)
    if b.returncode != 0:
        print(b.stdout + b.stderr, file=sys.stderr)
        return b.returncode
    print(f"sanitize: {san} build {b.stdout.strip()}; reports in {logs}", file=sys.stderr, flush=True)
    rc = subprocess.run(cmd, env=env).returncode
    n, text = summarize(logs)
    if n:
        print(f"\n==== {san}: {n} distinct report(s) (logs in {logs}) ====\n{text}", flush=True)
    else:
        print(f"==== {san}: no reports ====", flush=True)
    return rc if rc != 0 else (1 if n else 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
