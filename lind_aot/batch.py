"""`lind batch`: run many cage jobs concurrently inside one process.

    lind batch JOBS.jsonl [-j N] [--out RESULTS.jsonl] [--cache DIR] [--root DIR] [--max-output BYTES]

JOBS.jsonl holds one JSON object per line (blank lines and lines starting with # are skipped):

    {"id": "a1", "program": "hello.wasm", "argv": ["x"], "stdin": "text", "env": {"K": "V"},
     "limits": {"mem": "64M", "cpu_time": 2, "wall_time": "5s", "max_fds": 64, "max_cages": 8},
     "cwd": "/"}

Only "program" is required: a host path to a .wasm file (relative paths are taken from the current
directory). "argv" are the arguments after argv[0]. "stdin" is text (UTF-8); "stdin_b64" gives bytes.
"limits" accepts numbers (bytes, seconds) or strings with units like `lind run` (64M, 500ms).

Each job's result is one JSON line, written as jobs finish (so not in input order; "index" is the
0-based line number of the job among the jobs, "id" its id or the index):

    {"index": 0, "id": "a1", "status": "exited" | "signaled" | "error", "exit_code": 0, "signal": null,
     "signal_name": null, "returncode": 0, "stdout": "...", "stderr": "...", "stdout_encoding": "text",
     "stderr_encoding": "text", "wall_time": 0.0012, "cpu_time": 0.0003, "tree_cpu_time": 0.0004,
     "peak_memory": 131072, "tree_peak_memory": 262144, "wall_time_exceeded": false,
     "output_truncated": false, "verdict": "OK", "message": "exited normally", "error": null}

"verdict" says how the job ended, as a judge reports it: OK, RUNTIME_ERROR (non-zero exit), SIGNALED
(a signal or a trap), TIME_LIMIT (the tree's CPU time, "tree_cpu_time", reached limits.cpu_time),
WALL_LIMIT, MEMORY_LIMIT (it failed after the memory limit refused an allocation); "message" is one
line on it. "cpu_time" is the root cage's main thread's, "tree_cpu_time" every thread's of every
cage of the job; "peak_memory" the root's linear memory, "tree_peak_memory" the most the job's cages
had at once.

stdout and stderr are text when they are valid UTF-8, else base64 (the *_encoding field says
"base64"). "returncode" is the exit code or -N after signal N; "status": "error" means the job could
not be started (missing program, not a lind program, malformed job line); "error" tells why.

Progress goes to stderr: one \\r-updated line on a terminal, else a line every few seconds; a
summary (jobs/s, p50/p99 latency, counts) at the end. The exit status is 0 if every job could be
started (whatever the jobs' own statuses), 1 otherwise, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import os
import queue
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from lind_aot.api import CacheError, HereJob, Limits, Result, Sandbox, SpawnError

DEFAULT_MAX_OUTPUT = 1 << 20
CHUNK_MAX = 32  # jobs handed to the data plane at once, at most
SHORT_JOB = 0.001  # seconds: jobs shorter than this are chunked


def _size(v: object) -> int:
    if isinstance(v, int | float):
        return int(v)
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    t = str(v).strip().upper().removesuffix("B")
    if t and t[-1] in units:
        return int(float(t[:-1]) * units[t[-1]])
    return int(t)


def _seconds(v: object) -> float:
    if isinstance(v, int | float):
        return float(v)
    t = str(v).strip().lower()
    for suffix, mult in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if t.endswith(suffix):
            return float(t[: -len(suffix)]) * mult
    return float(t)


def parse_limits(d: dict[str, Any] | None) -> Limits | None:
    """A job's "limits" object as Limits (unknown keys are an error)."""
    if not d:
        return None
    conv = {"mem": _size, "cpu_time": _seconds, "wall_time": _seconds, "max_fds": int, "max_cages": int}
    bad = set(d) - set(conv)
    if bad:
        raise ValueError(f"unknown limit(s): {', '.join(sorted(bad))}")
    return Limits(**{k: conv[k](v) for k, v in d.items() if v is not None})  # type: ignore[operator]


def _text(data: bytes) -> tuple[str, str]:
    try:
        return data.decode(), "text"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode(), "base64"


@dataclass
class Job:
    index: int
    id: object
    spec: dict[str, Any] | None
    error: str | None = None


def result_record(job: Job, res: Result | None, error: str | None, wall: float) -> dict[str, Any]:
    """The JSON object written for one job."""
    rec: dict[str, Any] = {"index": job.index, "id": job.id}
    if res is None:
        rec.update(status="error", exit_code=None, signal=None, signal_name=None, returncode=None, stdout="",
                   stderr="", stdout_encoding="text", stderr_encoding="text", wall_time=round(wall, 6),
                   cpu_time=None, tree_cpu_time=None, peak_memory=None, tree_peak_memory=None,
                   wall_time_exceeded=False, output_truncated=False, verdict=None, message=None, error=error)
        return rec
    out, oenc = _text(res.stdout)
    err, eenc = _text(res.stderr)
    rec.update(status="signaled" if res.signal is not None else "exited", exit_code=res.exit_code,
               signal=res.signal, signal_name=res.signal_name, returncode=res.returncode, stdout=out, stderr=err,
               stdout_encoding=oenc, stderr_encoding=eenc, wall_time=round(res.usage.wall_time, 6),
               cpu_time=res.usage.cpu_time, tree_cpu_time=res.usage.tree_cpu_time,
               peak_memory=res.usage.peak_memory, tree_peak_memory=res.usage.tree_peak_memory,
               wall_time_exceeded=res.wall_time_exceeded, output_truncated=res.output_truncated,
               verdict=res.verdict, message=res.message, error=None)
    return rec


def read_jobs(lines: Iterable[str]) -> list[Job]:
    jobs: list[Job] = []
    for line in lines:
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        i = len(jobs)
        try:
            spec = json.loads(s)
            if not isinstance(spec, dict) or not isinstance(spec.get("program"), str):
                raise ValueError('a job is an object with a "program" string')
            jobs.append(Job(i, spec.get("id", i), spec))
        except ValueError as e:
            jobs.append(Job(i, i, None, f"bad job line: {e}"))
    return jobs


def here_job(spec: dict[str, Any]) -> HereJob:
    """The HereJob of a job line (ValueError or TypeError if it is malformed)."""
    argv = [str(a) for a in spec.get("argv") or []]
    env = {str(k): str(v) for k, v in (spec.get("env") or {}).items()}
    if "stdin_b64" in spec:
        stdin: bytes | None = base64.b64decode(spec["stdin_b64"])
    elif spec.get("stdin") is not None:
        stdin = str(spec["stdin"]).encode()
    else:
        stdin = None
    return HereJob(spec["program"], argv, env, stdin, parse_limits(spec.get("limits")), spec.get("cwd"))


JOB_ERRORS = (SpawnError, CacheError, ValueError, TypeError, OSError)


def run_jobs(sb: Sandbox, jobs: list[Job], modules: dict[str, Any]) -> list[dict[str, Any]]:
    """Runs jobs one after another (in one call into the data plane) and returns their records, in
    order; never raises: a job that cannot start, or a host-side failure, is that job's record.
    `modules` remembers the programs loaded so far (each is read and checked once per batch)."""
    recs: list[dict[str, Any] | None] = [None] * len(jobs)
    todo: list[tuple[int, HereJob]] = []
    for i, job in enumerate(jobs):
        if job.spec is None:
            recs[i] = result_record(job, None, job.error, 0.0)
            continue
        try:
            hj = here_job(job.spec)
            program = str(hj.program)
            module = modules.get(program)
            if module is None:
                module = modules[program] = sb.load(program)
            todo.append((i, dataclasses.replace(hj, module=module)))
        except JOB_ERRORS as e:
            recs[i] = result_record(job, None, str(e), 0.0)
    try:
        results: list[Result | SpawnError] = sb.run_many_here([hj for _, hj in todo])
    except Exception as e:  # noqa: BLE001 - a host-side failure is these jobs' result
        results = [SpawnError(f"internal error: {e!r}")] * len(todo)
    for (i, _), r in zip(todo, results, strict=True):
        recs[i] = result_record(jobs[i], None, str(r), 0.0) if isinstance(r, SpawnError) else \
            result_record(jobs[i], r, None, r.usage.wall_time)
    return recs  # type: ignore[return-value]


@dataclass
class Progress:
    """Jobs done / total with throughput, on a stream (\\r updates on a tty, periodic lines otherwise)."""

    total: int
    stream: IO[str] = field(default_factory=lambda: sys.stderr)
    enabled: bool = True
    label: str = "jobs"
    done: int = 0
    failed: int = 0
    start: float = field(default_factory=time.perf_counter)
    _last: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.tty = self.enabled and self.stream.isatty()
        self.interval = 0.1 if self.tty else 5.0

    def step(self, failed: bool = False) -> None:
        with self._lock:
            self.done += 1
            self.failed += failed
            now = time.perf_counter()
            if self.enabled and (now - self._last >= self.interval or self.done == self.total):
                self._last = now
                self._show(now)

    def _show(self, now: float) -> None:
        el = max(now - self.start, 1e-9)
        pct = 100.0 * self.done / self.total if self.total else 100.0
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        bar = "#" * filled + "." * (width - filled)
        line = (f"[{bar}] {self.done}/{self.total} {self.label} ({pct:5.1f}%)  {self.done / el:,.0f}/s  "
                f"{el:.1f}s  {self.failed} failed")
        if self.tty:
            self.stream.write("\r" + line + ("\n" if self.done == self.total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(q / 100.0 * (len(s) - 1)))))
    return s[k]


def run_batch(sb: Sandbox, jobs: list[Job], workers: int, out: IO[str], progress: bool = True) -> dict[str, Any]:
    """Runs jobs on `workers` threads, writing one result line per job to out; returns a summary."""
    q: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
    for j in jobs:
        q.put(j)
    for _ in range(workers):
        q.put(None)
    lat: list[float] = []
    counts = {"exited": 0, "signaled": 0, "error": 0}
    out_lock = threading.Lock()
    prog = Progress(len(jobs), enabled=progress)
    modules: dict[str, Any] = {}  # shared by the workers (a dict's get and set are atomic)

    def worker() -> None:
        # Jobs go to the data plane in chunks: one after another in one call, since for jobs of a
        # fraction of a millisecond each return to Python costs more than the job. The chunk grows
        # while jobs are that short and falls back to one job at a time when they are not (a slow
        # job must not hold up others behind it).
        chunk, done = 1, False
        while not done:
            jobs: list[Job] = []
            while len(jobs) < chunk:
                try:
                    j = q.get() if not jobs else q.get_nowait()
                except queue.Empty:
                    break
                if j is None:
                    done = True
                    break
                jobs.append(j)
            if not jobs:
                continue
            t0 = time.perf_counter()
            recs = run_jobs(sb, jobs, modules)
            per_job = (time.perf_counter() - t0) / len(jobs)
            chunk = min(CHUNK_MAX, chunk * 2) if per_job < SHORT_JOB else 1
            lines = [json.dumps(rec, ensure_ascii=False) for rec in recs]
            with out_lock:
                out.write("\n".join(lines) + "\n")
                for rec in recs:
                    lat.append(rec["wall_time"])
                    counts[rec["status"]] += 1
            for rec in recs:
                prog.step(rec["status"] == "error" or rec["returncode"] != 0)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True, name=f"batch-{i}") for i in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.5)
    out.flush()
    el = time.perf_counter() - t0
    return {"jobs": len(jobs), "seconds": el, "jobs_per_s": len(jobs) / el if el > 0 else 0.0,
            "p50": percentile(lat, 50), "p99": percentile(lat, 99), **counts}


def main(argv: list[str] | None = None) -> int:
    # Worker threads hand Python's lock back and forth around every wasm call: a short switch
    # interval keeps a thread whose cage just returned from waiting 5 ms for it.
    sys.setswitchinterval(0.0005)
    p = argparse.ArgumentParser(prog="lind batch", description="Run JSON-lines jobs as cages, concurrently, "
                                "in one process.")
    p.add_argument("jobs", help="JSON-lines job file ('-' for stdin)")
    p.add_argument("-j", "--jobs", dest="workers", type=int, default=os.cpu_count() or 1,
                   help="jobs running at once (default: CPUs; jobs of a few ms or less are fastest with -j 1, since "
                        "most of such a job's cost holds Python's lock)")
    p.add_argument("--out", help="write results here (default: stdout)")
    p.add_argument("--cache", help="AOT cache directory")
    p.add_argument("--root", default=".", help="the directory every job's cage sees as / (default: current)")
    p.add_argument("--net", choices=["none", "loopback", "host"], default="none", help="network policy (default none)")
    p.add_argument("--max-output", type=_size, default=DEFAULT_MAX_OUTPUT,
                   help="bytes of stdout/stderr kept per job (default 1M; the rest is dropped)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    a = p.parse_args(argv)
    try:
        if a.jobs == "-":
            jobs = read_jobs(sys.stdin)
        else:
            with open(a.jobs, encoding="utf-8") as f:
                jobs = read_jobs(f)
    except OSError as e:
        print(f"lind batch: {a.jobs}: {e.strerror}", file=sys.stderr)
        return 2
    try:
        sb = Sandbox(root=a.root, cache=a.cache, net=a.net, max_output=a.max_output)
    except SpawnError as e:
        print(f"lind batch: {e}", file=sys.stderr)
        return 2
    out: IO[str] = open(a.out, "w", encoding="utf-8") if a.out else sys.stdout
    try:
        summary = run_batch(sb, jobs, a.workers, out, progress=not (a.no_progress or a.quiet))
    finally:
        if a.out:
            out.close()
    if not a.quiet:
        print(f"lind batch: {summary['jobs']} jobs in {summary['seconds']:.2f} s: {summary['jobs_per_s']:,.0f} jobs/s, "
              f"latency p50 {summary['p50'] * 1e3:.2f} ms, p99 {summary['p99'] * 1e3:.2f} ms; "
              f"{summary['exited']} exited, {summary['signaled']} signaled, {summary['error']} not started",
              file=sys.stderr)
    return 1 if summary["error"] else 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["Job", "main", "parse_limits", "read_jobs", "result_record", "run_batch", "run_jobs"]
