"""C programs run natively (gcc, glibc) and in a cage (lind cc, musl): same stdout, same exit status."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import compare


def test_stdio_printf(root: Path) -> None:
    compare("stdio_printf", root)


def test_strings(root: Path) -> None:
    compare("strings", root)


def test_stdlib(root: Path) -> None:
    compare("stdlib", root)


def test_math(root: Path) -> None:
    compare("math", root)


def test_time(root: Path) -> None:
    compare("time", root, env={"TZ": "UTC"})


def test_files(root: Path) -> None:
    compare("files", root)


def test_dirs(root: Path) -> None:
    """As native, but for one difference on purpose: the cage's root is nosuid, so chmod 04755
    leaves 0755 (docs/security.md)."""
    compare("dirs", root, differs=lambda out: out.replace("perm=4755", "perm=755"))


def test_fs_more(root: Path) -> None:
    """flock (two opens, a child), mkfifo/mknod, fallocate, posix_fadvise, sendfile,
    copy_file_range, memfd_create, times."""
    n, _ = compare("fs_more", root)
    assert b"flock b LOCK_EX|LOCK_NB: Resource temporarily unavailable" in n.stdout


def test_no_device_nodes(root: Path) -> None:
    """A cage cannot make device nodes (natively, root can)."""
    from conftest import C_DIR, build_cage, run_cage

    r = run_cage(build_cage(C_DIR / "fs_more.c"), ["devnode"], root)
    assert r.stdout == b"mknod of a character device: Operation not permitted\n", r.stderr
    assert not (root / "null2").exists()


def test_credentials(root: Path) -> None:
    """set*uid/set*gid/setgroups with Linux's rules (the tests run as root)."""
    n, _ = compare("creds", root)
    assert b"setuid(0) through the saved id: ok" in n.stdout or n.stdout == b"not root\n"


def test_dir_positions(root: Path) -> None:
    """telldir/seekdir/rewinddir on a directory of 60 entries."""
    n, _ = compare("dir_positions", root)
    assert b"seekdir back to 62 positions: 62 right" in n.stdout


def test_priority(root: Path) -> None:
    """getpriority/setpriority/nice with Linux's permission rules (the tests run as root)."""
    n, _ = compare("priority", root)
    assert b"child, not root, lower to 2: Permission denied" in n.stdout


def test_inotify(root: Path) -> None:
    """inotify on a directory, a file and a symlink (IN_DONT_FOLLOW), rm_watch, errors."""
    n, _ = compare("inotify", root)
    assert b"dir events: create a.txt modify a.txt delete a.txt" in n.stdout


def test_mmap(root: Path) -> None:
    compare("mmap", root)


def test_misc(root: Path) -> None:
    compare("misc", root)


ENV = {"LIND_A": "alpha", "LIND_B": "with spaces = and equals", "LIND_EMPTY": ""}


@pytest.mark.parametrize(
    ("args", "status"),
    [
        ([], 0),
        (["return", "0"], 0),
        (["return", "7"], 7),
        (["return", "300"], 300 & 0xFF),
        (["exit", "3"], 3),
        (["exit", "255"], 255),
        (["_exit", "5"], 5),
        (["atexit"], 0),
        (["abort"], 134),
        (["none", "x", "", "sp ace", "ünïcödé", "a\tb"], 0),
    ],
)
def test_args_env_exit(root: Path, args: list[str], status: int) -> None:
    n, _ = compare("args_env_exit", root, args=args, env=ENV)
    assert n.returncode == status


def test_args_many(root: Path) -> None:
    compare("args_env_exit", root, args=["none", *[f"arg{i}" * (i % 7) for i in range(300)]])


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"one line\n",
        b"hello\nWorld 123\nlast line without newline",
        bytes(range(256)) * 4,
        b"x" * 100_000 + b"\n" + b"abc\n" * 50_000,
    ],
    ids=["empty", "one", "three", "binary", "large"],
)
def test_stdin(root: Path, data: bytes) -> None:
    compare("stdin", root, stdin=data)


def test_cwd_follows_renames(root: Path) -> None:
    compare("cwd_rename", root)


def test_setjmp_longjmp(root: Path) -> None:
    """setjmp/longjmp (deep and repeated), sigsetjmp/siglongjmp out of a signal handler."""
    compare("setjmp", root)


def test_getrusage(root: Path) -> None:
    """CPU time and peak memory of the cage itself (not of earlier cages on the same OS thread)."""
    compare("rusage", root)
