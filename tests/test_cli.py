"""The `lind` command line: errors on bad programs, the AOT cache commands, --cwd and --env."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import C_DIR, build_cage, run_cage, run_lind

from lind_aot.cache.store import HEADER, MAGIC, ArtifactCache
from lind_aot.vmm import engine as eng


def one_line_error(stderr: bytes) -> str:
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def hello() -> Path:
    return build_cage(C_DIR / "args_env_exit.c")


def test_missing_program(root: Path) -> None:
    r = run_lind(["run", "--root", str(root), str(root / "nope.wasm")])
    assert r.returncode != 0
    msg = one_line_error(r.stderr)
    assert "nope.wasm" in msg and "No such file" in msg


def test_not_wasm(root: Path, tmp_path: Path) -> None:
    for name, data in [("text.wasm", b"int main() { return 0; }\n"), ("empty.wasm", b""),
                       ("elf.wasm", b"\x7fELF" + b"\0" * 60)]:
        p = tmp_path / name
        p.write_bytes(data)
        r = run_lind(["run", "--root", str(root), str(p)])
        assert r.returncode != 0
        msg = one_line_error(r.stderr)
        assert name in msg and "not a WebAssembly file" in msg


def test_truncated_wasm(root: Path, tmp_path: Path, hello: Path) -> None:
    p = tmp_path / "trunc.wasm"
    p.write_bytes(hello.read_bytes()[:200])
    r = run_lind(["run", "--root", str(root), str(p)])
    assert r.returncode != 0
    assert "invalid WebAssembly" in one_line_error(r.stderr)


@pytest.mark.skipif(shutil.which("clang-19") is None, reason="clang-19 not installed")
def test_not_a_lind_program(root: Path, tmp_path: Path) -> None:
    src = tmp_path / "plain.c"
    src.write_text("int add(int a, int b) { return a + b; }\n")
    wasm = tmp_path / "plain.wasm"
    subprocess.run(["clang-19", "--target=wasm32", "-nostdlib", "-Wl,--no-entry", "-Wl,--export-all", "-o",
                    str(wasm), str(src)], check=True)
    r = run_lind(["run", "--root", str(root), str(wasm)])
    assert r.returncode != 0
    msg = one_line_error(r.stderr)
    assert "plain.wasm" in msg and "not a lind program" in msg
    r = run_lind(["compile", "--cache", str(tmp_path / "cache"), str(wasm)])
    assert r.returncode != 0
    assert "not a lind program" in one_line_error(r.stderr)


def test_bad_root_and_cwd(root: Path, hello: Path) -> None:
    r = run_lind(["run", "--root", str(root / "missing"), str(hello)])
    assert r.returncode != 0
    assert "root" in one_line_error(r.stderr)
    r = run_lind(["run", "--root", str(root), "--cwd", "/nope", str(hello)])
    assert r.returncode != 0
    assert "--cwd" in one_line_error(r.stderr)
    (root / "file").write_text("x")
    r = run_lind(["run", "--root", str(root), "--cwd", "/file", str(hello)])
    assert r.returncode != 0
    one_line_error(r.stderr)


def test_cwd_and_env(root: Path) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "sub" / "deeper" / "f").write_text("deep file\n")
    wasm = build_cage(C_DIR / "confine.c")
    r = run_cage(wasm, ["cd:.", "cat:deeper/f", "up:5"], root, cwd="/sub")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == ["cd .: CWD /sub", "cat deeper/f: READ deep file", "up 5: CWD /"]
    r = run_cage(wasm, ["cd:."], root, cwd="/sub/../sub/./deeper/")
    assert r.stdout.decode().splitlines() == ["cd .: CWD /sub/deeper"]
    env_wasm = build_cage(C_DIR / "args_env_exit.c")
    r = run_cage(env_wasm, ["return", "4"], root, env={"LIND_A": "x=y", "LIND_EMPTY": "", "HOME": "/home/me"})
    assert r.returncode == 4
    out = r.stdout.decode().splitlines()
    assert "LIND_A=x=y" in out
    assert "LIND_EMPTY=" in out
    assert "LIND_B=(unset)" in out
    assert "HOME=/home/me" in out
    assert "PATH=/bin:/usr/bin" in out
    r = run_lind(["run", "--root", str(root), "--env", "NOEQUALS", str(env_wasm)])
    assert r.returncode != 0
    one_line_error(r.stderr)


def test_wasmtime_environment_variable_is_ignored(root: Path, hello: Path) -> None:
    """WASMTIME_BACKTRACE_DETAILS in the user's environment changes how wasmtime makes engines; the
    cached program must still load (it used to fail: compiled without backtrace details)."""
    r = run_lind(["run", "--root", str(root), str(hello), "x"], env={"WASMTIME_BACKTRACE_DETAILS": "1"})
    assert r.returncode == 0 and b"argc=2" in r.stdout, r


def test_exit_status_passthrough(root: Path, hello: Path) -> None:
    for args, status in [(["exit", "0"], 0), (["exit", "42"], 42), (["abort"], 134)]:
        r = run_lind(["run", "--root", str(root), str(hello), *args])
        assert r.returncode == status, r.stderr


def test_compile_and_cache_commands(tmp_path: Path, root: Path, hello: Path) -> None:
    cache = tmp_path / "cache"
    r = run_lind(["cache", "stats", "--cache", str(cache)])
    assert r.returncode == 0, r.stderr
    assert "entries:   0" in r.stdout.decode()
    r = run_lind(["compile", "--cache", str(cache), str(hello)])
    assert r.returncode == 0, r.stderr
    assert "compiled in" in r.stdout.decode()
    r = run_lind(["compile", "--cache", str(cache), str(hello)])
    assert r.returncode == 0, r.stderr
    assert "cached" in r.stdout.decode()
    r = run_lind(["compile", "--cache", str(cache), str(tmp_path / "missing.wasm")])
    assert r.returncode != 0
    one_line_error(r.stderr)

    sha = hashlib.sha256(hello.read_bytes()).hexdigest()
    r = run_lind(["cache", "ls", "--cache", str(cache)])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith(sha[:16]), lines
    r = run_lind(["run", "--cache", str(cache), "--root", str(root), str(hello), "exit", "5"])
    assert r.returncode == 5, r.stderr
    r = run_lind(["cache", "stats", "--cache", str(cache)])
    out = r.stdout.decode()
    assert "entries:   1" in out
    hits = int(next(line for line in out.splitlines() if line.startswith("hits:")).split()[1])
    assert hits >= 2  # the second compile and the run
    r = run_lind(["cache", "clear", "--cache", str(cache)])
    assert r.returncode == 0 and "removed 1 entries" in r.stdout.decode()
    r = run_lind(["cache", "stats", "--cache", str(cache)])
    assert "entries:   0" in r.stdout.decode()
    r = run_lind(["cache", "ls", "--cache", str(cache)])
    assert r.stdout == b""


def _tamper(cache_dir: Path, key: str, fn: Callable[[bytes], bytes]) -> bytes:
    """Rewrites the raw LMDB value under `key` (as an attacker without the secret could) with fn(value)."""
    c = ArtifactCache(cache_dir)
    try:
        with c._env.begin(db=c._art) as txn:
            raw = bytes(txn.get(key.encode()))
        bad = fn(raw)
        with c._env.begin(write=True) as txn:
            txn.put(key.encode(), bad, db=c._art)
        return bad
    finally:
        c._env.close()


def _flip(raw: bytes) -> bytes:
    b = bytearray(raw)
    for off in (HEADER + 64, HEADER + len(b) // 3, len(b) - 17):
        b[off] ^= 0xFF
    return bytes(b)


@pytest.mark.parametrize(
    "tamper",
    [
        _flip,
        lambda raw: raw[: len(raw) // 2],
        lambda raw: raw[:HEADER],
        lambda raw: b"",
        lambda raw: b"XXXXXXXX" + raw[len(MAGIC):],
        lambda raw: raw[:len(MAGIC)] + bytes(32) + raw[HEADER:],
    ],
    ids=["flipped-artifact", "truncated", "header-only", "empty", "bad-magic", "zero-mac"],
)
def test_corrupted_cache_entry_is_recompiled(
    tmp_path: Path, root: Path, hello: Path, tamper: Callable[[bytes], bytes]
) -> None:
    cache = tmp_path / "cache"
    r = run_lind(["compile", "--cache", str(cache), str(hello)])
    assert r.returncode == 0, r.stderr
    wasm = hello.read_bytes()
    key = ArtifactCache.key_for(wasm, eng.host_target())
    bad = _tamper(cache, key, tamper)

    r = run_lind(["run", "--cache", str(cache), "--root", str(root), str(hello), "exit", "6", "after-tamper"])
    assert r.returncode == 6, r.stderr
    assert b"argv[3]=[after-tamper]" in r.stdout

    c = ArtifactCache(cache)
    try:
        with c._env.begin(db=c._art) as txn:
            now = bytes(txn.get(key.encode()))
        assert now != bad and now.startswith(MAGIC)
        art = c.get(key)
        assert art is not None  # verified again
        assert c.events == []
    finally:
        c._env.close()


def test_tampered_entry_discarded_in_process(tmp_path: Path, hello: Path) -> None:
    cache = tmp_path / "cache"
    wasm = hello.read_bytes()
    c = ArtifactCache(cache)
    key, art, cached = c.compile(wasm, None, "hello")
    assert not cached
    c._env.close()
    _tamper(cache, key, _flip)
    c = ArtifactCache(cache)
    try:
        assert c.get(key) is None
        assert c.events == ["discarded"]
        key2, art2, cached = c.compile(wasm, None, "hello")
        assert key2 == key and not cached and art2 == art
        assert c.compile(wasm, None, "hello")[2] is True
    finally:
        c._env.close()
