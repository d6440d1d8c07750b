"""What the stress tests share: the program, the seed, the scale, and running the driver
(tests/stress/driver.py) in a process of its own with every wait bounded."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
REPO = TESTS.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from conftest import build_cage  # noqa: E402 - (tests/ on the path first)

DRIVER = HERE / "driver.py"
F = TypeVar("F", bound=Callable[..., Any])
SCALE = float(os.environ.get("LIND_STRESS_SCALE", "1"))
"""Multiplies jobs per round and rounds (LIND_STRESS_SCALE=20 for a long run)."""
SANITIZED = bool(os.environ.get("LIND_SANITIZE"))
SLOWDOWN = 4.0 if SANITIZED else 1.0  # (time limits of runs under a sanitizer)
STRICT = os.environ.get("LIND_STRESS_STRICT", "") not in ("", "0")
"""LIND_STRESS_STRICT=1: the known-bug cases are ordinary tests (fail instead of xfail)."""


def program() -> Path:
    return build_cage(HERE / "c" / "stress_job.c", ["-pthread"])


def seed() -> int:
    """LIND_STRESS_SEED, else a new one (printed with every failure)."""
    env = os.environ.get("LIND_STRESS_SEED")
    return int(env) if env else random.randrange(1 << 30)


def scaled(n: int) -> int:
    return max(1, round(n * SCALE))


def scaled_rounds(jobs: int, rounds: int) -> tuple[int, int]:
    """(jobs per round, rounds) for LIND_STRESS_SCALE: both grow by its square root, so that the
    work grows with it and longer runs also have more rounds to compare the host across."""
    f = SCALE ** 0.5
    return max(1, round(jobs * f)), max(rounds, round(rounds * f))


def known_bug(number: int, what: str) -> Callable[[F], F]:
    """Marks a case that fails today because of a known bug (issue 12; 5 and up: found by this
    suite). It still runs (xfail, not skip): an XPASS says the fix landed; LIND_STRESS_STRICT=1
    makes it an ordinary test."""
    if STRICT:
        return lambda f: f  # (the test runs and must pass)
    return pytest.mark.xfail(reason=f"known bug {number}: {what}", strict=False)  # type: ignore[return-value]


_EXIT_MEANING = {1: "checks failed", 3: "hang (no job finished in time)", 66: "AddressSanitizer report"}


def run_driver(entry: str, tmp_path: Path, *, jobs: int, rounds: int, kinds: str = "", known_bugs: bool = False,
               kill: float | None = None, hang: float = 60.0, job_timeout: float = 30.0,
               timeout: float = 300.0, the_seed: int | None = None) -> str:
    """Runs the driver; fails the test (with the seed, the command that reproduces the run, the
    end of its output and the jobs it was running) unless it ends with STRESS OK."""
    s = seed() if the_seed is None else the_seed
    log = tmp_path / f"stress-{entry}.log"
    cmd = [sys.executable, str(DRIVER), entry, "--program", str(program()), "--seed", str(s), "--jobs", str(jobs),
           "--rounds", str(rounds), "--hang", f"{hang * SLOWDOWN:g}", "--job-timeout", f"{job_timeout * SLOWDOWN:g}",
           "--log", str(log)]
    if kinds:
        cmd += ["--kinds", kinds]
    if known_bugs:
        cmd.append("--known-bugs")
    if kill is not None:
        cmd += ["--kill", str(kill)]
    limit = timeout * SLOWDOWN
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, cwd=REPO)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc = None
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
    if rc == 0 and "STRESS OK" in out:
        return out
    if rc is None:
        why = f"the driver did not end within {limit:g} s (killed)"
    elif rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = str(-rc)
        why = f"HOST CRASH: the driver process died of {name}"
    else:
        why = f"exit status {rc} ({_EXIT_MEANING.get(rc, 'unexpected')})"
    started = log.read_text(errors="replace").splitlines() if log.exists() else []
    repro = next((line for line in out.splitlines() if line.startswith("reproduce:")), "")
    pytest.fail(
        f"stress {entry}, seed {s}: {why}\n{repro}\n"
        f"---- driver stdout (end) ----\n{_tail(out, 60)}\n"
        f"---- driver stderr (end) ----\n{_tail(err, 60)}\n"
        f"---- the last jobs started ----\n" + "\n".join(started[-15:]),
        pytrace=False,
    )
    raise AssertionError  # (unreachable: pytest.fail raises)


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])
