"""Processes: fork, exec, the wait family, pipes between cages, a small shell, process groups.

Each C program in tests/c/proc_*.c runs natively (gcc) and in a cage (lind cc); stdout and exit
status must match. Programs that exec take the path of the program to exec from argv; the test puts
the native build or the cage build of tests/c/proc_child.c at the same relative path in each run's
directory (the cage sees its directory as /).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from conftest import (
    C_DIR,
    LIND,
    REPO,
    Setup,
    build_cage,
    build_native,
    compare,
    compare_split,
    run_native,
)


def _builds(name: str) -> tuple[Path, Path]:
    src = C_DIR / f"{name}.c"
    return build_native(src), build_cage(src)


def install(*places: str, prog: str = "proc_child") -> Setup:
    """A compare() setup putting `prog` (native build in the native dir, cage build in the cage
    dir) at each relative path in `places`, executable."""
    native, wasm = _builds(prog)

    def setup(d: Path) -> None:
        src = wasm if d.name == "cage" else native
        for rel in places:
            dst = d / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            dst.chmod(0o755)

    return setup


# ---- fork ----


def test_posix_spawn(root: Path) -> None:
    """posix_spawn, whose child the host starts without a fork's unwind: statuses, file actions,
    a missing program, 50 in a row."""
    n, _ = compare("proc_spawn", root, setup=install("spawned", prog="proc_spawn"))
    assert n.returncode == 0 and b"pipe had: child says 3" in n.stdout


@pytest.mark.parametrize("mode", ["chain", "tree", "fdshare", "vfork"])  # copy, flush: below
def test_fork(root: Path, mode: str) -> None:
    n, _ = compare("proc_fork", root, [mode])
    assert n.returncode == 0


def test_fork_outputs(root: Path) -> None:
    """Spot checks of what the native run prints (so that compare() compares something sensible)."""
    n, c = compare("proc_fork", root, ["copy"])
    assert n.returncode == 0
    out = c.stdout.decode()
    assert "parent: local=7 global=42 static=static data heap=heap data last=p" in out
    assert "child: local=1000 global=1000" in out
    n, c = compare("proc_fork", root, ["flush"])
    assert n.returncode == 0
    assert c.stdout.decode().count("before fork (flushed)") == 1
    assert "lost with _exit" not in c.stdout.decode()


# ---- exec ----


@pytest.mark.parametrize("mode", ["argvenv", "cloexec", "fexecve", "signals"])  # errors: below
def test_exec(root: Path, mode: str) -> None:
    _, c = compare("proc_exec", root, [mode, "./child"], setup=install("child"))
    assert c.returncode == 0


def test_exec_errors_expected(root: Path) -> None:
    _, c = compare("proc_exec", root, ["errors", "./child"], setup=install("child"))
    assert c.returncode == 0
    out = c.stdout.decode()
    for line in ("missing file: execve returned -1 errno=ENOENT", "mode 0644: execve returned -1 errno=EACCES",
                 "text without #!: execve returned -1 errno=ENOEXEC", "#! loop: execve returned -1 errno=ELOOP",
                 "still running after failed execs"):
        assert line in out


def test_exec_script(root: Path) -> None:
    """`#!/child argv` scripts (the interpreter is a program in the root, named by an absolute path)."""
    _, c = compare_split("proc_exec", root, ["script", "./child", "@DIR@/child"], ["script", "./child", "/child"],
                         setup=install("child"))
    out = c.stdout.decode()
    assert "child argv[2]=[./script.sh]" in out and "script: exited 0" in out


def test_exec_chain_1000(root: Path) -> None:
    """1000 execs in a row (argv counter) end with exit 0, in bounded host memory."""
    native, wasm = _builds("proc_child")
    shutil.copyfile(wasm, root / "child")
    (root / "child").chmod(0o755)
    t0 = time.perf_counter()
    p = subprocess.Popen([*LIND, "run", "--root", str(root), str(wasm), "chain", "1000", "/child"], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc = psutil.Process(p.pid)
    max_rss = 0
    while p.poll() is None:
        try:
            max_rss = max(max_rss, proc.memory_info().rss)
        except psutil.Error:
            break
        if time.perf_counter() - t0 > 300:
            p.kill()
            pytest.fail("1000 execs did not finish in 300 s")
        time.sleep(0.05)
    out, err = p.communicate()
    assert p.returncode == 0, err.decode(errors="replace")
    assert max_rss < 300 * 2**20, f"lind run max RSS {max_rss / 2**20:.0f} MiB"
    nd = root / "native"
    nd.mkdir()
    shutil.copyfile(native, nd / "child")
    (nd / "child").chmod(0o755)
    assert run_native(native, ["chain", "1000", "./child"], nd).returncode == 0


# ---- wait ----


# (status: test_wait_status_expected)
@pytest.mark.parametrize("mode", ["basic", "nohang", "echild", "waitid", "pgroups", "zombie", "orphan"])
def test_wait(root: Path, mode: str) -> None:
    compare("proc_wait", root, [mode])


def test_wait_status_expected(root: Path) -> None:
    _, c = compare("proc_wait", root, ["status"])
    out = c.stdout.decode()
    assert "_exit(255): WIFEXITED, WEXITSTATUS=255, raw=0xff00" in out
    assert "kill SIGKILL: WIFSIGNALED, WTERMSIG=9 (SIGKILL)" in out
    assert "abort(): WIFSIGNALED, WTERMSIG=6 (SIGABRT)" in out


# ---- pipes ----


@pytest.mark.parametrize("mode", ["eof", "sigpipe", "flags", "atomic", "fionread"])
def test_pipe(root: Path, mode: str) -> None:
    compare("proc_pipe", root, [mode])


def test_pipeline(root: Path) -> None:
    _, c = compare("proc_pipe", root, ["pipeline", "./child"], setup=install("child"))
    assert b"consumer says: 24890 bytes 1000 lines" in c.stdout
    assert b"filtered: HELLO, PIPE" in c.stdout


def test_sigpipe_kills_root(root: Path) -> None:
    """A cage writing to a pipe without readers dies of SIGPIPE: `lind run` exits 141."""
    n, c = compare("proc_pipe", root, ["sigpipe_self"])
    assert n.returncode == c.returncode == 141


# ---- a small shell ----

SHELL_INPUT = b"""lecho a b | upper
lecho hello world | upper | count
exit 3
nosuchcmd x
nosuchcmd | upper
notexec
lecho   spaced    out
lecho x y z | upper | upper | count
exit
lecho not run
"""


def test_shell(root: Path) -> None:
    def setup(d: Path) -> None:
        install("bin/lecho", "bin/upper", "bin/count", "bin/exit")(d)
        (d / "bin" / "notexec").write_text("not a program\n")
        (d / "bin" / "notexec").chmod(0o644)

    _, c = compare_split("proc_shell", root, [], [], setup=setup, native_env={"PATH": str(root / "native" / "bin")},
                         cage_env={"PATH": "/bin"}, stdin=SHELL_INPUT)
    out = c.stdout.decode()
    assert "A B\n[0: exit 0]\n[1: exit 0]" in out
    assert "$ exit 3\n[0: exit 3]" in out
    assert "$ nosuchcmd x\n[0: exit 127]" in out
    assert "$ notexec\n[0: exit 126]" in out
    assert out.endswith("$ exit\nbye\n")


# ---- process groups and sessions ----


@pytest.mark.parametrize("mode", ["semantics", "killgroup"])
def test_process_groups(root: Path, mode: str) -> None:
    compare("proc_pgrp", root, [mode, "leader"])



def test_fork_copy_on_write_isolation(root: Path) -> None:
    """Copy-on-write fork (native/kern/cowfork.c): no side sees the other's writes, later forks and
    grandchildren see current memory, unmapped-then-mapped memory reads zero."""
    compare("proc_cow", root)


def test_rusage_of_children(root: Path) -> None:
    """wait4's rusage and getrusage(RUSAGE_CHILDREN) see the CPU time of reaped children."""
    compare("rusage_children", root)
