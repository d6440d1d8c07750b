"""Gateway fuzz with several tenants at once (issue 15): N attacker tenants make random system calls
with hostile arguments in one host process while a victim tenant does known work; afterwards the
host and the victim must be untouched.

    .venv/bin/python bench/gateway_fuzz.py [--tenants 4] [--seconds 60] [--seed 1]

Attackers (bench/c/gateway_fuzz.c): each tenant is its own Sandbox (its own root directory) whose
jobs run one after another from a Python thread, each with a new seed, random limits (--mem,
--max-cages, --max-fds, a wall time of 0.3-2 s) and a random number of calls (some run until the
wall-time limit; 15% are killed with Process.kill() at a random moment). A job makes random calls
(any number, random 64-bit arguments, wild pointers, huge lengths, random fds, random owning-cage
words) and aimed ones: kill() of the victim's and the other tenants' pids, negative pids, -1;
paths with '..', absolute host paths and /proc magic links to a decoy directory outside the
roots, symlinks and hard links to it; 3i calls naming other tenants' cages; forks and threads that
fuzz too; umask, process groups, priorities, mmap/mprotect, dup2 over stdio, and now and then a
call that blocks or ends the cage.

Victim (bench/c/gateway_victim.c), in its own Sandbox: one cage for the whole run and a stream of
short jobs (run_here and spawn), each writing and reading back a file in its root, holding a pipe,
checking its pid, parent, umask, cwd, a static file and a memory canary, and printing its rounds.

The fuzz runs in a child Python process (the host of the cages), so that a crash of the host is
counted (and the fuzz goes on in a new child for the remaining time) instead of ending this
script. The child checks at the end: umask, cwd, rlimits, nice value, process group and session,
signal dispositions and the main thread's signal mask, credentials and hostname as before; open
fds and threads back to the figures after a warm-up; every cage tree gone; the victim's results
and files. This script checks a decoy directory (files of known mode, owner, size, times and
content) beside the tenants' roots, and everything under the run's directory but the roots'
contents, before and after.

Prints: syscalls made (counted by the host: the root cages' threads; forked children's calls are
not counted), calls per second, jobs and their outcomes, host crashes and hangs, victim failures.
Exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

LIND = [sys.executable, "-m", "lind_aot.cli"]
OUT = REPO / "build" / "bench"
FUZZ_SRC = HERE / "c" / "gateway_fuzz.c"
VICTIM_SRC = HERE / "c" / "gateway_victim.c"
HANG = 30.0  # seconds past a job's wall-time limit after which it counts as hung
MIB = 1 << 20
RUNNER_IDLE = 30.0  # native/runner.c RUNNER_IDLE_MS: an idle runner thread of the data plane ends then


def build(src: Path, extra: list[str]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    wasm = OUT / (src.stem + ".wasm")
    if not wasm.exists() or wasm.stat().st_mtime < src.stat().st_mtime:
        subprocess.run([*LIND, "cc", "-O2", *extra, "-o", str(wasm), str(src)], check=True, cwd=REPO)
    return wasm


def pattern(seed: int, n: int = 4096) -> bytes:
    """What gateway_victim.c's fill() writes."""
    return bytes((seed * 31 + i * 7 + (i >> 8)) & 0xFF for i in range(n))


# ---- the parent: decoy files and the run's directory, before and after ----


def make_tree(tmp: Path, tenants: int) -> None:
    decoy = tmp / "decoy"
    (decoy / "sub").mkdir(parents=True)
    for name, data, mode in (("a", b"decoy a\n" * 100, 0o644), ("b", b"", 0o600), ("sub/c", os.urandom(3000), 0o755)):
        p = decoy / name
        p.write_bytes(data)
        p.chmod(mode)
        os.utime(p, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    (decoy / "sub").chmod(0o700)
    (tmp / "hostcwd").mkdir()
    (tmp / "hostcwd" / "f").write_bytes(b"the host's cwd\n")
    (tmp / "victim").mkdir()
    for i in range(tenants):
        (tmp / "tenants" / f"t{i}").mkdir(parents=True)


def snapshot(tmp: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under tmp but inside the tenants' and the victim's roots (and the child's log):
    type, mode, owner, size, links, mtime and a hash of a file's content."""
    skip = {tmp / "victim", *(tmp / "tenants").iterdir()}
    snap: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(tmp):
        d = Path(dirpath)
        dirnames[:] = [n for n in dirnames if d / n not in skip]
        for n in [*dirnames, *filenames]:
            p = d / n
            if p.parent == tmp and n.startswith("child-"):
                continue
            st = os.lstat(p)
            h = hashlib.sha256(p.read_bytes()).hexdigest()[:16] if os.path.isfile(p) and not p.is_symlink() else ""
            snap[str(p.relative_to(tmp))] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_nlink,
                                             st.st_mtime_ns, h)
    return snap


def host_files() -> dict[str, object]:
    """Host paths the fuzz names: they must be as they were."""
    out: dict[str, object] = {}
    for p in ("/etc/passwd", "/tmp/fuzz-file", "/tmp/decoy", "/decoy"):
        try:
            st = os.lstat(p)
            out[p] = (st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns)
        except OSError:
            out[p] = None
    out["hostname"] = socket.gethostname()
    return out


# ---- the child: the host process of the cages ----


def proc_status(tid: int | None = None) -> dict[str, str]:
    path = f"/proc/self/task/{tid}/status" if tid else "/proc/self/status"
    with open(path) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def host_state() -> dict[str, object]:
    """What no cage may change in its host process (read without changing it: the umask from
    /proc, not os.umask)."""
    st = proc_status()
    main_st = proc_status(threading.main_thread().native_id)
    limits = {n: resource.getrlimit(getattr(resource, n)) for n in dir(resource) if n.startswith("RLIMIT_")}
    return {
        "umask": st.get("Umask"), "cwd": os.getcwd(), "rlimits": limits,
        "nice": os.getpriority(os.PRIO_PROCESS, 0), "pgid": os.getpgid(0), "sid": os.getsid(0),
        "sig_ignored": st.get("SigIgn"), "sig_caught": st.get("SigCgt"), "main_sigmask": main_st.get("SigBlk"),
        "py_handlers": {s.name: str(signal.getsignal(s)) for s in signal.valid_signals()
                        if isinstance(s, signal.Signals)},
        "uids": os.getresuid(), "gids": os.getresgid(), "groups": sorted(os.getgroups()),
        "hostname": socket.gethostname(), "environ": sorted(os.environ.items()),
    }


def counts() -> tuple[int, int]:
    """(open fds, threads) of this process."""
    return len(os.listdir("/proc/self/fd")) - 1, int(proc_status()["Threads"])


def tree_size(root: Path) -> tuple[int, int]:
    n = size = 0
    for dirpath, _, filenames in os.walk(root):
        for f in filenames:
            n += 1
            with contextlib.suppress(OSError):
                size += os.lstat(os.path.join(dirpath, f)).st_blocks * 512
    return n, size


def wipe(root: Path) -> None:
    """Empties a tenant's root (whatever its tenant left there: symlinks to long paths, odd modes)."""
    with contextlib.suppress(OSError), os.scandir(root) as it:
        for e in list(it):
            with contextlib.suppress(OSError):
                if e.is_dir(follow_symlinks=False):
                    shutil.rmtree(e.path, ignore_errors=True)
                else:
                    os.unlink(e.path)


@dataclass
class Stats:
    syscalls: int = 0
    jobs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    hangs: list[str] = field(default_factory=list)
    victim_rounds: int = 0
    victim_jobs: int = 0
    victim_failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # of this script (a driver thread that died)
    lock: threading.Lock = field(default_factory=threading.Lock)


def outcome(r: Any, killed: bool) -> str:
    if killed and r.signal == signal.SIGKILL and not r.wall_time_exceeded:
        return "killed by the driver"
    if r.wall_time_exceeded:
        return "wall-time limit"
    if r.verdict == "TIME_LIMIT":
        return "cpu-time limit"
    if r.signal is not None:
        return f"signal {r.signal_name}"  # (sent by the cage to itself or its tree, or a trap)
    if r.exit_code == 42:
        return "ran to its end (exit 42)"
    return "exit (its own call)"


def child(a: argparse.Namespace) -> int:
    from lind_aot.api import Limits, Process, Sandbox

    tmp = Path(a.tmp)
    fuzz, victim = Path(a.fuzz_wasm), Path(a.victim_wasm)
    decoy = str(tmp / "decoy")
    rng = random.Random(a.seed)
    stats = Stats()
    current: dict[int, int] = {}  # tenant -> pid of its running job
    sandboxes = [Sandbox(root=tmp / "tenants" / f"t{i}", max_output=4096, net="none") for i in range(a.tenants)]
    vsb = Sandbox(root=tmp / "victim", max_output=4096, net="none")
    mv = vsb._mv

    # warm-up: every tenant and the victim once, at once, so that pools are at their working size
    warm = [sb.spawn(fuzz, ["1", "3000", "1", decoy], limits=Limits(mem=32 * MIB, max_cages=4, wall_time=10))
            for sb in sandboxes]
    vwarm = vsb.spawn(victim, ["0.2", "warm"])
    for p in [*warm, vwarm]:
        p.wait(60)
    for p in [*warm, vwarm]:
        p.kill()
        p.wait(10)
    for sb in sandboxes:
        wipe(sb.root)
    gc.collect()
    time.sleep(0.5)
    before = host_state()
    base_fds, base_threads = counts()
    print(f"child {os.getpid()}: seed {a.seed}, {a.tenants} tenants, {a.seconds:g} s; after warm-up "
          f"{base_fds} fds, {base_threads} threads", flush=True)

    t0 = time.monotonic()
    deadline = t0 + a.seconds
    long_victim = vsb.spawn(victim, [f"{a.seconds + 1:.3f}", "long"])

    def pids_for(i: int) -> str:
        ps = [long_victim.pid, *(p for j, p in current.items() if j != i), *(p for j, p in current.items() if j == i)]
        return ",".join(str(p) for p in ps)

    def attacker(i: int, seed: int) -> None:
        trng = random.Random(seed)
        sb = sandboxes[i]
        while time.monotonic() < deadline:
            left = deadline - time.monotonic()
            wall = min(trng.uniform(0.3, 2.0), left + 0.5)
            limits = Limits(mem=trng.choice([16, 32, 64]) * MIB, max_cages=trng.choice([1, 2, 4, 8]),
                            max_fds=trng.choice([None, 32, 256]), wall_time=wall)
            jseed = trng.getrandbits(31)
            calls = trng.choice([3000, 30000, 100000, 300000, 1000000, 0])
            argv = [str(jseed), str(calls), pids_for(i), decoy]
            stdin = trng.choice([None, b"input\n" * 100])
            try:
                p: Process = sb.spawn(fuzz, argv, limits=limits, stdin=stdin)
            except Exception as e:  # noqa: BLE001 (a failed start is an outcome, not the end)
                with stats.lock:
                    stats.jobs += 1
                    stats.outcomes[f"spawn failed: {str(e)[:60]}"] += 1
                time.sleep(0.1)
                continue
            current[i] = p.pid
            killed = False
            r = None
            if trng.random() < 0.15:
                r = p.wait(trng.uniform(0.0, wall))
                if r is None:
                    killed = p.kill()
            if r is None:
                r = p.wait(wall + HANG)
            if r is None:
                with stats.lock:
                    stats.hangs.append(f"tenant {i} job seed {jseed} calls {calls} limits {limits}: no result "
                                       f"{wall + HANG:.0f} s after its start")
                p.kill()
                r = p.wait(10)
                if r is None:
                    with stats.lock:
                        stats.hangs.append(f"tenant {i} job seed {jseed}: not ended 10 s after Process.kill()")
                    return
            if not mv.lib.lind_tree_wait(p.pid, 10_000):
                with stats.lock:
                    stats.hangs.append(f"tenant {i} job seed {jseed}: its tree still alive 10 s after the root's end")
            with stats.lock:
                stats.jobs += 1
                stats.syscalls += r.usage.syscalls or 0
                stats.outcomes[outcome(r, killed)] += 1
            n, size = tree_size(sb.root)
            if n > 2000 or size > 256 * MIB:
                wipe(sb.root)

    def short_victims() -> None:
        k = 0
        while time.monotonic() < deadline:
            tag = f"s{k % 4}"
            try:
                if k % 2:
                    vr = vsb.run_here(victim, ["0.05", tag])
                else:
                    vr = vsb.run(victim, ["0.05", tag], timeout=60)
            except Exception as e:  # noqa: BLE001
                with stats.lock:
                    stats.victim_failures.append(f"short victim {k}: {e!r}")
                k += 1
                continue
            ok = vr.returncode == 0 and vr.stdout.startswith(f"victim {tag} rounds ".encode()) \
                and vr.stdout.endswith(b" ok\n")
            if ok:
                rounds = int(vr.stdout.split()[3])
                data = (vsb.root / "v" / f"data-{tag}").read_bytes()
                ok = data == pattern(rounds) and (vsb.root / "v" / f"static-{tag}").read_bytes() == pattern(777)
            with stats.lock:
                stats.victim_jobs += 1
                if ok:
                    stats.victim_rounds += int(vr.stdout.split()[3])
                else:
                    stats.victim_failures.append(f"short victim {k}: {vr.returncode} {vr.message} {vr.stdout!r}")
            k += 1
            time.sleep(0.02)

    def guarded(fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except BaseException as e:  # noqa: BLE001 (a driver thread that dies is reported, not lost)
            import traceback

            with stats.lock:
                stats.errors.append(f"driver thread {threading.current_thread().name} died: {e!r}\n"
                                    f"{traceback.format_exc()[-1500:]}")

    threads = [threading.Thread(target=guarded, args=(attacker, i, rng.getrandbits(31)), name=f"tenant{i}",
                                daemon=True) for i in range(a.tenants)]
    threads.append(threading.Thread(target=guarded, args=(short_victims,), name="victims", daemon=True))
    for t in threads:
        t.start()
    def partial(elapsed: float) -> None:
        """The figures so far, for the parent if this process dies."""
        with stats.lock:
            res = {"seconds": elapsed, "syscalls": stats.syscalls, "jobs": stats.jobs,
                   "outcomes": dict(stats.outcomes), "hangs": list(stats.hangs), "victim_rounds": stats.victim_rounds,
                   "victim_jobs": stats.victim_jobs, "victim_failures": list(stats.victim_failures), "problems": [],
                   "fds": [base_fds, -1], "threads": [base_threads, -1], "roots_changed": 0, "partial": True}
        Path(a.json + ".tmp").write_text(json.dumps(res))
        os.replace(a.json + ".tmp", a.json)

    last = t0
    while any(t.is_alive() for t in threads):
        time.sleep(0.5)
        now = time.monotonic()
        if now - last >= 10 or now >= deadline and last < deadline:
            last = now
            with stats.lock:
                el = now - t0
                print(f"  {el:6.0f} s  {stats.syscalls:>13,} calls  {stats.syscalls / el:>10,.0f} calls/s  "
                      f"{stats.jobs:>6,} jobs  victim jobs {stats.victim_jobs}  hangs {len(stats.hangs)}  "
                      f"fds {counts()[0]}  threads {counts()[1]}", flush=True)
            partial(el)
        if now > deadline + 6 + HANG + 20:
            stats.hangs.append("a tenant's thread did not end: " + ", ".join(t.name for t in threads if t.is_alive()))
            break
    elapsed = time.monotonic() - t0

    lr = long_victim.wait(60)
    if lr is None:
        stats.victim_failures.append("the long victim did not end 60 s after the run")
        long_victim.kill()
        lr = long_victim.wait(10)
    elif lr.returncode != 0 or not lr.stdout.startswith(b"victim long rounds ") or not lr.stdout.endswith(b" ok\n"):
        stats.victim_failures.append(f"long victim: {lr.returncode} {lr.message} {lr.stdout!r}")
    else:
        rounds = int(lr.stdout.split()[3])
        stats.victim_rounds += rounds
        if (vsb.root / "v" / "data-long").read_bytes() != pattern(rounds):
            stats.victim_failures.append("long victim: its data file is not what it last wrote")
        if (vsb.root / "v" / "static-long").read_bytes() != pattern(777):
            stats.victim_failures.append("long victim: its static file changed")

    # the host afterwards: every tree gone, fds and threads back, nothing process-wide changed
    problems: list[str] = list(stats.errors)
    for pid in [*current.values(), long_victim.pid]:
        if not mv.lib.lind_tree_wait(pid, 10_000):
            problems.append(f"the tree of pid {pid} is still alive")
    end = time.monotonic() + RUNNER_IDLE + 15  # (idle runner threads end after RUNNER_IDLE s)
    while True:
        gc.collect()
        fds, nthreads = counts()
        if (fds <= base_fds and nthreads <= base_threads) or time.monotonic() > end:
            break
        time.sleep(0.5)
    if fds > base_fds:
        problems.append(f"open fds {fds}, after the warm-up {base_fds}: {sorted(os.listdir('/proc/self/fd'))}")
    if nthreads > base_threads:
        problems.append(f"threads {nthreads}, after the warm-up {base_threads}")
    after = host_state()
    for k in before:
        if before[k] != after[k]:
            problems.append(f"host {k} changed: {before[k]!r} -> {after[k]!r}")
    roots_changed = sum(1 for sb in sandboxes if (os.stat(sb.root).st_mode & 0o7777, os.stat(sb.root).st_uid)
                        != (0o755, os.getuid()))
    if roots_changed:  # (the root directory is the embedder's: its mode and owner are refused to the cage)
        problems.append(f"{roots_changed} tenant root(s) had their mode or owner changed by their tenant")
    res = {"seconds": elapsed, "syscalls": stats.syscalls, "jobs": stats.jobs, "outcomes": dict(stats.outcomes),
           "hangs": stats.hangs, "victim_rounds": stats.victim_rounds, "victim_jobs": stats.victim_jobs + 1,
           "victim_failures": stats.victim_failures, "problems": problems, "fds": [base_fds, fds],
           "threads": [base_threads, nthreads], "roots_changed": roots_changed, "partial": False}
    Path(a.json + ".tmp").write_text(json.dumps(res))
    os.replace(a.json + ".tmp", a.json)
    sys.stdout.flush()
    os._exit(0)  # (a tree that did not end must not hold the exit up)


# ---- the parent ----


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tenants", type=int, default=4, help="attacker tenants at once")
    ap.add_argument("--seconds", type=float, default=60.0, help="length of the fuzz")
    ap.add_argument("--seed", type=int, default=None, help="default: random (printed)")
    ap.add_argument("--keep", action="store_true", help="keep the run's directory")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tmp", help=argparse.SUPPRESS)
    ap.add_argument("--json", help=argparse.SUPPRESS)
    ap.add_argument("--fuzz-wasm", help=argparse.SUPPRESS)
    ap.add_argument("--victim-wasm", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        return child(a)
    seed = a.seed if a.seed is not None else random.randrange(1, 1 << 31)
    fuzz, victim = build(FUZZ_SRC, ["-pthread"]), build(VICTIM_SRC, [])
    tmp = Path(tempfile.mkdtemp(prefix="lind-gwfuzz-"))
    os.chmod(tmp, 0o755)
    make_tree(tmp, a.tenants)
    before, host_before = snapshot(tmp), host_files()
    print(f"gateway_fuzz: {a.tenants} tenants + 1 victim, {a.seconds:g} s, seed {seed}, dir {tmp}", flush=True)

    total: dict[str, Any] = {"seconds": 0.0, "syscalls": 0, "jobs": 0, "victim_rounds": 0, "victim_jobs": 0}
    outcomes: Counter[str] = Counter()
    crashes: list[str] = []
    hangs: list[str] = []
    victim_failures: list[str] = []
    problems: list[str] = []
    roots_changed = 0
    t_start = time.monotonic()
    k = no_progress = 0
    while True:
        left = a.seconds - (time.monotonic() - t_start)
        if k > 0 and left < 5:
            break
        cseed = seed + 1000 * k
        out = tmp / f"child-{k}.json"
        log = tmp / f"child-{k}.stderr"
        cmd = [sys.executable, os.path.abspath(__file__), "--child", "--tenants", str(a.tenants),
               "--seconds", f"{max(left, 5):.3f}", "--seed", str(cseed), "--tmp", str(tmp), "--json", str(out),
               "--fuzz-wasm", str(fuzz), "--victim-wasm", str(victim)]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        budget = max(left, 5) + 6 + HANG + 200
        with open(log, "wb") as errf:
            p = subprocess.Popen(cmd, cwd=tmp / "hostcwd", stderr=errf, env=env, start_new_session=True)
            try:
                rc = p.wait(budget)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                rc = None
        err = log.read_bytes()[-1500:].decode(errors="replace")
        r = json.loads(out.read_text()) if out.exists() else None
        if rc is None:
            hangs.append(f"the host process (seed {cseed}) did not end within {budget:.0f} s; stderr: {err}")
        elif rc != 0 or r is None or r["partial"]:
            what = f"signal {signal.Signals(-rc).name}" if rc < 0 else f"exit {rc}"
            crashes.append(f"host process (seed {cseed}) died: {what} (log {log}); stderr: {err}")
            print(f"HOST CRASH: {crashes[-1]}", flush=True)
            no_progress = no_progress + 1 if r is None else 0
            if no_progress >= 3:
                problems.append("3 host processes in a row died before their first figures: stopped")
                k += 1
                break
        if r is not None:
            for key in total:
                total[key] += r[key]
            outcomes.update(r["outcomes"])
            hangs += r["hangs"]
            victim_failures += r["victim_failures"]
            problems += r["problems"]
            roots_changed = max(roots_changed, r["roots_changed"])
            if not r["partial"]:
                print(f"  host process {k}: fds {r['fds'][0]} -> {r['fds'][1]}, threads {r['threads'][0]} -> "
                      f"{r['threads'][1]} (after warm-up -> end)", flush=True)
        k += 1
        if rc is None:
            break

    after, host_after = snapshot(tmp), host_files()
    for path in sorted(set(before) | set(after)):
        if before.get(path) != after.get(path):
            problems.append(f"{tmp / path} changed: {before.get(path)} -> {after.get(path)}")
    for key in host_before:
        if host_before[key] != host_after[key]:
            problems.append(f"host {key} changed: {host_before[key]} -> {host_after[key]}")

    secs = total["seconds"] or 1e-9
    print()
    print(f"tenants              {a.tenants} (+1 victim), seed {seed}")
    print(f"seconds              {total['seconds']:.1f} (in {k} host process{'es' if k > 1 else ''})")
    print(f"syscalls             {total['syscalls']:,} (counted by the host, root cages' threads)")
    print(f"calls/s              {total['syscalls'] / secs:,.0f}")
    print(f"jobs                 {total['jobs']:,}")
    groups: Counter[str] = Counter()
    for name, n in outcomes.items():
        groups[name.split(" ")[0] if name.startswith(("signal", "spawn")) else name] += n
    for name, n in groups.most_common():
        print(f"  {name:30} {n:>7,}")
    sigs = sorted(((n, name[7:]) for name, n in outcomes.items() if name.startswith("signal ")), reverse=True)
    if sigs:
        print("  (signals: " + ", ".join(f"{name} {n}" for n, name in sigs) + ")")
    print(f"host crashes         {len(crashes)}")
    print(f"hangs                {len(hangs)}")
    print(f"victim jobs          {total['victim_jobs']:,} ({total['victim_rounds']:,} rounds of checks)")
    print(f"victim failures      {len(victim_failures)}")
    print(f"host/file problems   {len(problems)}")
    print(f"tenant roots whose own mode/owner their tenant changed: {roots_changed} of {a.tenants}")
    for title, items in (("HOST CRASH", crashes), ("HANG", hangs), ("VICTIM FAILURE", victim_failures),
                         ("PROBLEM", problems)):
        for x in items[:20]:
            print(f"{title}: {x}")
    failed = bool(crashes or hangs or victim_failures or problems)
    if a.keep or failed:
        print(f"(run directory kept: {tmp})")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print("FAILED" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
