"""Stress: rounds of random short jobs (fork, exec, threads, signals, limits, crashes, blocked and
endless cages) through every entry point, with kills at random moments; the host must survive,
give every job a result its job allows, leave no cage running and not grow (fds, threads, RSS).

Each test runs tests/stress/driver.py in a process of its own (a host crash fails the test with
its output instead of killing pytest); every wait is bounded. Sizes: about a minute for the whole
file by default; LIND_STRESS_SCALE=N multiplies jobs and rounds, LIND_STRESS_SEED=S repeats a run
(the seed is printed with every failure, with the command that reproduces it).

The kinds of job that hit the known bugs of issue 12 are not in these mixes: test_known_bugs.py
runs them on their own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import run_driver, scaled_rounds

# entry -> (jobs per round, rounds) for the default (CI) size
SIZES = {
    "run_here": (80, 2),
    "run_many_here": (80, 2),
    "run": (50, 2),
    "spawn8": (120, 3),
    "async": (120, 3),
    "lind_run": (16, 1),
    "batch1": (80, 1),
    "batch2": (80, 1),
}


@pytest.mark.parametrize("entry", list(SIZES))
def test_stress(entry: str, tmp_path: Path) -> None:
    jobs, rounds = scaled_rounds(*SIZES[entry])
    run_driver(entry, tmp_path, jobs=jobs, rounds=rounds, timeout=240 + 0.5 * jobs * rounds)


def test_stress_kills_only(tmp_path: Path) -> None:
    """Every job gets a kill (Process.kill from another thread) at a random moment of its life:
    start-up, fork, exec, exit, blocked in read/futex/poll."""
    jobs, rounds = scaled_rounds(120, 2)
    run_driver("spawn8", tmp_path, jobs=jobs, rounds=rounds, kill=1.0, timeout=240 + 0.5 * jobs * rounds,
               kinds="fork,fork_chain,exec,fork_exec,churn,threads,thread_fork,signals,crash_child,"
                     "block_read,block_futex,block_poll,block_sigs,block_tree,spin,sleep")
