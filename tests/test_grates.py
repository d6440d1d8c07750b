"""3i and grates: the example grates in grates/ and test grates/programs in tests/c/grate_*.c.

Most tests run a grate by hand as `lind run --root R grate.wasm [options] /prog.wasm [args]`: the
program (and any grate stacked below) is then a path inside the root, so they copy the .wasm files
into it. The stacks of `lind run --grate` and `Sandbox(grates=...)` take host paths instead
(lind_aot/threei/grates.py): the tests of stacks at the end copy nothing."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from conftest import C_DIR, LIND, REPO, Run, _wasm_dir, build_cage, build_native, run_cage, run_lind, run_native

GRATES = REPO / "grates"


def build_grate(name: str) -> Path:
    """grates/<name>.c built with lind cc (kept apart from the test programs of the same stem)."""
    src = GRATES / f"{name}.c"
    out = _wasm_dir() / "grates" / f"{name}.wasm"
    out.parent.mkdir(parents=True, exist_ok=True)
    if not (out.exists() and out.stat().st_mtime >= src.stat().st_mtime):
        r = subprocess.run([*LIND, "cc", "-O2", "-Wall", "-o", str(out), str(src)], capture_output=True, text=True,
                           cwd=REPO)
        if r.returncode != 0:
            raise AssertionError(f"lind cc {src.name} failed:\n{r.stderr}")
    return out


def put(root: Path, wasm: Path, name: str | None = None) -> str:
    """Copies a .wasm into the root; returns its path inside the root."""
    dest = root / (name or wasm.name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(wasm, dest)
    dest.chmod(0o755)  # exec needs the execute bit, as on Linux
    return "/" + dest.relative_to(root).as_posix()


def prog(root: Path, name: str) -> str:
    return put(root, build_cage(C_DIR / f"{name}.c"))


def run(root: Path, top: Path, args: list[str], timeout: float = 120) -> Run:
    return run_cage(top, args, root, timeout=timeout)


def out(r: Run) -> str:
    return r.stdout.decode(errors="replace")


def err(r: Run) -> str:
    return r.stderr.decode(errors="replace")


# ---- 3i core -------------------------------------------------------------------------------------


def test_handler_inherited_across_fork_and_exec(root: Path) -> None:
    g = build_cage(C_DIR / "grate_testgrate.c")
    r = run(root, g, ["--mode", "euid", prog(root, "grate_inherit")])
    assert r.returncode == 0, out(r) + err(r)
    assert out(r).splitlines() == [
        "main: interposed",
        "fork child: interposed",
        "after exec: interposed",
        "table child: deregister, copy table, authority ok",
        "main: still interposed",
    ]


def test_copy_data_between_cages(root: Path) -> None:
    g = build_cage(C_DIR / "grate_testgrate.c")
    r = run(root, g, ["--mode", "copy", prog(root, "grate_copy")])
    assert r.returncode == 0, out(r) + err(r)
    assert out(r).splitlines() == ["copy both ways ok", "bounds ok", "authority ok"]


def test_copy_data_larger_than_a_piece(root: Path) -> None:
    """copy_data moves large ranges in pieces (so that a SIGKILL can stop it); overlapping copies
    of 150 MiB either way give what memmove gives."""
    r = run_cage(build_cage(C_DIR / "copy_data_large.c"), [], root)
    assert (r.returncode, out(r)) == (0, "up: 0 same as memmove\ndown: 0 same as memmove\n"), err(r)


def test_fakeid(root: Path) -> None:
    fakeid = build_grate("fakeid")
    p = prog(root, "grate_ids")
    r = run(root, fakeid, [p])
    assert (r.returncode, out(r)) == (0, "uid=0 euid=0 gid=0 egid=0\n"), err(r)
    r = run(root, fakeid, ["--uid", "1000", "--gid", "100", "--egid", "7", p])
    assert (r.returncode, out(r)) == (0, "uid=1000 euid=1000 gid=100 egid=7\n"), err(r)
    r = run(root, fakeid, ["--bogus", "1", p])
    assert r.returncode == 2 and "usage" in err(r)


def test_stacked_fakeid_over_strace(root: Path) -> None:
    """fakeid on top, strace below it, the program below both: the program sees fakeid's ids and
    strace logs the calls with the answers that came from fakeid."""
    fakeid = build_grate("fakeid")
    strace = put(root, build_grate("strace"))
    (root / "hello.txt").write_text("hello\n")
    r = run(root, fakeid, ["--euid", "99", strace, "--out", "/trace.txt", prog(root, "grate_simple")])
    assert r.returncode == 0, err(r)
    assert out(r) == "hello\nchild=7 euid=99\n"
    trace = (root / "trace.txt").read_text()
    assert "] geteuid() = 99\n" in trace
    assert 'open("/hello.txt", 0x8000, 0) = 3\n' in trace


def test_clamping_register_handler(root: Path) -> None:
    """grate 1 interposes register_handler on the cages below it: when fakeid (below it) registers
    its geteuid handler, grate 1 registers its own instead."""
    g = build_cage(C_DIR / "grate_testgrate.c")
    fakeid = put(root, build_grate("fakeid"))
    r = run(root, g, ["--mode", "clamp", fakeid, "--euid", "55", "--uid", "5", prog(root, "grate_ids")])
    assert r.returncode == 0, err(r)
    # geteuid: grate 1's substitute; the other registrations were swallowed (the microvisor answers)
    assert out(r) == "uid=0 euid=4242 gid=0 egid=0\n"


def test_forwarded_register_handler(root: Path) -> None:
    """grate 1 interposes register_handler and passes every registration on unchanged."""
    g = build_cage(C_DIR / "grate_testgrate.c")
    fakeid = put(root, build_grate("fakeid"))
    r = run(root, g, ["--mode", "passreg", fakeid, "--euid", "55", "--uid", "5", prog(root, "grate_ids")])
    assert (r.returncode, out(r)) == (0, "uid=5 euid=55 gid=0 egid=0\n"), err(r)


def test_threads_through_one_grate(root: Path) -> None:
    """20 threads x 100,000 geteuid calls, each answer checked against the thread's own token."""
    g = build_cage(C_DIR / "grate_testgrate.c")
    r = run(root, g, ["--mode", "euid", prog(root, "grate_threads"), "20", "100000"], timeout=300)
    assert r.returncode == 0, out(r) + err(r)
    assert out(r) == "threads=20 calls=100000 bad=0\n"
    assert "testgrate: calls=2000000 locked=2000000" in err(r)


def test_grate_exits_while_cage_sleeps(root: Path) -> None:
    """The grate exits 200 ms after starting the program, without waiting for it, while the
    program sleeps: its geteuid answer goes from the grate's 777 to the microvisor's 0."""
    g = build_cage(C_DIR / "grate_testgrate.c")
    r = run(root, g, ["--mode", "exitearly", "--delay", "200", prog(root, "grate_euidloop"), "0", "777", "0", "0"])
    assert r.returncode == 0, out(r) + err(r)
    assert "testgrate: exiting" in err(r)
    assert out(r) == "before=777 after=0\n"


def test_grate_exits_while_cage_calls(root: Path) -> None:
    """The grate exits 200 ms after starting the program, without waiting for it, while the
    program calls geteuid in a loop (1 thread, then 8): the answers go from the grate's 777 to the
    microvisor's 0, once per thread, never anything else, and nothing crashes."""
    g = build_cage(C_DIR / "grate_testgrate.c")
    p = prog(root, "grate_euidloop")
    for threads in ("1", "8", "8", "8"):
        r = run(root, g, ["--mode", "exitearly", "--delay", "200", p, "700", "777", "0", threads])
        assert "testgrate: exiting" in err(r)
        assert (r.returncode, out(r)) == (0, "grate=yes real=yes switches=1\n"), (threads, err(r))


def test_grate_execs_while_cage_calls(root: Path) -> None:
    """The grate execs another program 200 ms after starting the program, while the program calls
    geteuid in a loop: its handlers belonged to the old program and memory, so the answers go from
    the grate's 777 to the microvisor's 0 once per thread, and the new program runs as a plain cage."""
    g = build_cage(C_DIR / "grate_testgrate.c")
    p = prog(root, "grate_euidloop")
    for threads in ("1", "8"):
        r = run(root, g, ["--mode", "execearly", "--delay", "200", p, "1200", "777", "0", threads])
        assert "testgrate: exec" in err(r)
        assert (r.returncode, sorted(out(r).splitlines())) == (
            0, ["before=0 after=0", "grate=yes real=yes switches=1"]), (threads, err(r))


def test_handler_signature_mismatch_is_eio(root: Path, tmp_path: Path) -> None:
    """A handler whose signature is not the dispatcher's traps in the grate: the call fails with
    EIO, the cage and the grate go on."""
    src = tmp_path / "badsig_grate.c"
    src.write_text((C_DIR / "grate_testgrate.c").read_text().replace(
        "HANDLER(h_777) { return 777; }", "static int h_777(uint64_t cageid) { return 777; }").replace(
        "(uint64_t)(uintptr_t)&h_777", "(uint64_t)(uintptr_t)(void *)&h_777"))
    g = build_cage(src)
    test = tmp_path / "badsig.c"
    test.write_text('#include <errno.h>\n#include <stdio.h>\n#include <unistd.h>\n#include <lind_syscall.h>\n'
                    'int main(void) { long long r = __lind_syscall(107, 0,0, 0,0, 0,0, 0,0, 0,0, 0,0, 0,0);\n'
                    '  printf("%lld %lld\\n", r, __lind_syscall(107, 0,0, 0,0, 0,0, 0,0, 0,0, 0,0, 0,0));'
                    ' return 0; }\n')
    p = put(root, build_cage(test))
    r = run(root, g, ["--mode", "exitearly", "--delay", "1000", p])
    assert r.returncode == 0, err(r)
    assert out(r) == f"{-5} {-5}\n"


# ---- example grates ------------------------------------------------------------------------------


def test_strace_output(root: Path) -> None:
    strace = build_grate("strace")
    (root / "hello.txt").write_text("hello\n")
    r = run(root, strace, [prog(root, "grate_simple")])
    assert r.returncode == 0, err(r)
    assert out(r) == "hello\nchild=7 euid=0\n"
    lines = err(r).splitlines()
    body = [line.split("] ", 1)[1] for line in lines if line.startswith("[pid ")]
    assert len(body) == len(lines), lines
    for want in [
        'execve("/grate_simple.wasm", ["/grate_simple.wasm"], ',
        'open("/hello.txt", 0x8000, 0) = 3',
        'read(3, "hello\\n", 64) = 6',
        "close(3) = 0",
        'write(1, "hello\\n", 6) = 6',
        'stat("/missing.txt", 0x',
        'mkdir("/newdir", 0755) = 0',
        "exit_group(7) = ?",
        "wait4(",
        "geteuid() = 0",
        "exit_group(0) = ?",
    ]:
        assert any(b.startswith(want) for b in body), (want, body)
    assert any(b.startswith("stat(") and b.endswith(" = -1 ENOENT (No such file or directory)") for b in body)
    fork = next(b for b in body if b.startswith("fork() = "))
    child = int(fork.split(" = ")[1])
    assert f"[pid {child}] exit_group(7) = ?" in lines
    assert f"wait4({child}, [{{WIFEXITED(s) && WEXITSTATUS(s) == 7}}], 0x0, NULL) = {child}" in body
    assert (root / "newdir").is_dir()


def test_posix_spawn_under_strace(root: Path, tmp_path: Path) -> None:
    """posix_spawn in a cage below a grate (strace, tracing execve): 50 children spawned, each exec
    forwarded by the grate; the program's output is the native one."""
    strace = build_grate("strace")
    native, wasm = build_native(C_DIR / "proc_spawn.c"), build_cage(C_DIR / "proc_spawn.c")
    ndir = tmp_path / "native"
    ndir.mkdir()
    shutil.copyfile(native, ndir / "spawned")
    (ndir / "spawned").chmod(0o755)
    n = run_native(native, [], ndir)
    put(root, wasm, "spawned")
    r = run(root, strace, ["--only", "execve", put(root, wasm)])
    assert (r.returncode, r.stdout) == (n.returncode, n.stdout), err(r)[-3000:]
    assert n.returncode == 0 and b"pipe had: child says 3" in n.stdout
    assert err(r).count('execve("./spawned"') >= 50, err(r)[-3000:]


def test_strace_out_file_and_only(root: Path) -> None:
    strace = build_grate("strace")
    (root / "hello.txt").write_text("hello\n")
    r = run(root, strace, ["--out", "/log/t.txt", "--only", "open,close", prog(root, "grate_simple")])
    assert r.returncode == 1 and "/log/t.txt" in err(r)  # no such directory
    (root / "log").mkdir()
    r = run(root, strace, ["--out", "/log/t.txt", "--only", "open,close", prog(root, "grate_simple")])
    assert r.returncode == 0 and err(r) == "", err(r)
    body = [line.split("] ", 1)[1] for line in (root / "log" / "t.txt").read_text().splitlines()]
    assert body == ['open("/hello.txt", 0x8000, 0) = 3', "close(3) = 0"]


def test_imfs(root: Path) -> None:
    imfs = build_grate("imfs")
    p = prog(root, "grate_imfs")
    before = sorted(x.name for x in root.iterdir())
    r = run(root, imfs, ["--prefix", "/mem", p])
    assert r.returncode == 0, out(r) + err(r)
    assert out(r).splitlines() == ["write/read/seek ok", "sparse/truncate ok", "append/excl/dup ok", "stdio ok",
                                   "readdir/access/rename ok", "fork ok", "unlink ok", "real file ok"]
    # nothing under /mem reached the host; the real file did
    assert sorted(x.name for x in root.iterdir()) == sorted([*before, "real.txt"])
    assert (root / "real.txt").read_text() == "on disk"
    # without the grate the same program fails at its first /mem call
    r = run_cage(root / p.lstrip("/"), [], root)
    assert r.returncode == 1 and out(r).startswith("FAIL")


def test_policy(root: Path) -> None:
    policy = build_grate("policy")
    for d in ("prog", "data", "ro"):
        (root / d).mkdir()
    (root / "secret.txt").write_text("s")
    (root / "data" / "ok.txt").write_text("ok")
    (root / "ro" / "r.txt").write_text("r")
    p = put(root, build_cage(C_DIR / "grate_policy.c"), "prog/grate_policy.wasm")
    args = ["--allow-read", "/prog", "--allow-read", "/ro", "--allow", "/data", "--allow-net", "127.0.0.1:7",
            "--allow-net", "127.0.0.0/8:17", "--log", "/data/denials.log", p]
    r = run(root, policy, args)
    assert r.returncode == 0, out(r) + err(r)
    assert out(r).splitlines() == ["allowed ok", "denied ok", "relative ok", "network ok", "table ok"]
    log = (root / "data" / "denials.log").read_text().splitlines()
    for want in ['open("/secret.txt")', 'stat("/secret.txt")', 'open("/ro/r.txt") for writing',
                 'unlink("/ro/r.txt") for writing', 'symlink("/data/link" -> "/secret.txt"): target not allowed',
                 'chdir("/")', "openat(3, relative path)", "sendto(127.0.0.1:9)", "connect(127.0.0.1:9)",
                 "sendto(10.1.2.3:17)", "register_handler(", "copy_handler_table_to_cage("]:
        assert any(want in line for line in log), (want, log)
    assert all(line.startswith("policy: denied [pid ") for line in log)
    assert not (root / "moved.txt").exists() and (root / "secret.txt").read_text() == "s"
    assert (root / "data" / "new.txt").exists() and (root / "data" / "link2").is_symlink()


def test_policy_program_must_be_readable(root: Path) -> None:
    policy = build_grate("policy")
    p = prog(root, "grate_ids")
    r = run(root, policy, ["--allow", "/data", p])
    assert r.returncode == 127 and "Permission denied" in err(r)
    r = run(root, policy, ["--allow-read", p, "--quiet", p])
    assert (r.returncode, out(r)) == (0, "uid=0 euid=0 gid=0 egid=0\n")


# ---- stacks of grates: lind run --grate, Sandbox(grates=...) --------------------------------------


def test_stack_order_on_the_command_line(root: Path) -> None:
    """--grate is outermost first: the last grate listed is closest to the program. With strace
    closest it sees every call, geteuid too (forwarded to fakeid, whose answer it logs); with
    fakeid closest, fakeid answers geteuid itself and strace never sees it. Nothing is copied into
    the root: the grates and the program are host files."""
    fakeid, strace = build_grate("fakeid"), build_grate("strace")
    program = build_cage(C_DIR / "grate_simple.c")
    (root / "hello.txt").write_text("hello\n")
    before = sorted(p.name for p in root.iterdir())
    for order, geteuid_traced in (([f"{fakeid} --euid 99", f"{strace} --out /trace.txt"], True),
                                  ([f"{strace} --out /trace.txt", f"{fakeid} --euid 99"], False)):
        r = run_lind(["run", "--root", str(root), *(x for g in order for x in ("--grate", g)), str(program)])
        assert (r.returncode, out(r)) == (0, "hello\nchild=7 euid=99\n"), err(r)
        trace = (root / "trace.txt").read_text()
        assert ("] geteuid() = 99\n" in trace) == geteuid_traced, trace
        assert 'open("/hello.txt", 0x8000, 0) = 3\n' in trace
        # the program's argv is the one it gets without grates
        assert f'execve("{program}", ["{program}"], ' in trace
        (root / "trace.txt").unlink()
        shutil.rmtree(root / "newdir")
    assert sorted(p.name for p in root.iterdir()) == before


def test_stack_in_the_api_and_its_routes(root: Path) -> None:
    """Sandbox(grates=[...]) with host paths; Process.routes() shows which calls of the live cages
    of the tree go to which grate (the program: fakeid's four id calls, the grate itself: none)."""
    from lind_aot.api import Sandbox
    from lind_aot.vmm.cage import microvisor

    fakeid = build_grate("fakeid")
    ids, sleeper = build_cage(C_DIR / "grate_ids.c"), build_cage(C_DIR / "api_modes.c")
    sb = Sandbox(root=root, grates=[[str(fakeid), "--uid", "5", "--euid", "6"]])
    r = sb.run(ids, timeout=60)
    assert (r.returncode, r.stdout) == (0, b"uid=5 euid=6 gid=0 egid=0\n"), r
    # a spawn's own grates replace the sandbox's (none here)
    r = sb.run(ids, grates=[], timeout=60)
    assert (r.returncode, r.stdout) == (0, b"uid=0 euid=0 gid=0 egid=0\n"), r
    # run_here takes the sandbox's grates too
    r = sb.run_here(ids)
    assert (r.returncode, r.stdout) == (0, b"uid=5 euid=6 gid=0 egid=0\n"), r

    p = sb.spawn(sleeper, ["sleep", "30"])
    try:
        deadline = time.monotonic() + 30
        while True:  # until the grate's child has registered its handlers and become the program
            tables = p.routes()
            if any(t for pid, t in tables.items() if pid != p.pid and len(t) == 4) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert set(tables) >= {p.pid}, tables
        assert tables[p.pid] == {}  # the grate's own calls go to the microvisor
        (program, table), = ((pid, t) for pid, t in tables.items() if pid != p.pid)
        assert set(table) == {"getuid", "geteuid", "getgid", "getegid"}, table
        assert {grate for grate, _ in table.values()} == {p.pid}
    finally:
        p.kill()
    assert p.wait(30) is not None
    microvisor().wait_tree(p.pid)  # (its other cages end just after the root)
    assert p.routes() == {}


def test_stack_errors(root: Path) -> None:
    """A grate that is not a file fails the start like a missing program."""
    ids = build_cage(C_DIR / "grate_ids.c")
    r = run_lind(["run", "--root", str(root), "--grate", str(root / "nope.wasm"), str(ids)])
    assert r.returncode == 127 and "nope.wasm" in err(r), err(r)
