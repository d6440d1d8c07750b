"""The cage lifecycle under load and attack: the host survives, every tree can be stopped, limits
hold for the whole tree, and embedding leaves the host process as it was.

Programs are tests/c/lc_*.c. Where Linux has an answer the cage's is compared with the native run;
where the sandbox decides (kills, limits, a tree ending with its root, as in a pid namespace) the
test states the rule and checks it. Waits are bounded so that a hang fails instead of freezing the
run; no test asserts a speed (kill latency is measured in bench/kill_latency.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import C_DIR, LIND, REPO, build_cage, build_native, run_native

from lind_aot.api import Limits, Sandbox


def _wasm(name: str) -> Path:
    return build_cage(C_DIR / f"{name}.c", ["-pthread"])


def _python(code: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Runs code in a fresh interpreter (a crash of the host process must fail the test, not pytest)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=REPO)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    return Sandbox(root=tmp_path_factory.mktemp("lcroot"))


# ---- the host survives ----


def test_run_here_loop_of_forking_program(tmp_path: Path) -> None:
    """2,000 run_here of a program that forks a child, reads a line from it and waits for it. A
    child's runner thread used to read its process entry after the parent had reaped it; the freed
    entry was often reused for the next job's root, whose entry it then freed (heap corruption,
    the interpreter aborted within 1,000 jobs)."""
    wasm = _wasm("lc_fork_pipe")
    native = run_native(build_native(C_DIR / "lc_fork_pipe.c"), ["1"], tmp_path)
    assert native.stdout == b"child 0\n"
    r = _python(f"""
        from lind_aot.api import Sandbox
        sb = Sandbox(root={str(tmp_path)!r})
        for i in range(2000):
            r = sb.run_here({str(wasm)!r}, ["1"])
            assert (r.stdout, r.returncode) == ({native.stdout!r}, 0), (i, r)
        print("done")
    """)
    assert r.returncode == 0 and r.stdout == "done\n", r.stderr[-3000:]


# ---- every tree can be stopped ----


def test_fork_bomb_ends_at_its_wall_time(tmp_path: Path) -> None:
    """`for (;;) fork();` under --max-cages: the wall-time limit ends the whole tree (forks in
    flight cannot outrun the kill) and `lind run` returns."""
    wasm = _wasm("lc_forkbomb")
    p = subprocess.run([*LIND, "run", "--root", str(tmp_path), "--max-cages", "8", "--wall-time", "1s", str(wasm)],
                       capture_output=True, timeout=60, cwd=REPO)
    assert p.returncode == 128 + 9, p.stderr
    assert b"wall-time limit (1 s) exceeded" in p.stderr


def test_fork_bomb_killed_through_the_api(sandbox: Sandbox) -> None:
    wasm = _wasm("lc_forkbomb")
    proc = sandbox.spawn(wasm, limits=Limits(max_cages=16))
    time.sleep(0.3)
    assert proc.kill()
    r = proc.wait(timeout=30)
    assert r is not None and r.signal == 9 and r.verdict == "SIGNALED", r
    assert r.message == "killed by the embedder"
    assert not proc.kill()  # nothing left to kill


@pytest.mark.parametrize("mode", ["spin", "read", "sleep", "futex", "poll"])
def test_stubborn_cage_killed(sandbox: Sandbox, mode: str) -> None:
    """A cage that blocks and ignores every signal, then spins or blocks for ever, ends on kill()."""
    proc = sandbox.spawn(_wasm("lc_stubborn"), [mode])
    deadline = time.monotonic() + 30
    while proc.stdout != b"ready\n" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.stdout == b"ready\n"
    time.sleep(0.05)  # into the blocking call
    assert proc.kill()
    r = proc.wait(timeout=30)
    assert r is not None and r.signal == 9, r


def test_thread_sleeping_after_main_exit(tmp_path: Path, sandbox: Sandbox) -> None:
    """The main thread calls SYS_exit while another thread sleeps: the process lives on in that
    thread (as on Linux), and it can still be killed (a SIGKILL used to wake only the main thread,
    parked waiting for the others)."""
    src = C_DIR / "lc_thread_sleep_exit.c"
    native = run_native(build_native(src, ["-pthread"]), ["wake"], tmp_path)
    r = sandbox.run(_wasm("lc_thread_sleep_exit"), ["wake"], timeout=60)
    assert (r.stdout, r.returncode) == (native.stdout, native.returncode)
    r = sandbox.run(_wasm("lc_thread_sleep_exit"), timeout=1)
    assert r.signal == 9 and r.stdout == b"main leaves\n", r


@pytest.mark.parametrize("mode", ["spin", "block"])
def test_orphans_end_with_the_root(tmp_path: Path, mode: str) -> None:
    """The tree's root is its init: when it ends, the cages it leaves behind are killed (as in a
    Linux pid namespace, and as isolate and nsjail do), so `lind run` returns with the root's status
    instead of waiting for ever."""
    p = subprocess.run([*LIND, "run", "--root", str(tmp_path), str(_wasm("lc_orphan")), mode], capture_output=True,
                       timeout=60, cwd=REPO)
    assert (p.returncode, p.stdout) == (0, b"orphan 1\n"), p.stderr


def test_sigterm_to_lind_run_ends_a_tree_that_ignores_it(tmp_path: Path) -> None:
    """SIGTERM to `lind run` goes to the tree; a tree that ignores it is killed shortly after."""
    p = subprocess.Popen([*LIND, "run", "--root", str(tmp_path), str(_wasm("lc_stubborn")), "spin"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    assert p.stdout is not None
    assert p.stdout.readline() == b"ready\n"
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=30)
    finally:
        p.kill()
    assert rc == 128 + 9


# ---- limits a judge can use ----


@pytest.mark.parametrize("mode", ["fork", "threads"])
def test_cpu_time_counts_the_whole_tree(sandbox: Sandbox, mode: str) -> None:
    """cpu_time is the CPU time of every thread of every cage of the tree, in milliseconds: three
    spinning cages (or threads) reach 0.6 s of CPU together well before any one of them does."""
    r = sandbox.run(_wasm("lc_cpu_tree"), [mode], limits=Limits(cpu_time=0.6, max_cages=4), timeout=120)
    assert r.verdict == "TIME_LIMIT" and r.signal == 9, r
    assert r.usage.tree_cpu_time is not None and r.usage.cpu_time is not None
    assert r.usage.tree_cpu_time >= 0.6
    assert r.usage.cpu_time < r.usage.tree_cpu_time  # the root's own share is less than the tree's
    assert "CPU time limit exceeded" in r.message


def test_verdicts(sandbox: Sandbox) -> None:
    wasm = _wasm("lc_verdict")
    cases = {
        "ok": ("OK", None), "fail": ("RUNTIME_ERROR", None), "segv": ("SIGNALED", 11), "abort": ("SIGNALED", 6),
    }
    for mode, (verdict, sig) in cases.items():
        r = sandbox.run_here(wasm, [mode])
        assert (r.verdict, r.signal) == (verdict, sig), (mode, r)
    # after a job that grew its memory to 48 MiB (kept in the data plane's pool of memories), a job
    # limited to 16 MiB still gets no more than 16 MiB
    assert sandbox.run_here(wasm, ["big"]).verdict == "OK"
    r = sandbox.run_here(wasm, ["oom"], limits=Limits(mem=16 << 20))
    assert (r.verdict, r.returncode, r.stdout) == ("MEMORY_LIMIT", 1, b"malloc failed\n"), r
    assert r.usage.tree_peak_memory is not None and 8 << 20 < r.usage.tree_peak_memory <= 16 << 20
    r = sandbox.run_here(wasm, ["sleep"], limits=Limits(wall_time=0.3))
    assert (r.verdict, r.signal, r.wall_time_exceeded) == ("WALL_LIMIT", 9, True), r


def test_batch_reports_verdicts(tmp_path: Path) -> None:
    """`lind batch` results carry the verdict and the tree's figures; a fork bomb among ordinary
    jobs ends at its limit and every job has its line."""
    import json

    bomb, ver, fork = _wasm("lc_forkbomb"), _wasm("lc_verdict"), _wasm("lc_fork_pipe")
    jobs = [{"id": "bomb", "program": str(bomb), "limits": {"max_cages": 8, "wall_time": "300ms"}},
            {"id": "ok", "program": str(ver), "argv": ["ok"]},
            {"id": "segv", "program": str(ver), "argv": ["segv"]},
            {"id": "fork", "program": str(fork), "argv": ["3"]},
            {"id": "cpu", "program": str(_wasm("lc_cpu_tree")), "argv": ["fork"],
             "limits": {"cpu_time": "200ms", "max_cages": 3}}]
    (tmp_path / "jobs.jsonl").write_text("".join(json.dumps(j) + "\n" for j in jobs))
    p = subprocess.run([*LIND, "batch", str(tmp_path / "jobs.jsonl"), "-j", "2", "--root", str(tmp_path),
                        "--out", str(tmp_path / "out.jsonl")], capture_output=True, timeout=120, cwd=REPO)
    assert p.returncode == 0, p.stderr
    res = {r["id"]: r for r in map(json.loads, (tmp_path / "out.jsonl").read_text().splitlines())}
    assert {k: v["verdict"] for k, v in res.items()} == {
        "bomb": "WALL_LIMIT", "ok": "OK", "segv": "SIGNALED", "fork": "OK", "cpu": "TIME_LIMIT"}
    assert res["fork"]["stdout"] == "child 0\nchild 1\nchild 2\n"
    assert res["cpu"]["tree_cpu_time"] >= 0.2


# ---- embedding leaves the host process alone ----


def test_embedding_keeps_the_host_umask(tmp_path: Path) -> None:
    """Creating a Sandbox and running cages leaves the embedder's umask as it was; a cage's own
    umask still decides the modes it creates (compared with native)."""
    r = _python(f"""
        import os
        os.umask(0o027)
        from lind_aot.api import Sandbox
        sb = Sandbox(root={str(tmp_path)!r})
        res = sb.run_here({str(_wasm("lc_verdict"))!r}, ["ok"])
        assert res.returncode == 0, res
        print(oct(os.umask(0o022)))
        fd = os.open({str(tmp_path / "host_made")!r}, os.O_CREAT | os.O_WRONLY, 0o666)
        os.close(fd)
    """)
    assert r.returncode == 0 and r.stdout == "0o27\n", r.stderr
    assert (tmp_path / "host_made").stat().st_mode & 0o777 == 0o644
