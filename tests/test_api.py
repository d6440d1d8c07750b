"""The embedding API (lind_aot.api): spawn/wait/kill/capture, stdin, limits, asyncio, grates."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import C_DIR, REPO, build_cage

from lind_aot.api import DEVNULL, AsyncSandbox, Limits, Sandbox, SpawnError


def in_threads(worker: Callable[[int], None], n: int) -> None:
    """Runs worker(0..n-1) on n threads at once and waits for them."""
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)


@pytest.fixture(scope="module")
def hello() -> Path:
    return build_cage(C_DIR / "api_hello.c")


@pytest.fixture(scope="module")
def modes() -> Path:
    return build_cage(C_DIR / "api_modes.c")


@pytest.fixture
def sb(tmp_path: Path) -> Sandbox:
    return Sandbox(root=tmp_path)


def test_run_hello(sb: Sandbox, hello: Path) -> None:
    r = sb.run(hello, ["there"])
    assert (r.returncode, r.status, r.exit_code, r.signal) == (0, 0, 0, None)
    assert r.stdout == b"hello there\n" and r.stderr == b""
    assert r.pid > 0 and 0 < r.usage.wall_time < 10


def test_spawn_from_8_threads(sb: Sandbox, hello: Path, modes: Path) -> None:
    """Eight threads spawn, wait and kill at once; every output lands with its own process."""
    errors: list[str] = []

    def worker(t: int) -> None:
        try:
            for i in range(10):
                arg = f"t{t}-{i}"
                p = sb.spawn(hello, [arg])
                r = p.wait(30)
                if r is None or r.stdout != f"hello {arg}\n".encode() or r.returncode != 0:
                    errors.append(f"{arg}: {r}")
            p = sb.spawn(modes, ["sleep", "30"])
            assert p.wait(0.05) is None and p.returncode is None
            assert p.kill()
            r = p.wait(10)
            if r is None or r.returncode != -signal.SIGKILL:
                errors.append(f"kill t{t}: {r}")
        except Exception as e:  # noqa: BLE001
            errors.append(f"t{t}: {e!r}")

    in_threads(worker, 8)
    assert not errors, errors[:5]


def test_stdin_bytes(sb: Sandbox, modes: Path) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB: more than a pipe holds, fed by the I/O thread
    r = sb.run(modes, ["echo"], stdin=data, timeout=30)
    assert r.stdout == data
    assert r.stderr == f"bytes={len(data)}\n".encode()
    r = sb.run(modes, ["echo"], stdin=b"small")
    assert r.stdout == b"small"
    r = sb.run(modes, ["echo"])  # default stdin: empty
    assert r.stdout == b"" and r.stderr == b"bytes=0\n"


def test_exit_status_and_stderr(sb: Sandbox, modes: Path) -> None:
    r = sb.run(modes, ["exit", "3"])
    assert (r.returncode, r.status, r.exit_code) == (3, 3, 3)
    assert (r.stdout, r.stderr) == (b"out\n", b"err\n")


def test_crash_is_a_signal(sb: Sandbox, modes: Path) -> None:
    r = sb.run(modes, ["crash"])
    assert r.returncode == -signal.SIGSEGV and r.status == 128 + signal.SIGSEGV
    assert r.signal_name == "SIGSEGV" and r.stdout == b"about to crash\n"


def test_env_and_argv0(sb: Sandbox, modes: Path, tmp_path: Path) -> None:
    r = sb.run(modes, ["env", "GREETING"], env={"GREETING": "hi there"})
    assert r.stdout == b"hi there\n"
    sb2 = Sandbox(root=tmp_path, env={"GREETING": "from sandbox"})
    assert sb2.run(modes, ["env", "GREETING"]).stdout == b"from sandbox\n"


def test_streaming_and_binary(sb: Sandbox, modes: Path) -> None:
    for _ in range(50):  # (repeated: every chunk must be delivered, in order, before wait() returns)
        chunks: list[bytes] = []
        r = sb.run(modes, ["big", "512"], stdout=chunks.append)
        assert r.stdout == b"" and b"".join(chunks) == b"x" * (512 * 1024)
    r = sb.run(modes, ["binary"])
    assert r.stdout == bytes(range(256))
    r = sb.run(modes, ["exit", "0"], stdout=DEVNULL, stderr=DEVNULL)
    assert (r.stdout, r.stderr, r.returncode) == (b"", b"", 0)


def test_output_limit(tmp_path: Path, modes: Path) -> None:
    sb = Sandbox(root=tmp_path, max_output=1000)
    r = sb.run(modes, ["big", "256"])
    assert r.returncode == 0 and r.stdout == b"x" * 1000 and r.output_truncated


def test_wait_timeout_then_kill(sb: Sandbox, modes: Path) -> None:
    p = sb.spawn(modes, ["sleep", "30"])
    t0 = time.monotonic()
    assert p.wait(0.2) is None
    assert time.monotonic() - t0 < 5
    p.kill(signal.SIGTERM)
    r = p.wait(10)
    assert r is not None and r.returncode == -signal.SIGTERM and r.status == 128 + signal.SIGTERM
    assert not p.kill()  # nothing left to signal


def test_spawn_errors(sb: Sandbox, tmp_path: Path) -> None:
    with pytest.raises(SpawnError, match="No such file"):
        sb.spawn(tmp_path / "missing.wasm")
    bogus = tmp_path / "bogus.wasm"
    bogus.write_bytes(b"not wasm at all")
    with pytest.raises(SpawnError, match="not a WebAssembly"):
        sb.spawn(bogus)
    with pytest.raises(SpawnError):
        Sandbox(root=tmp_path / "nope")


# ---- limits ----


def test_mem_limit(sb: Sandbox, modes: Path) -> None:
    r = sb.run(modes, ["mem"], limits=Limits(mem=32 << 20), timeout=60)
    assert r.returncode == 0, r
    got = int(r.stdout.split()[3])
    assert 0 < got < 32, r.stdout


def test_cpu_time_limit(sb: Sandbox, modes: Path) -> None:
    """The CPU-time limit kills the tree (SIGKILL, verdict TIME_LIMIT), to the millisecond."""
    r = sb.run(modes, ["cpu"], limits=Limits(cpu_time=0.25), timeout=30)
    assert (r.signal, r.verdict) == (signal.SIGKILL, "TIME_LIMIT"), r
    assert r.usage.tree_cpu_time is not None and r.usage.tree_cpu_time >= 0.25, r.usage
    assert r.usage.wall_time < 10


def test_cpu_time_is_per_cage(sb: Sandbox, modes: Path, hello: Path) -> None:
    """A tree's CPU time (its limit, its usage) starts at zero, whatever OS thread ran cages before
    it (the microvisor reuses its runner threads)."""
    for _ in range(2):
        r = sb.run(modes, ["cpu"], limits=Limits(cpu_time=1), timeout=30)
        assert r.verdict == "TIME_LIMIT", r
        assert r.usage.cpu_time is not None and r.usage.cpu_time >= 0.9, r.usage
        assert r.usage.wall_time >= 0.9, r.usage
    r = sb.run(hello)
    assert r.usage.cpu_time is not None and r.usage.cpu_time < 0.5, r.usage


def test_usage(sb: Sandbox, modes: Path) -> None:
    r = sb.run(modes, ["mem"], limits=Limits(mem=64 << 20), timeout=60)
    u = r.usage
    assert u.peak_memory is not None and 32 << 20 < u.peak_memory <= 64 << 20, u
    assert u.syscalls is not None and u.syscalls > 10, u


def test_wall_time_limit(sb: Sandbox, modes: Path) -> None:
    r = sb.run(modes, ["sleep", "30"], limits=Limits(wall_time=0.5), timeout=30)
    assert r.signal == signal.SIGKILL and r.wall_time_exceeded
    assert 0.4 < r.usage.wall_time < 5


def test_sandbox_limits_are_defaults(tmp_path: Path, modes: Path) -> None:
    sb = Sandbox(root=tmp_path, limits=Limits(wall_time=0.3, max_fds=10))
    r = sb.run(modes, ["fds"], timeout=30)
    assert r.stdout == b"opened 7, then EMFILE\n"  # 0, 1, 2 + 7 = 10
    r = sb.run(modes, ["fds"], limits=Limits(max_fds=20), timeout=30)  # overrides one field
    assert r.stdout == b"opened 17, then EMFILE\n"
    r = sb.run(modes, ["sleep", "30"], timeout=30)  # the sandbox's wall limit still applies
    assert r.wall_time_exceeded


def test_max_fds(sb: Sandbox, modes: Path) -> None:
    r = sb.run(modes, ["fds"], limits=Limits(max_fds=16))
    assert r.stdout == b"opened 13, then EMFILE\n"


def test_fork_bomb_contained(sb: Sandbox, modes: Path, hello: Path) -> None:
    """max_cages stops a fork bomb with EAGAIN; meanwhile the host keeps serving other spawns."""
    bomb = sb.spawn(modes, ["forkbomb"], limits=Limits(max_cages=8, wall_time=30))
    t0 = time.monotonic()
    for i in range(5):
        r = sb.run(hello, [str(i)], timeout=10)
        assert r.stdout == f"hello {i}\n".encode()
    assert time.monotonic() - t0 < 10
    r = bomb.wait(30)
    assert r is not None and r.returncode == 0, r
    assert r.stdout == b"forked 7, then EAGAIN\n"


# ---- asyncio ----


def test_asyncio(tmp_path: Path, hello: Path, modes: Path) -> None:
    asb = AsyncSandbox(Sandbox(root=tmp_path))

    async def main() -> None:
        results = await asyncio.gather(*(asb.run(hello, [str(i)]) for i in range(8)))
        assert [r.stdout for r in results] == [f"hello {i}\n".encode() for i in range(8)]
        p = await asb.spawn(modes, ["sleep", "30"])
        assert await p.wait(0.1) is None
        p.kill()
        r = await p.wait(10)
        assert r is not None and r.returncode == -signal.SIGKILL
        r = await asb.run(modes, ["echo"], stdin=b"via asyncio")
        assert r.stdout == b"via asyncio"

    asyncio.run(asyncio.wait_for(main(), 60))


# ---- grates ----


def test_grate(tmp_path: Path, hello: Path) -> None:
    """grates=[...]: the grate runs the program below it (both host files, none inside the root)."""
    src = REPO / "grates" / "strace.c"
    if not src.exists():
        pytest.skip("grates/strace.c not present")
    grate = build_cage(src)
    sb = Sandbox(root=tmp_path)
    r = sb.run(hello, ["grated"], grates=[grate], timeout=30)
    assert r.returncode == 0, r
    assert r.stdout == b"hello grated\n"
    assert b"write" in r.stderr and f'execve("{hello}"'.encode() in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []


# ---- run_here: the cage runs on the calling thread, output captured by the data plane ----


def test_run_here_matches_spawn(sb: Sandbox, hello: Path, modes: Path) -> None:
    r = sb.run_here(hello, ["there"])
    assert (r.returncode, r.stdout, r.stderr) == (0, b"hello there\n", b"")
    r = sb.run_here(modes, ["exit", "3"])
    assert (r.returncode, r.stdout, r.stderr) == (3, b"out\n", b"err\n")
    r = sb.run_here(modes, ["crash"])
    assert r.returncode == -signal.SIGSEGV and r.stdout == b"about to crash\n"
    r = sb.run_here(modes, ["binary"])
    assert r.stdout == bytes(range(256))
    with pytest.raises(SpawnError, match="No such file"):
        sb.run_here("/nonexistent/missing.wasm")


def test_run_here_stdin_and_output_limit(tmp_path: Path, modes: Path) -> None:
    sb = Sandbox(root=tmp_path)
    data = bytes(range(256)) * 4096  # 1 MiB: more than a pipe holds
    r = sb.run_here(modes, ["echo"], stdin=data)
    assert r.stdout == data and r.stderr == f"bytes={len(data)}\n".encode()
    assert sb.run_here(modes, ["echo"]).stderr == b"bytes=0\n"
    small = Sandbox(root=tmp_path, max_output=1000)
    r = small.run_here(modes, ["big", "256"])  # the cage is never blocked by the cap
    assert r.returncode == 0 and r.stdout == b"x" * 1000 and r.output_truncated


def test_run_here_limits(sb: Sandbox, modes: Path) -> None:
    r = sb.run_here(modes, ["sleep", "30"], limits=Limits(wall_time=0.5))
    assert r.signal == signal.SIGKILL and r.wall_time_exceeded and 0.4 < r.usage.wall_time < 5
    r = sb.run_here(modes, ["forkbomb"], limits=Limits(max_cages=8, wall_time=20))
    assert r.returncode == 0 and b"EAGAIN" in r.stdout, r


def test_run_here_from_threads(sb: Sandbox, hello: Path) -> None:
    errors: list[str] = []

    def worker(t: int) -> None:
        for i in range(50):
            r = sb.run_here(hello, [f"{t}-{i}"])
            if r.stdout != f"hello {t}-{i}\n".encode() or r.returncode != 0:
                errors.append(f"{t}-{i}: {r}")

    in_threads(worker, 8)
    assert not errors, errors[:5]


def test_process_using_the_api_exits_cleanly(tmp_path: Path, hello: Path) -> None:
    """A script that ran cages ends normally (the data plane's threads do not crash its exit)."""
    script = (f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
              "from lind_aot.api import Sandbox\n"
              f"sb = Sandbox(root={str(tmp_path)!r})\n"
              f"print(sb.run_here({str(hello)!r}, ['a']).stdout, sb.run({str(hello)!r}, ['b']).stdout)\n")
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout == b"b'hello a\\n' b'hello b\\n'\n"


def test_run_many_here(sb: Sandbox, hello: Path, modes: Path, tmp_path: Path) -> None:
    """Jobs run one after another in one call: results in order, a job that cannot start gets its
    error in its place, and each job's wall-time limit counts from its own start."""
    from lind_aot.api import HereJob

    bogus = tmp_path / "bogus.wasm"
    bogus.write_bytes(b"not wasm")
    rs = sb.run_many_here([HereJob(hello, ["a"]), HereJob(bogus), HereJob(hello, ["b"], cwd="/no/such/dir"),
                           HereJob(modes, ["exit", "4"]), HereJob(modes, ["echo"], stdin=b"in")])
    assert [type(r).__name__ for r in rs] == ["Result", "SpawnError", "SpawnError", "Result", "Result"]
    assert rs[0].stdout == b"hello a\n" and "not a WebAssembly" in str(rs[1]) and "--cwd /no/such/dir" in str(rs[2])
    assert (rs[3].returncode, rs[3].stdout) == (4, b"out\n") and rs[4].stdout == b"in"
    # three 1 s sleeps with a 1.6 s limit each: 3 s in all, yet none exceeds its own limit
    rs = sb.run_many_here([HereJob(modes, ["sleep", "1"], limits=Limits(wall_time=1.6))] * 3)
    assert all(r.returncode == 0 and not r.wall_time_exceeded and 0.9 < r.usage.wall_time < 1.5 for r in rs), rs
