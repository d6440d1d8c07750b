"""Shared fixtures: build C programs natively (gcc) and for cages (lind cc), run and compare."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
C_DIR = Path(__file__).resolve().parent / "c"
LIND = [sys.executable, "-m", "lind_aot.cli"]
BUILD = REPO / "build" / "tests"
if str(REPO) not in sys.path:  # lind_aot importable wherever pytest is started from
    sys.path.insert(0, str(REPO))


@dataclass
class Run:
    returncode: int
    stdout: bytes
    stderr: bytes


def _newer(out: Path, srcs: list[Path]) -> bool:
    return out.exists() and all(out.stat().st_mtime >= s.stat().st_mtime for s in srcs)


def build_native(src: Path, extra: list[str] | None = None) -> Path:
    out = BUILD / "native" / src.stem
    out.parent.mkdir(parents=True, exist_ok=True)
    if not _newer(out, [src]):
        subprocess.run(["gcc", "-O2", "-o", str(out), str(src), "-lm", *(extra or [])], check=True)
    return out


@functools.cache
def _wasm_dir() -> Path:
    """Cage builds are kept per toolchain: a change of the libc or of lind cc rebuilds every test
    program (the builds of older toolchains go, but for the two most recent)."""
    from lind_aot.compile.sysroot import toolchain_hash
    from lind_aot.paths import prune_versions

    d = BUILD / f"wasm-{toolchain_hash()}"
    prune_versions(d, "wasm-*", keep=3)
    return d


def build_cage(src: Path, extra: list[str] | None = None) -> Path:
    out = _wasm_dir() / (src.stem + ".wasm")
    out.parent.mkdir(parents=True, exist_ok=True)
    if not _newer(out, [src]):
        r = subprocess.run([*LIND, "cc", "-O2", "-o", str(out), str(src), "-lm", *(extra or [])],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError(f"lind cc {src.name} failed:\n{r.stderr}")
    return out


def run_native(exe: Path, args: list[str], cwd: Path, stdin: bytes = b"", env: dict[str, str] | None = None,
               timeout: float = 60) -> Run:
    e = {"PATH": "/bin:/usr/bin", "HOME": "/", **(env or {})}
    p = subprocess.run([str(exe), *args], cwd=cwd, input=stdin, capture_output=True, env=e, timeout=timeout)
    return Run(p.returncode if p.returncode >= 0 else 128 - p.returncode, p.stdout, p.stderr)


def run_cage(wasm: Path, args: list[str], root: Path, stdin: bytes = b"", env: dict[str, str] | None = None,
             timeout: float = 60, cwd: str = "/", argv0: str | None = None) -> Run:
    cmd = [*LIND, "run", "--root", str(root), "--cwd", cwd]
    for k, v in (env or {}).items():
        cmd += ["--env", f"{k}={v}"]
    cmd += [str(wasm), *args]
    p = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout, cwd=REPO)
    return Run(p.returncode, p.stdout, p.stderr)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    d = tmp_path / "root"
    d.mkdir()
    return d


Setup = Callable[[Path], None]


def compare(name: str, root_dir: Path, args: list[str] | None = None, stdin: bytes = b"",
            setup: Setup | None = None, env: dict[str, str] | None = None,
            differs: Callable[[str], str] | None = None) -> tuple[Run, Run]:
    """Builds tests/c/<name>.c both ways, runs each in a fresh copy of the same directory, and
    asserts equal stdout and exit status. `setup(dir)` populates the directory first. `differs`
    maps the native stdout to the cage's where the sandbox differs from Linux on purpose."""
    return compare_split(name, root_dir, args or [], args or [], setup, env, env, stdin, differs=differs)


def compare_split(name: str, root_dir: Path, native_args: list[str], cage_args: list[str], setup: Setup | None = None,
                  native_env: dict[str, str] | None = None, cage_env: dict[str, str] | None = None,
                  stdin: bytes = b"", timeout: float = 60,
                  differs: Callable[[str], str] | None = None) -> tuple[Run, Run]:
    """compare() for runs that must name host paths differently (an absolute path inside the root
    is not the same string natively): @DIR@ in a native argument becomes the native directory."""
    src = C_DIR / f"{name}.c"
    native, wasm = build_native(src), build_cage(src)
    nd, cd = root_dir / "native", root_dir / "cage"
    for d in (nd, cd):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir()
        if setup:
            setup(d)
    n = run_native(native, [a.replace("@DIR@", str(nd)) for a in native_args], nd, stdin, native_env, timeout)
    c = run_cage(wasm, cage_args, cd, stdin, cage_env, timeout)
    expected = n.stdout.decode(errors="replace")
    assert c.stdout.decode(errors="replace") == (differs(expected) if differs else expected), f"stderr: {c.stderr!r}"
    assert c.returncode == n.returncode, f"cage stderr: {c.stderr!r}"
    return n, c




def run_lind(args: list[str], stdin: bytes = b"", timeout: float = 120, env: dict[str, str] | None = None) -> Run:
    """Runs the `lind` command line with `args` (from the repository, like run_cage)."""
    e = {**os.environ, **(env or {})}
    p = subprocess.run([*LIND, *args], input=stdin, capture_output=True, timeout=timeout, cwd=REPO, env=e)
    return Run(p.returncode, p.stdout, p.stderr)
