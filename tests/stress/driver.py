"""The stress driver: seeded rounds of random short jobs (tests/stress/c/stress_job.c) through one
entry point of lind-aot, kills arriving at random moments, and after every job and every round the
checks that the host is sound.

    python tests/stress/driver.py ENTRY --program stress_job.wasm --seed N [--jobs N] [--rounds N]
        [--kill P] [--kinds a,b,...] [--known-bugs] [--log FILE]

ENTRY is one of: lind_run (a `lind run` subprocess per job, SIGTERM as the kill), batch1 / batch2
(`lind batch -j 1` / `-j 2`, kills are wall-time limits), run (Sandbox.run, kills are its timeout,
i.e. Process.kill), run_here, run_many_here (kills are wall-time limits: those calls return only
at the end), spawn8 (Sandbox.spawn from 8 Python threads, Process.kill after a random delay),
async (AsyncSandbox, AsyncProcess.kill after a random delay).

Run it in a process of its own (tests/stress/test_stress.py does): a crash of the host is then a
failed test with its output, not a dead pytest. It prints one JSON line per round and `STRESS OK`
at the end; on a failure `STRESS FAIL` lines, the command that reproduces the run, exit status 1.
If no job finishes for --hang seconds it prints the jobs in flight and every Python thread's stack
and exits with status 3 (a hang is a failure, never a frozen run). The job sequence, limits and
kill delays follow from the seed; thread timing does not, so a failure may need a few runs.

Checks: every job has a result; each result is one its job allows (its own end, or the kill or
limit it was given: SIGKILL, SIGTERM for `lind run`, the wall-time flag); the job's whole cage tree
is gone within a few seconds of its result (lind_tree_wait); a quick job still runs after each
round; the host's open fds, threads and RSS do not grow from the first round to the last (for the
in-process entries). The subprocess entries check that `lind run` / `lind batch` never die of a
signal or print a fatal error (Python fatal error, traceback, sanitizer report).
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import gc
import heapq
import json
import os
import queue
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

ENTRIES = ("lind_run", "batch1", "batch2", "run", "run_here", "run_many_here", "spawn8", "async")
IN_PROCESS = ("run", "run_here", "run_many_here", "spawn8", "async")
KILL_AS_WALL = ("run_here", "run_many_here", "batch1", "batch2")  # (no handle to kill: a wall-time limit instead)
JOB_TIMEOUT = 30.0  # seconds: a job without a result after this is a failure (--job-timeout)
TREE_GONE = 5.0  # seconds after a job's result by which every cage of its tree must have ended
SIGKILL, SIGTERM = int(signal.SIGKILL), int(signal.SIGTERM)
FATAL_MARKERS = (b"Fatal Python error", b"Traceback (most recent call last)", b"ERROR: AddressSanitizer",
                 b"runtime error:", b"WARNING: ThreadSanitizer", b"Segmentation fault", b"double free",
                 b"malloc(): ", b"free(): ", b"corrupted")


# ---- the jobs ----


@dataclass(frozen=True)
class Kind:
    """A behaviour of stress_job.c and what may come of it."""

    name: str
    weight: float
    argv: Callable[[random.Random], list[str]]
    expect: str  # "ok": exit 0 with its line; "sig:N": dies of signal N; "endless": needs a kill or a limit
    limits: Callable[[random.Random, list[str]], dict[str, float]] = lambda rng, argv: {}
    bug: int | None = None  # the bug of KNOWN_BUGS this kind hits (if still in OPEN_BUGS: not in the default mix)
    check: Callable[[list[str], dict[str, float], bytes], str | None] | None = None  # extra check of stdout


def _n(lo: int, hi: int) -> Callable[[random.Random], int]:
    return lambda rng: rng.randint(lo, hi)


def _cages(need: int) -> Callable[[random.Random, list[str]], dict[str, float]]:
    """Sometimes a max_cages limit, never below what the job needs (its root included)."""
    def f(rng: random.Random, argv: list[str]) -> dict[str, float]:
        n = need if need else int(argv[1]) + 1
        return {"max_cages": rng.randint(n, n + 8)} if rng.random() < 0.4 else {}
    return f


def _mem_limits(rng: random.Random, argv: list[str]) -> dict[str, float]:
    # (above the 8.1 MiB a program built by lind cc needs to start: a smaller limit refuses it)
    return {"mem": rng.choice([12, 16, 24, 32]) << 20} if rng.random() < 0.8 else {}


def _mem_check(argv: list[str], limits: dict[str, float], out: bytes) -> str | None:
    m = re.fullmatch(rb"mem (\d+) ok\n", out)
    if not m:
        return f"unexpected output {out!r}"
    got, cap = int(m.group(1)), int(argv[1])
    if "mem" in limits and got >= int(limits["mem"]) >> 20:
        return f"got {got} MiB under a {int(limits['mem']) >> 20} MiB limit"
    if "mem" not in limits and got != cap:
        return f"got {got} of {cap} MiB without a limit"
    return None


def _max_cages_limits(rng: random.Random, argv: list[str]) -> dict[str, float]:
    return {"max_cages": rng.randint(2, 6)}


def _max_cages_check(argv: list[str], limits: dict[str, float], out: bytes) -> str | None:
    m = re.fullmatch(rb"max_cages made=(\d+) eagain=(\d+) ok\n", out)
    if not m:
        return f"unexpected output {out!r}"
    made, again = int(m.group(1)), int(m.group(2))
    if made + again != int(argv[1]) or made < 1:
        return f"made={made} eagain={again} of {argv[1]} forks"
    return None


def _endless_limits(rng: random.Random, argv: list[str]) -> dict[str, float]:
    return {}  # (made_job gives an endless job a wall-time limit or a kill)


KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("ok", 10, lambda rng: ["ok"], "ok"),
    Kind("fork", 8, lambda rng: ["fork", str(rng.randint(1, 6))], "ok", _cages(0)),
    Kind("fork_chain", 4, lambda rng: ["fork_chain", str(rng.randint(1, 4))], "ok", _cages(0)),
    Kind("exec", 5, lambda rng: ["exec"], "ok"),
    Kind("fork_exec", 4, lambda rng: ["fork_exec", str(rng.randint(1, 3))], "ok", _cages(2)),
    Kind("churn", 4, lambda rng: ["churn", str(rng.randint(3, 12))], "ok", _cages(2)),
    Kind("threads", 6, lambda rng: ["threads", str(rng.randint(1, 8))], "ok"),
    Kind("thread_fork", 3, lambda rng: ["thread_fork"], "ok", _cages(2)),
    Kind("signals", 4, lambda rng: ["signals"], "ok", _cages(2)),
    Kind("mem", 3, lambda rng: ["mem", "48"], "ok", _mem_limits, check=_mem_check, bug=5),
    Kind("max_cages", 3, lambda rng: ["max_cages", "8"], "ok", _max_cages_limits, check=_max_cages_check),
    Kind("crash_null", 2, lambda rng: ["crash_null"], f"sig:{int(signal.SIGSEGV)}"),
    Kind("crash_abort", 2, lambda rng: ["crash_abort"], f"sig:{int(signal.SIGABRT)}"),
    Kind("crash_wild", 2, lambda rng: ["crash_wild"], f"sig:{int(signal.SIGSEGV)}"),
    Kind("crash_child", 3, lambda rng: ["crash_child"], "ok", _cages(2)),
    Kind("spin", 2, lambda rng: ["spin"], "endless"),
    Kind("sleep", 2, lambda rng: ["sleep"], "endless"),
    Kind("block_read", 2, lambda rng: ["block_read"], "endless"),
    Kind("block_futex", 2, lambda rng: ["block_futex"], "endless"),
    Kind("block_poll", 2, lambda rng: ["block_poll"], "endless"),
    Kind("block_sigs", 2, lambda rng: ["block_sigs"], "endless"),
    Kind("block_tree", 2, lambda rng: ["block_tree", str(rng.randint(1, 4))], "endless"),
    Kind("cpu", 0.3, lambda rng: ["spin"], "cpu", lambda rng, argv: {"cpu_time": 0.2}),
    Kind("mem_canary", 4, lambda rng: ["mem_canary"], "ok"),
    Kind("exit_racing_clone", 3, lambda rng: ["exit_racing_clone"], "ok", bug=7),
    # the kinds that hit the bugs of issue 12 (fixed: in the default mix; see KNOWN_BUGS)
    Kind("fork_pipe", 8, lambda rng: ["fork_pipe"], "ok", _cages(2), bug=1),
    Kind("forkbomb", 2, lambda rng: ["forkbomb"], "endless", lambda rng, argv: {"max_cages": 8}, bug=2),
    Kind("exit_thread", 2, lambda rng: ["exit_thread"], "endless", bug=3),
    Kind("orphan", 2, lambda rng: ["orphan"], "orphan", bug=4),
    Kind("orphan_setsid", 2, lambda rng: ["orphan_setsid"], "orphan", bug=4),
]}

KNOWN_BUGS = {
    1: "a loop of run_here of a program that forks, pipes a line back and waits corrupts the host heap",
    2: "a fork bomb under max_cages and wall_time never ends",
    3: "a cage whose main thread called SYS_exit while another thread sleeps cannot be killed",
    4: "orphans keep running after the root exits",
    # found by this suite
    5: "the memory limit does not hold in a linear memory reused from the pool (native/rt/instance.c memory_for): "
       "the cage may use all the memory a previous cage grew it to (up to 64 MiB)",
    6: "a kill is not atomic for the tree: tree->dying is set before the cages are doomed, and a cage that sees it "
       "in between (fork -> EAGAIN) runs on, prints and exits with its own status instead of dying of SIGKILL",
    7: "a thread whose instance cannot be made (its cage exiting or killed while pthread_create instantiates it) "
       "gives the cage's shared memory to the pool (native/rt/instance.c instance_new: instance_free(inst, 1) on "
       "failure): scrubbed under the cage's running threads, then handed to another cage while still in use "
       "(and pooled a second time when the cage ends): two cages share one linear memory",
}
OPEN_BUGS: set[int] = {7}  # (1-5 fixed by ec6e85e, 6 by a498daa)


@dataclass
class Job:
    index: int
    kind: str
    argv: list[str]
    limits: dict[str, float]
    kill_after: float | None  # seconds after its start: the kill (or for run_here/batch, a wall-time limit)

    def describe(self) -> str:
        kill = f" kill@{self.kill_after * 1000:.1f}ms" if self.kill_after is not None else ""
        return f"#{self.index} {' '.join(self.argv)} {self.limits or ''}{kill}".strip()


def kill_delay(rng: random.Random) -> float:
    """When a kill arrives: often during start-up and the first forks, sometimes later."""
    r = rng.random()
    if r < 0.4:
        return rng.uniform(0.0, 0.005)
    if r < 0.8:
        return rng.uniform(0.005, 0.05)
    return rng.uniform(0.05, 0.3)


def make_jobs(rng: random.Random, n: int, kinds: Sequence[str], kill_p: float, entry: str, first: int) -> list[Job]:
    weights = [KINDS[k].weight for k in kinds]
    jobs = []
    for i in range(n):
        kind = KINDS[rng.choices(kinds, weights)[0]]
        argv = kind.argv(rng)
        limits = dict(kind.limits(rng, argv))
        kill = kill_delay(rng) if rng.random() < kill_p else None
        if kind.expect == "endless" and "wall_time" not in limits:
            # an endless job ends by a wall-time limit or a kill; under `lind run` always by the limit
            # too (SIGTERM does not end a cage that ignores it)
            if entry == "lind_run" or (kill is None and (rng.random() < 0.5 or entry in KILL_AS_WALL)):
                limits["wall_time"] = round(rng.uniform(0.02, 0.3), 3) + (0.5 if entry == "lind_run" else 0)
            elif kill is None:
                kill = rng.uniform(0.01, 0.3)
        if entry == "lind_run" and kill is not None:
            kill += 0.25  # (`lind run` starts in about 0.15 s: the kill lands in the cage's life, not before)
        jobs.append(Job(first + i, kind.name, argv, limits, kill))
    return jobs


# ---- outcomes and their checks ----


@dataclass
class Outcome:
    returncode: int | None  # exit code or -signal; None: no result
    stdout: bytes = b""
    stderr: bytes = b""
    wall_exceeded: bool = False
    pid: int | None = None
    error: str | None = None  # could not start / no result / host failure
    kill_note: str = ""  # when the kill was actually made and what it found (Process.kill entries)


class KillRecord:
    """What a Process.kill made at a random moment found: its time after the spawn and its result."""

    def __init__(self, proc: Any, t0: float) -> None:
        self.proc, self.t0 = proc, t0
        self.at: float | None = None
        self.found: bool | None = None

    def __call__(self) -> None:
        self.at = time.monotonic() - self.t0
        self.found = bool(self.proc.kill())

    def note(self) -> str:
        if self.at is None:
            return "the kill was not made (the job ended first)"
        return f"the kill was made at {self.at * 1000:.1f} ms and " + \
            ("found the tree alive" if self.found else "found nothing to kill")


def check(job: Job, out: Outcome, kill_sig: int) -> str | None:
    """Why this outcome is not one the job allows (None when it is)."""
    kind = KINDS[job.kind]
    if out.error is not None:
        return out.error
    rc = out.returncode
    if rc is None:
        return "no result"
    killed_ok = {-SIGKILL}
    if job.kill_after is not None:
        killed_ok.add(-kill_sig)
    limited = "wall_time" in job.limits or job.kill_after is not None
    if limited and rc in killed_ok:
        if rc == -SIGKILL and job.kill_after is None and not out.wall_exceeded:
            return "killed by SIGKILL without the wall-time flag (no kill was sent)"
        return None
    if kind.expect == "ok":
        if rc != 0:
            return f"returncode {rc}"
        if kind.check is not None:
            return kind.check(job.argv, job.limits, out.stdout)
        if not (out.stdout == b"ok\n" or out.stdout.endswith(b" ok\n")) or b"FAIL" in out.stdout:
            return f"unexpected output {out.stdout[-200:]!r}"
        return None
    if kind.expect.startswith("sig:"):
        want = int(kind.expect[4:])
        return None if rc == -want else f"returncode {rc}, expected -{want}"
    if kind.expect == "cpu":
        return None if rc in (-int(signal.SIGXCPU), -SIGKILL) else f"returncode {rc}, expected SIGXCPU or SIGKILL"
    if kind.expect == "orphan":
        return None if rc == 0 and out.stdout == b"orphan ok\n" else f"returncode {rc}, output {out.stdout!r}"
    return f"returncode {rc} from a job that only ends by a kill or a limit"


# ---- the host ----


def host_sample() -> dict[str, int]:
    import psutil

    gc.collect()
    p = psutil.Process()
    return {"fds": p.num_fds(), "threads": p.num_threads(), "rss_mib": p.memory_info().rss >> 20}


def sanitized() -> bool:
    return bool(os.environ.get("LIND_SANITIZE"))


class Watchdog:
    """Ends the process with the jobs in flight and every thread's stack when no job finishes for
    `hang` seconds. A C thread (faulthandler) backs it up in case Python's lock is never given back."""

    def __init__(self, hang: float, repro: str, log: Any = None) -> None:
        self.hang, self.repro, self.log = hang, repro, log
        self.last = time.monotonic()
        self.flight: dict[int, str] = {}
        self.lock = threading.Lock()
        faulthandler.dump_traceback_later(hang * 2 + 30, exit=True)
        threading.Thread(target=self._watch, daemon=True, name="stress-watchdog").start()

    def start(self, job: Job) -> None:
        with self.lock:
            self.flight[job.index] = job.describe()
            if self.log:
                self.log.write(f"start {job.describe()}\n")

    def done(self, job: Job) -> None:
        with self.lock:
            self.flight.pop(job.index, None)
            self.last = time.monotonic()
        faulthandler.dump_traceback_later(self.hang * 2 + 30, exit=True)

    def _watch(self) -> None:
        while True:
            time.sleep(1.0)
            with self.lock:
                idle = time.monotonic() - self.last
                flight = sorted(self.flight.items())
            if idle > self.hang:
                print(f"STRESS HANG: no job finished for {idle:.0f} s; in flight: "
                      f"{[d for _, d in flight][:20]}", flush=True)
                print(f"reproduce: {self.repro}", flush=True)
                faulthandler.dump_traceback(all_threads=True)
                sys.stdout.flush()
                os._exit(3)


# ---- entry points ----


class Runner:
    """Runs lists of jobs through one entry point; returns their outcomes in order."""

    def __init__(self, entry: str, program: Path, root: Path, work: Path, watchdog: Watchdog) -> None:
        self.entry, self.program, self.root, self.work, self.wd = entry, program, root, work, watchdog
        self.kill_sig = SIGTERM if entry == "lind_run" else SIGKILL
        self.sb: Any = None
        if entry in IN_PROCESS:
            from lind_aot.api import Sandbox

            self.sb = Sandbox(root=root, max_output=1 << 16)
            self.module = self.sb.load(program)

    # -- helpers --

    @staticmethod
    def limits(job: Job, kill_as_wall: bool) -> dict[str, float]:
        lim = dict(job.limits)
        if kill_as_wall and job.kill_after is not None:
            lim["wall_time"] = min(lim.get("wall_time", 1e9), max(0.001, job.kill_after))
        return lim

    def tree_gone(self, pid: int | None) -> str | None:
        if pid is None or self.sb is None:
            return None
        lib = self.sb._mv.lib
        if lib.lind_tree_wait(int(pid), int(TREE_GONE * 1000)):
            return None
        self.sb._mv.kill(-int(pid), SIGKILL)  # (so that one stuck tree does not fail every later check)
        return f"cage tree {pid} still alive {TREE_GONE:g} s after the job's result"

    def _from_result(self, r: Any) -> Outcome:
        return Outcome(r.returncode, r.stdout, r.stderr, bool(r.wall_time_exceeded), r.pid)

    # -- entries --

    def run(self, jobs: list[Job]) -> list[Outcome]:
        fn = getattr(self, f"_run_{self.entry}")
        return fn(jobs)  # type: ignore[no-any-return]

    def _run_run_here(self, jobs: list[Job]) -> list[Outcome]:
        from lind_aot.api import Limits, SpawnError

        outs = []
        for job in jobs:
            self.wd.start(job)
            try:
                r = self.sb.run_here(self.program, job.argv, limits=Limits(**self.limits(job, True)),
                                     module=self.module)
                out = self._from_result(r)
            except SpawnError as e:
                out = Outcome(None, error=f"SpawnError: {e}")
            out.error = out.error or self.tree_gone(out.pid)
            self.wd.done(job)
            outs.append(out)
        return outs

    def _run_run_many_here(self, jobs: list[Job]) -> list[Outcome]:
        from lind_aot.api import HereJob, Limits, SpawnError

        outs: list[Outcome] = []
        rng = random.Random(jobs[0].index if jobs else 0)
        i = 0
        while i < len(jobs):
            chunk = jobs[i:i + rng.randint(1, 16)]
            i += len(chunk)
            for job in chunk:
                self.wd.start(job)
            rs = self.sb.run_many_here([HereJob(self.program, job.argv, limits=Limits(**self.limits(job, True)),
                                                module=self.module) for job in chunk])
            for job, r in zip(chunk, rs, strict=True):
                out = Outcome(None, error=f"SpawnError: {r}") if isinstance(r, SpawnError) else self._from_result(r)
                out.error = out.error or self.tree_gone(out.pid)
                self.wd.done(job)
                outs.append(out)
        return outs

    def _run_run(self, jobs: list[Job]) -> list[Outcome]:
        from lind_aot.api import Limits

        outs = []
        for job in jobs:
            self.wd.start(job)
            timeout = job.kill_after if job.kill_after is not None else JOB_TIMEOUT
            r = self.sb.run(self.program, job.argv, timeout=timeout, limits=Limits(**self.limits(job, False)))
            out = self._from_result(r)
            out.error = self.tree_gone(out.pid)
            self.wd.done(job)
            outs.append(out)
        return outs

    def _run_spawn8(self, jobs: list[Job]) -> list[Outcome]:
        from lind_aot.api import Limits, SpawnError

        outs: list[Outcome | None] = [None] * len(jobs)
        todo: queue.SimpleQueue[int] = queue.SimpleQueue()
        for i in range(len(jobs)):
            todo.put(i)
        killer = Killer()

        def worker() -> None:
            while True:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                job = jobs[i]
                self.wd.start(job)
                try:
                    p = self.sb.spawn(self.program, job.argv, limits=Limits(**self.limits(job, False)))
                except SpawnError as e:
                    outs[i] = Outcome(None, error=f"SpawnError: {e}")
                    self.wd.done(job)
                    continue
                rec = KillRecord(p, time.monotonic())
                if job.kill_after is not None:
                    killer.at(job.kill_after, rec)
                r = p.wait(JOB_TIMEOUT)
                if r is None:
                    p.kill()
                    r = p.wait(TREE_GONE)
                    outs[i] = Outcome(None, pid=p.pid, error=f"no result within {JOB_TIMEOUT:g} s"
                                      + ("" if r is not None else ", nor after a kill"))
                else:
                    out = self._from_result(r)
                    out.error = self.tree_gone(out.pid)
                    outs[i] = out
                if job.kill_after is not None:
                    outs[i].kill_note = rec.note()  # type: ignore[union-attr]
                self.wd.done(job)

        threads = [threading.Thread(target=worker, name=f"stress-spawn-{k}", daemon=True) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        killer.stop()
        return [o if o is not None else Outcome(None, error="lost") for o in outs]

    def _run_async(self, jobs: list[Job]) -> list[Outcome]:
        from lind_aot.api import AsyncSandbox, Limits, SpawnError

        asb = AsyncSandbox(self.sb)

        async def one(job: Job, sem: asyncio.Semaphore) -> Outcome:
            async with sem:
                self.wd.start(job)
                try:
                    try:
                        p = await asb.spawn(self.program, job.argv, limits=Limits(**self.limits(job, False)))
                    except SpawnError as e:
                        return Outcome(None, error=f"SpawnError: {e}")
                    handle = None
                    rec = KillRecord(p, time.monotonic())
                    if job.kill_after is not None:
                        handle = asyncio.get_running_loop().call_later(job.kill_after, rec)
                    r = await p.wait(JOB_TIMEOUT)
                    if handle is not None:
                        handle.cancel()
                    if r is None:
                        p.kill()
                        return Outcome(None, pid=p.pid, error=f"no result within {JOB_TIMEOUT:g} s")
                    out = self._from_result(r)
                    out.error = await asyncio.get_running_loop().run_in_executor(None, self.tree_gone, out.pid)
                    if job.kill_after is not None:
                        out.kill_note = rec.note()
                    return out
                finally:
                    self.wd.done(job)

        async def main() -> list[Outcome]:
            sem = asyncio.Semaphore(8)
            return list(await asyncio.gather(*(one(j, sem) for j in jobs)))

        return asyncio.run(main())

    def _lind(self) -> list[str]:
        return [sys.executable, "-m", "lind_aot.cli"]

    def _run_lind_run(self, jobs: list[Job]) -> list[Outcome]:
        outs: list[Outcome | None] = [None] * len(jobs)
        todo: queue.SimpleQueue[int] = queue.SimpleQueue()
        for i in range(len(jobs)):
            todo.put(i)
        flags = {"mem": "--mem", "cpu_time": "--cpu-time", "wall_time": "--wall-time", "max_cages": "--max-cages"}

        def worker() -> None:
            while True:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                job = jobs[i]
                self.wd.start(job)
                cmd = [*self._lind(), "run", "--root", str(self.root)]
                for k, v in job.limits.items():
                    cmd += [flags[k], str(int(v)) if k in ("mem", "max_cages") else f"{v:g}"]
                cmd += [str(self.program), *job.argv]
                p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     cwd=self.work)  # (cwd: lind_aot comes from PYTHONPATH or the venv)
                sent = threading.Event()
                if job.kill_after is not None:
                    def term(p: subprocess.Popen[bytes] = p, sent: threading.Event = sent) -> None:
                        if p.poll() is None:
                            sent.set()
                            p.send_signal(SIGTERM)
                    threading.Timer(job.kill_after, term).start()
                try:
                    so, se = p.communicate(timeout=JOB_TIMEOUT)
                    if p.returncode == -SIGTERM and sent.is_set() and not se:
                        # (the SIGTERM came before `lind run` forwards it: it ends as any process does)
                        outs[i] = Outcome(-SIGTERM, so, se)
                    else:
                        outs[i] = lind_run_outcome(p.returncode, so, se)
                except subprocess.TimeoutExpired:
                    p.kill()
                    so, se = p.communicate()
                    outs[i] = Outcome(None, so, se, error=f"`lind run` did not end within {JOB_TIMEOUT:g} s "
                                      f"(stderr {se[-300:]!r})")
                self.wd.done(job)

        threads = [threading.Thread(target=worker, name=f"stress-lind-{k}", daemon=True) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return [o if o is not None else Outcome(None, error="lost") for o in outs]

    def _run_batch1(self, jobs: list[Job]) -> list[Outcome]:
        return self._batch(jobs, 1)

    def _run_batch2(self, jobs: list[Job]) -> list[Outcome]:
        return self._batch(jobs, 2)

    def _batch(self, jobs: list[Job], workers: int) -> list[Outcome]:
        path = self.work / "jobs.jsonl"
        res = self.work / "results.jsonl"
        with open(path, "w") as f:
            for job in jobs:
                lim = self.limits(job, True)
                f.write(json.dumps({"id": job.index, "program": str(self.program), "argv": job.argv,
                                    "limits": lim}) + "\n")
        for job in jobs:
            self.wd.start(job)
        budget = JOB_TIMEOUT + 0.5 * len(jobs) * (4 if sanitized() else 1)
        cmd = [*self._lind(), "batch", str(path), "-j", str(workers), "--out", str(res), "--root", str(self.root),
               "--quiet"]
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=budget, cwd=self.work)
        except subprocess.TimeoutExpired as e:
            err = f"`lind batch` did not end within {budget:g} s (stderr {(e.stderr or b'')[-300:]!r})"
            return [Outcome(None, error=err) for _ in jobs]
        finally:
            for job in jobs:
                self.wd.done(job)
        host = host_failure(p.returncode, p.stderr, "lind batch")
        by_id: dict[int, dict[str, Any]] = {}
        dup = None
        if res.exists():
            for line in res.read_text().splitlines():
                rec = json.loads(line)
                if rec["id"] in by_id:
                    dup = rec["id"]
                by_id[rec["id"]] = rec
        outs = []
        for job in jobs:
            rec = by_id.get(job.index)
            if host or dup is not None:
                outs.append(Outcome(None, error=host or f"two results for job {dup}"))
            elif rec is None:
                outs.append(Outcome(None, error=f"`lind batch` gave no result (exit {p.returncode})"))
            elif rec["status"] == "error":
                outs.append(Outcome(None, error=f"not started: {rec['error']}"))
            else:
                outs.append(Outcome(rec["returncode"], rec["stdout"].encode(), rec["stderr"].encode(),
                                    bool(rec["wall_time_exceeded"])))
        return outs


def host_failure(rc: int, stderr: bytes, what: str) -> str | None:
    if rc < 0:
        return f"HOST CRASH: {what} died of signal {-rc} (stderr {stderr[-1500:]!r})"
    for m in FATAL_MARKERS:
        if m in stderr:
            return f"HOST FAILURE: {what} printed {m.decode()!r} (stderr {stderr[-1500:]!r})"
    return None


def lind_run_outcome(rc: int, so: bytes, se: bytes) -> Outcome:
    host = host_failure(rc, se, "lind run")
    if host:
        return Outcome(None, so, se, error=host)
    code = -(rc - 128) if rc > 128 else rc
    return Outcome(code, so, se, b"wall-time limit" in se)


class Killer:
    """One thread that calls fn at its time, for many (time, fn) at once."""

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, Callable[[], object]]] = []
        self.cv = threading.Condition()
        self.n = 0
        self.stopped = False
        threading.Thread(target=self._loop, daemon=True, name="stress-killer").start()

    def at(self, delay: float, fn: Callable[[], object]) -> None:
        with self.cv:
            self.n += 1
            heapq.heappush(self.heap, (time.monotonic() + delay, self.n, fn))
            self.cv.notify()

    def stop(self) -> None:
        with self.cv:
            self.stopped = True
            self.cv.notify()

    def _loop(self) -> None:
        while True:
            with self.cv:
                while not self.stopped and (not self.heap or self.heap[0][0] > time.monotonic()):
                    self.cv.wait(None if not self.heap else max(0.0, self.heap[0][0] - time.monotonic()))
                if self.stopped:
                    return
                _, _, fn = heapq.heappop(self.heap)
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - a kill of a finished process is fine; report others
                print(f"stress: kill failed: {e!r}", file=sys.stderr)


# ---- the run ----


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)

    def fail(self, msg: str) -> None:
        self.failures.append(msg)
        if len(self.failures) <= 20:
            print(f"STRESS FAIL {msg}", flush=True)
        elif len(self.failures) == 21:
            print("STRESS FAIL (more failures: counted, not shown)", flush=True)


def growth_limits(entry: str) -> dict[str, int]:
    # Runner threads stay idle for 30 s and their number follows the peak of concurrent cage
    # threads (8 cages of up to 16 threads each for spawn8 and async), so threads may rise that
    # much from one round to another; a leak of one per job (hundreds per round) is far beyond.
    # RSS is not checked under TSan: its shadow memory and histories of every memory and thread a
    # job had keep growing (the data plane before the TSan fixes grew the same, 331 to 1,482 MiB
    # over 6 rounds of spawn8); the plain and ASan runs check it.
    san = os.environ.get("LIND_SANITIZE")
    lim = {"fds": 8, "threads": 64 if entry in ("spawn8", "async") else 24, "rss_mib": 512 if san else 96}
    if san == "tsan":
        del lim["rss_mib"]
    return lim


def main(argv: list[str] | None = None) -> int:
    global JOB_TIMEOUT
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("entry", choices=ENTRIES)
    ap.add_argument("--program", required=True, help="stress_job.wasm (built by lind cc)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=200, help="jobs per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--kill", type=float, default=0.25, help="probability that a job gets a kill")
    ap.add_argument("--kinds", default="", help="comma-separated kinds (default: every kind not hitting an open bug)")
    ap.add_argument("--known-bugs", action="store_true", help="also the kinds that hit the open bugs (OPEN_BUGS)")
    ap.add_argument("--hang", type=float, default=60.0, help="seconds without a finished job that count as a hang")
    ap.add_argument("--job-timeout", type=float, default=JOB_TIMEOUT,
                    help="seconds after which a job without a result is a failure (its kill or limit came long before)")
    ap.add_argument("--log", help="append each job to this file before it starts (the last lines tell what a "
                    "crashed host was doing)")
    a = ap.parse_args(argv)
    JOB_TIMEOUT = a.job_timeout
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    kinds = [k for k in a.kinds.split(",") if k] or \
        [k for k, v in KINDS.items() if a.known_bugs or v.bug not in OPEN_BUGS]
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        ap.error(f"unknown kinds: {bad}")
    repro = shlex.join([sys.executable, os.path.relpath(__file__, REPO), a.entry, "--program", a.program,
                        "--seed", str(seed), "--jobs", str(a.jobs), "--rounds", str(a.rounds), "--kill", str(a.kill),
                        "--job-timeout", f"{a.job_timeout:g}", "--kinds", ",".join(kinds)])
    print(f"stress: entry={a.entry} seed={seed} jobs={a.jobs} rounds={a.rounds} kinds={','.join(kinds)}", flush=True)
    print(f"reproduce: {repro}", flush=True)

    log = open(a.log, "a", buffering=1) if a.log else None  # noqa: SIM115 - open for the whole run
    wd = Watchdog(a.hang, repro, log)
    work = Path(tempfile.mkdtemp(prefix="lind-stress-"))
    root = work / "root"
    root.mkdir()
    prog = root / "stress_job"
    shutil.copyfile(a.program, prog)
    prog.chmod(0o755)
    runner = Runner(a.entry, Path(a.program).resolve(), root, work, wd)
    report = Report()
    samples: list[dict[str, int]] = []
    total = 0
    t_start = time.monotonic()
    for rnd in range(a.rounds):
        rng = random.Random(seed * 1000 + rnd)
        jobs = make_jobs(rng, a.jobs, kinds, a.kill, a.entry, total)
        total += len(jobs)
        if log:
            log.write(f"round {rnd}: {len(jobs)} jobs\n")
        t0 = time.monotonic()
        outs = runner.run(jobs)
        el = time.monotonic() - t0
        if len(outs) != len(jobs):
            report.fail(f"round {rnd}: {len(outs)} results for {len(jobs)} jobs")
        counts: dict[str, int] = {}
        for job, out in zip(jobs, outs, strict=False):
            why = check(job, out, runner.kill_sig)
            if why:
                bug = KINDS[job.kind].bug
                if bug is None and b"FAIL fork errno=11" in out.stdout and \
                        (job.kill_after is not None or "wall_time" in job.limits):
                    bug = 6  # (fork saw the tree dying before its cage was doomed)
                tag = "" if bug is None else \
                    f" [{'known bug' if bug in OPEN_BUGS else 'regression of fixed bug'} {bug}: {KNOWN_BUGS[bug]}]"
                seen = "" if out.returncode is None else \
                    f" (stdout {out.stdout[-160:]!r}, stderr {out.stderr[-200:]!r})"
                seen += f" [{out.kill_note}]" if out.kill_note else ""
                report.fail(f"job {job.describe()}: {why}{tag}{seen}")
            key = "error" if out.returncode is None else str(out.returncode)
            counts[key] = counts.get(key, 0) + 1
        # still responsive: a quick job runs
        if a.entry in IN_PROCESS:
            t1 = time.monotonic()
            probe = runner.sb.run_here(runner.program, ["ok"], module=runner.module)
            if probe.returncode != 0 or probe.stdout != b"ok\n" or time.monotonic() - t1 > 10:
                report.fail(f"round {rnd}: a quick job afterwards gave {probe.returncode} {probe.stdout!r} "
                            f"in {time.monotonic() - t1:.1f} s")
            samples.append(host_sample())
        line: dict[str, Any] = {"round": rnd, "jobs": len(jobs), "seconds": round(el, 2), "returncodes": counts}
        if samples:
            line["host"] = samples[-1]
        print(json.dumps(line), flush=True)
        if len(report.failures) > 50:
            break
    if len(samples) >= 2:
        lim = growth_limits(a.entry)
        first, last = samples[0], samples[-1]
        for k, allowed in lim.items():
            if last[k] - first[k] > allowed:
                report.fail(f"host {k} grew from {first[k]} to {last[k]} over {len(samples) - 1} rounds "
                            f"(allowed +{allowed}); samples {[s[k] for s in samples]}")
    if log:
        log.close()
    shutil.rmtree(work, ignore_errors=True)
    faulthandler.cancel_dump_traceback_later()
    dt = time.monotonic() - t_start
    if report.failures:
        print(f"STRESS FAILED: {len(report.failures)} failures in {total} jobs ({dt:.1f} s), seed {seed}", flush=True)
        print(f"reproduce: {repro}", flush=True)
        sys.stdout.flush()
        os._exit(1)
    print(f"STRESS OK: {total} jobs in {dt:.1f} s, seed {seed}", flush=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # (cages of a failed kill must not hold the exit up: they were reported above)


if __name__ == "__main__":
    if str(REPO) not in sys.path and not os.environ.get("PYTHONPATH"):
        sys.path.insert(0, str(REPO))
    sys.exit(main())
