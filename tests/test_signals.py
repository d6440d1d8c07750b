"""Signals in cages: handlers, masks, sigsuspend/pause, kill, alarm/setitimer, EINTR/SA_RESTART,
host signals forwarded by `lind run`, and faults reported as signals."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import C_DIR, LIND, REPO, build_cage, compare


@pytest.mark.parametrize("mode", ["mask", "killchild", "eintr"])  # handlers: below
def test_signals(root: Path, mode: str) -> None:
    compare("proc_signal", root, [mode])


def test_handler_outputs(root: Path) -> None:
    _, c = compare("proc_signal", root, ["handlers"])
    out = c.stdout.decode()
    assert "SA_SIGINFO: ran=1 si_signo==SIGUSR2=1" in out
    assert "SA_RESETHAND child after the second signal: killed by signal 10" in out
    assert "without SA_NODEFER: ran=2 max nesting=1" in out
    assert "with SA_NODEFER: ran=2 max nesting=2" in out


def test_sa_siginfo_ucontext(root: Path) -> None:
    """An SA_SIGINFO handler's ucontext carries the interrupted mask, its changes to uc_sigmask are
    the mask after the return, and a nested handler does not overwrite the outer one's siginfo."""
    n, _ = compare("proc_signal", root, ["ucontext"])
    assert b"SIGUSR2 1, SIGUSR1 0" in n.stdout and b"after the return: SIGUSR2 blocked 0, SIGINT blocked 1" in n.stdout


def test_sigwait_family(root: Path) -> None:
    """sigwait/sigwaitinfo/sigtimedwait (a later signal from another thread, one already pending, a
    timeout, a blocked SIGCHLD), sched_getaffinity and prctl names."""
    n, _ = compare("sigwait", root)
    assert b"sigwait for a later signal: 0, sig SIGUSR1" in n.stdout and b"prctl name: 0 a-rather-long-t" in n.stdout


def test_posix_timers(root: Path) -> None:
    """timer_create/settime/gettime/getoverrun/delete: SIGEV_SIGNAL (SI_TIMER, sigev_value),
    SIGEV_NONE, SIGEV_THREAD, an absolute CLOCK_REALTIME time, overruns while blocked."""
    n, _ = compare("posix_timers", root)
    assert b"SIGEV_THREAD: 3 notifications" in n.stdout and b"overrun > 10: 1" in n.stdout


def test_sigaltstack(root: Path) -> None:
    """SA_ONSTACK handlers run on the alternate stack (SS_ONSTACK inside, no change allowed there);
    others do not; ENOMEM, EINVAL, SS_DISABLE."""
    n, _ = compare("altstack", root)
    assert b"on the alternate stack 1, flags SS_ONSTACK 1, change refused 1" in n.stdout


def test_siginfo_of_senders(root: Path) -> None:
    """SA_SIGINFO: kill (SI_USER, pid, uid), raise (SI_TKILL), sigqueue (SI_QUEUE, value), SIGCHLD
    (CLD_EXITED with the exit status, CLD_KILLED with the signal, the child's pid)."""
    n, _ = compare("siginfo", root)
    assert b"sigqueue: SI_QUEUE, from me 1, value 99" in n.stdout and b"CLD_KILLED, its pid 1, status 9" in n.stdout


def test_sigsuspend_and_pause(root: Path) -> None:
    """sigsuspend, then pause() with a handler installed by signal() (musl and glibc set SA_RESTART):
    pause and sigsuspend always return EINTR, they are never restarted."""
    compare("proc_signal", root, ["suspend"])


def test_sa_restart(root: Path) -> None:
    """With SA_RESTART, read and waitpid are restarted; nanosleep still fails with EINTR."""
    compare("proc_signal", root, ["restart"])


def test_alarm_ends_busy_loop(root: Path) -> None:
    n, c = compare("proc_signal", root, ["alarm_loop"])
    assert c.returncode == 0 and b"alarm handler: leaving with _exit(0)" in c.stdout


def test_alarm_default_action(root: Path) -> None:
    n, c = compare("proc_signal", root, ["alarm_default"])
    assert n.returncode == c.returncode == 142


def test_setitimer_periodic(root: Path) -> None:
    compare("proc_signal", root, ["itimer"])


def _popen_cage(root: Path, mode: str) -> subprocess.Popen[bytes]:
    wasm = build_cage(C_DIR / "proc_signal.c")
    p = subprocess.Popen([*LIND, "run", "--root", str(root), str(wasm), mode], cwd=REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    assert p.stdout is not None
    line = p.stdout.readline()
    assert line == b"ready\n", (line, p.stderr.read() if p.poll() is not None and p.stderr else b"")
    time.sleep(0.2)
    return p


def _finish(p: subprocess.Popen[bytes], failure: str) -> tuple[bytes, bytes]:
    """The output of `lind run` once it has ended; the test fails with `failure` after 20 s."""
    try:
        return p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        pytest.fail(failure)


def test_sigint_to_lind_run_reaches_handler(root: Path) -> None:
    p = _popen_cage(root, "hostint")
    p.send_signal(signal.SIGINT)
    out, err = _finish(p, "the cage did not end after SIGINT")
    assert out == b"got SIGINT=1\n", err
    assert p.returncode == 0, err


def test_sigterm_to_lind_run_kills_tree(root: Path) -> None:
    p = _popen_cage(root, "hostterm")
    t0 = time.perf_counter()
    p.send_signal(signal.SIGTERM)
    _, err = _finish(p, "lind run did not end after SIGTERM (cage tree still alive?)")
    assert p.returncode == 143, err
    assert time.perf_counter() - t0 < 10


# ---- faults ----


def test_faults_in_children(root: Path) -> None:
    _, c = compare("proc_fault", root, ["children"])
    out = c.stdout.decode()
    assert "out-of-bounds store: child killed by SIGSEGV" in out
    assert "division by zero: child killed by SIGFPE" in out
    assert "__builtin_trap: child killed by SIGILL" in out
    assert out.endswith("parent still running\n")


@pytest.mark.parametrize(("mode", "status"), [("segv", 139), ("fpe", 136), ("ill", 132)])
def test_fault_in_root(root: Path, mode: str, status: int) -> None:
    n, c = compare("proc_fault", root, [mode])
    assert n.returncode == c.returncode == status


def test_stop_and_continue(root: Path) -> None:
    """SIGSTOP really stops a busy cage; waitpid(WUNTRACED) reports it, SIGCONT continues it (its
    handler runs), waitpid(WCONTINUED) reports that, then it exits normally."""
    compare("proc_stop", root)
