"""The stress cases that hit known bugs (issue 12, items 1-4; 5 and up were found by this suite).

They run in every test run, marked xfail: an XFAIL line says the bug is still there, XPASS that
the fix landed (then drop the mark). LIND_STRESS_STRICT=1 runs them as ordinary tests. Each is
bounded (a job without a result after a few seconds is a failure, the whole run has a timeout),
so a hang is reported, never a frozen test run.
"""

from __future__ import annotations

from pathlib import Path

from harness import SCALE, known_bug, run_driver, scaled


@known_bug(1, "a loop of Sandbox.run_here of a program that forks a child, reads a line from it through a pipe and "
           "waits aborts the interpreter (heap corruption: a child's runner thread reads its process entry after "
           "the parent reaped and freed it)")
def test_bug1_run_here_loop_fork_pipe(tmp_path: Path) -> None:
    run_driver("run_here", tmp_path, kinds="fork_pipe", jobs=scaled(2000), rounds=1, kill=0.0, timeout=120)


@known_bug(1, "the same through run_many_here, two batch workers and 8 spawning threads, with kills")
def test_bug1_fork_pipe_every_entry(tmp_path: Path) -> None:
    for entry in ("run_many_here", "spawn8", *(("batch2", "async") if SCALE > 1 else ())):
        run_driver(entry, tmp_path, kinds="fork_pipe,fork,churn", jobs=scaled(300), rounds=1, timeout=120)


@known_bug(2, "a fork bomb under max_cages=8 never ends: neither its wall-time limit nor Process.kill stops it")
def test_bug2_forkbomb(tmp_path: Path) -> None:
    for entry in ("lind_run", "spawn8", *(("run_here", "batch1") if SCALE > 1 else ())):
        run_driver(entry, tmp_path, kinds="forkbomb", jobs=2, rounds=1, job_timeout=6, hang=15, timeout=60)


@known_bug(3, "a cage whose main thread called SYS_exit while another thread sleeps cannot be killed")
def test_bug3_exit_thread_kill(tmp_path: Path) -> None:
    run_driver("spawn8", tmp_path, kinds="exit_thread", jobs=4, rounds=1, kill=1.0, job_timeout=6, hang=15,
               timeout=60)


@known_bug(4, "orphans keep running after the root exits (the tree is still alive 5 s after the result)")
def test_bug4_orphans(tmp_path: Path) -> None:
    for entry in ("spawn8", *(("run_here", "async") if SCALE > 1 else ())):
        run_driver(entry, tmp_path, kinds="orphan,orphan_setsid", jobs=4, rounds=1, kill=0.0, job_timeout=10,
                   hang=30, timeout=90)


@known_bug(5, "the memory limit does not hold in a linear memory reused from the pool (native/rt/instance.c "
           "memory_for): a cage may use what an earlier cage grew the memory to, up to 64 MiB")
def test_bug5_mem_limit_in_reused_memory(tmp_path: Path) -> None:
    run_driver("run_here", tmp_path, kinds="mem", jobs=scaled(60), rounds=1, kill=0.0, timeout=120)
