"""Build real C code bases for cages: Lua 5.4, SQLite 3 (shell) and BusyBox, from Debian's sources.

Each program is built twice from the same upstream tree (``fetch_debian_source``): for cages with
``lind cc`` through the program's own build system, and natively with gcc for comparison.  Nothing
is built inside the repository's sources or the unpacked source cache: work trees live under
``build/real/<name>/work-*``, and the results are

    build/real/<name>/<name>.wasm       the cage program (also AOT-compiled into the cache)
    build/real/<name>/native/<name>     the same program built with gcc
    build/real/busybox/busybox.links    BusyBox's applet list (one /bin/... path a line)

A build is redone only when its key changes: the upstream source version, the recipe below
(``RECIPES``) and, for cage builds, ``toolchain_hash()`` (the libc and lind cc), for native ones gcc's
version.

Workarounds that live only here (the driver or libc lack them; see the report in the lead's notes):

* BusyBox partially links each directory with ``$(LD) -nostdlib -r``; ``lind cc`` has no ``-r``,
  so ``LD`` is a wrapper calling ``wasm-ld-19 -r`` directly (dropping ``-nostdlib``).
* BusyBox's final link passes ``-Wl,--start-group``/``--end-group``/``--sort-common``, which
  wasm-ld 19 rejects; a ``CC`` wrapper drops them (wasm-ld searches archives repeatedly anyway).
* SQLite's Debian orig tarball is the canonical tree, not the amalgamation: ``sqlite3.c`` and
  ``shell.c`` are generated natively with its configure + make (needs ``tclsh``, Debian ``tcl``).

Usage: ``python tests/realbuild.py [--native-only|--cage-only] [lua sqlite3 busybox]`` (``make
real-programs``). Used by tests/test_real_programs.py and bench/realprog.py.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

if __name__ == "__main__":  # run as a script (make real-programs): this checkout's lind_aot
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lind_aot import paths  # noqa: E402
from lind_aot.compile.fetch import FetchError, fetch_debian_source  # noqa: E402

REAL_DIR = paths.REPO_ROOT / "build" / "real"
NAMES = ("lua", "sqlite3", "busybox")
PACKAGES = {"lua": "lua5.4", "sqlite3": "sqlite3", "busybox": "busybox"}
JOBS = str(max(1, min(os.cpu_count() or 1, 8)))

# SQLite compile-time options, the same for the cage and the native build.
SQLITE_DEFS = [
    "-DSQLITE_THREADSAFE=1",
    "-DSQLITE_OMIT_LOAD_EXTENSION",
    "-DHAVE_USLEEP=1",
    "-DSQLITE_DQS=0",
    "-DSQLITE_ENABLE_FTS5",
    "-DSQLITE_ENABLE_MATH_FUNCTIONS",
]

# BusyBox: start from allnoconfig and switch on ash and the applets below (``make oldconfig``
# resolves their dependencies).  Everything else stays off: nothing needing raw sockets, mount,
# kernel modules, ptrace, utmp or a tty.
BUSYBOX_CONFIG = """
BUSYBOX FEATURE_INSTALLER LFS SHOW_USAGE FEATURE_VERBOSE_USAGE LONG_OPTS FLOAT_DURATION
ASH SH_IS_ASH BASH_IS_NONE ASH_BASH_COMPAT ASH_ALIAS ASH_ECHO ASH_PRINTF ASH_TEST ASH_GETOPTS
ASH_CMDCMD ASH_INTERNAL_GLOB FEATURE_SH_MATH FEATURE_SH_MATH_64 FEATURE_SH_EXTRA_QUIET
CAT CP FEATURE_CP_LONG_OPTIONS LS FEATURE_LS_FILETYPES FEATURE_LS_FOLLOWLINKS FEATURE_LS_RECURSIVE
FEATURE_LS_WIDTH FEATURE_LS_SORTFILES FEATURE_LS_TIMESTAMPS FEATURE_LS_USERNAME MKDIR MV RM RMDIR
SLEEP FEATURE_FANCY_SLEEP SORT FEATURE_SORT_BIG WC SED
FIND FEATURE_FIND_PRINT0 FEATURE_FIND_MTIME FEATURE_FIND_TYPE FEATURE_FIND_NOT FEATURE_FIND_MAXDEPTH
FEATURE_FIND_NEWER FEATURE_FIND_SIZE FEATURE_FIND_EXEC FEATURE_FIND_EXEC_PLUS FEATURE_FIND_PATH
FEATURE_FIND_REGEX FEATURE_FIND_PAREN FEATURE_FIND_DEPTH FEATURE_FIND_DELETE
GREP EGREP FGREP FEATURE_GREP_CONTEXT
XARGS FEATURE_XARGS_SUPPORT_CONFIRMATION FEATURE_XARGS_SUPPORT_QUOTES FEATURE_XARGS_SUPPORT_TERMOPT
FEATURE_XARGS_SUPPORT_ZERO_TERM FEATURE_XARGS_SUPPORT_ARGS_FILE
KILL ECHO FEATURE_FANCY_ECHO PRINTF TEST TEST1 TEST2 FEATURE_TEST_64 TRUE FALSE
HEAD FEATURE_FANCY_HEAD TAIL FEATURE_FANCY_TAIL TR FEATURE_TR_CLASSES CUT UNIQ SEQ ENV PWD TOUCH LN
BASENAME DIRNAME EXPR EXPR_MATH_SUPPORT_64 YES TEE CHMOD STAT DU UNAME ID DATE MKTEMP READLINK
REALPATH SHA256SUM MD5SUM CMP DIFF AWK FEATURE_AWK_LIBM TIMEOUT NPROC
""".split()

# Bump a recipe's number when its build steps change in a way the key would not notice.
RECIPES = {"lua": "1", "sqlite3": "1:" + " ".join(SQLITE_DEFS), "busybox": "1:" + " ".join(BUSYBOX_CONFIG)}


# The CPU-heavy Lua benchmark (bench/realprog.py, and small in tests/test_real_programs.py):
# `lua bench.lua ROUNDS` prints a checksum; the seconds spent (os.clock) go to stderr.
LUA_BENCH = r"""
local N = tonumber(arg and arg[1]) or 1
local t0 = os.clock()
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local acc = 0
for _ = 1, N do
  acc = acc + fib(24)
  local t = {}
  for i = 1, 20000 do t[i] = (i * 7919) % 10007 end
  table.sort(t, function(a, b) return a > b end)
  acc = acc + t[1000]
  local parts = {}
  for i = 1, 2000 do parts[#parts + 1] = string.format("%d:%x", i, i * i) end
  local s = table.concat(parts, ",")
  acc = acc + #s
  for w in s:gmatch("%d+:") do acc = acc + #w end
  local x = 0.0
  for i = 1, 20000 do x = x + math.sin(i) * math.sqrt(i) end
  acc = acc + math.floor(x)
  local h = {}
  for i = 1, 20000 do local k = "k" .. (i % 997) h[k] = (h[k] or 0) + i end
  for _, v in pairs(h) do acc = acc + v % 7 end
end
print(acc)
io.stderr:write(string.format("%.6f\n", os.clock() - t0))
"""


class BuildError(RuntimeError):
    """A build step failed; the message names the command and ends with its output's tail."""


@dataclass(frozen=True)
class Built:
    name: str
    wasm: Path | None
    native: Path | None


# ---------------------------------------------------------------------------------------- helpers


def _run(cmd: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> None:
    with open(log, "a") as f:
        f.write(f"\n$ (cd {cwd} && {' '.join(cmd)})\n")
        f.flush()
        proc = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, env=env, check=False)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise BuildError(f"exit {proc.returncode}: {' '.join(cmd)} (in {cwd}; full log {log})\n{tail}")


@cache
def _gcc_version() -> str:
    return subprocess.run(["gcc", "-dumpfullversion"], capture_output=True, text=True, check=True).stdout.strip()


def _toolchain_key() -> str:
    from lind_aot.compile.sysroot import toolchain_hash

    return toolchain_hash()


def _key(name: str, source: Path, flavour: str) -> str:
    what = "\0".join((name, source.name, RECIPES[name], flavour))
    return hashlib.sha256(what.encode()).hexdigest()[:16]


@contextmanager
def _locked(name: str) -> Iterator[None]:
    """One builder per program at a time (parallel pytest workers, a test and `make`)."""
    d = REAL_DIR / name
    d.mkdir(parents=True, exist_ok=True)
    with open(d / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _tool_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(paths.REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("LC_ALL", "C")
    return env


def _write_tools(bindir: Path) -> dict[str, str]:
    """Shell wrappers for the lind tools (Makefiles want one word per tool) and their workarounds."""
    bindir.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    scripts = {
        "lind-cc": (
            "# wasm-ld 19 rejects --start-group/--end-group/--sort-common (it searches archives repeatedly)\n"
            'for a in "$@"; do case "$a" in\n'
            "  -Wl,--start-group|-Wl,--end-group|-Wl,--sort-common) ;;\n"
            '  *) set -- "$@" "$a";;\n'
            "esac; shift; done\n"
            f'exec "{py}" -m lind_aot.cli cc "$@"\n'
        ),
        "lind-ar": f'exec "{py}" -m lind_aot.cli ar "$@"\n',
        "lind-ranlib": f'exec "{py}" -m lind_aot.cli ranlib "$@"\n',
        "lind-ld": (
            "# partial links (ld -r): lind cc has no -r, wasm-ld does; it has no -nostdlib\n"
            'for a in "$@"; do case "$a" in -nostdlib) ;; *) set -- "$@" "$a";; esac; shift; done\n'
            'exec wasm-ld-19 "$@"\n'
        ),
    }
    out = {}
    for name, body in scripts.items():
        p = bindir / name
        p.write_text("#!/bin/sh\n" + body)
        p.chmod(0o755)
        out[name] = str(p)
    return out


def aot_compile(wasm: Path, log: Path) -> None:
    """Precompile into the AOT cache, so the first `lind run` is not a Cranelift compile."""
    _run([sys.executable, "-m", "lind_aot.cli", "compile", str(wasm)], wasm.parent, log, _tool_env())


def _build(
    name: str, flavour: str, out: Path, build: Callable[[Path, Path, Path], None], key_extra: str
) -> Path:
    """Run `build(source, workdir, log)` unless `out` is up to date for its key; returns `out`."""
    source = fetch_debian_source(PACKAGES[name])
    key = _key(name, source, key_extra)
    stamp = out.parent / f".{out.name}.key"
    if out.exists() and stamp.exists() and stamp.read_text().strip() == key:
        return out
    work = _fresh_dir(REAL_DIR / name / f"work-{flavour}")
    log = REAL_DIR / name / f"build-{flavour}.log"
    log.write_text(f"# {name} ({flavour}) from {source}, key {key}\n")
    stamp.unlink(missing_ok=True)
    build(source, work, log)
    stamp.write_text(key + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return out


# ------------------------------------------------------------------------------------------- Lua


def _lua(cage: bool) -> Callable[[Path, Path, Path], None]:
    def build(source: Path, work: Path, log: Path) -> None:
        tree = work / "lua"
        shutil.copytree(source, tree)  # Lua's Makefile builds in its tree
        if cage:
            tools = _write_tools(work / "bin")
            make_vars = [f"CC={tools['lind-cc']}", f"AR={tools['lind-ar']} rcu", f"RANLIB={tools['lind-ranlib']}"]
        else:
            make_vars = ["CC=gcc"]
        _run(["make", "-j", JOBS, "-C", "src", *make_vars, "linux-noreadline"], tree, log, _tool_env())
        dest = REAL_DIR / "lua" / ("lua.wasm" if cage else "native/lua")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tree / "src" / "lua", dest)
        dest.chmod(0o755)
        if cage:
            aot_compile(dest, log)

    return build


# ---------------------------------------------------------------------------------------- SQLite


def _sqlite_amalgamation(source: Path, work: Path, log: Path) -> Path:
    """Generate sqlite3.c/shell.c/sqlite3.h with SQLite's own configure + make (native, needs tclsh)."""
    if not (shutil.which("tclsh") or shutil.which("tclsh8.6")):
        raise BuildError("generating the SQLite amalgamation needs tclsh (Debian package tcl)")
    gen = work / "gen"
    gen.mkdir()
    _run([str(source / "configure"), "--disable-tcl", "--disable-readline"], gen, log)
    _run(["make", "sqlite3.c", "shell.c", "sqlite3.h"], gen, log)
    return gen


def _sqlite(cage: bool) -> Callable[[Path, Path, Path], None]:
    def build(source: Path, work: Path, log: Path) -> None:
        gen = _sqlite_amalgamation(source, work, log)
        if cage:
            cc = [_write_tools(work / "bin")["lind-cc"]]
        else:
            cc = ["gcc"]
        flags = ["-O2", *SQLITE_DEFS, f"-I{gen}"]
        env = _tool_env()
        # the two big translation units in parallel
        with ThreadPoolExecutor(2) as pool:
            jobs = [
                pool.submit(_run, [*cc, *flags, "-c", "-o", f"{unit}.o", f"{unit}.c"], gen, gen / f"{unit}.log", env)
                for unit in ("sqlite3", "shell")
            ]
            try:
                for j in jobs:
                    j.result()
            finally:
                for unit in ("sqlite3", "shell"):
                    if (gen / f"{unit}.log").exists():
                        with open(log, "a") as f:
                            f.write((gen / f"{unit}.log").read_text(errors="replace"))
        libs = ["-lm", "-lpthread"] + ([] if cage else ["-ldl"])
        _run([*cc, "-O2", "-o", "sqlite3", "shell.o", "sqlite3.o", *libs], gen, log, env)
        dest = REAL_DIR / "sqlite3" / ("sqlite3.wasm" if cage else "native/sqlite3")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(gen / "sqlite3", dest)
        dest.chmod(0o755)
        if cage:
            aot_compile(dest, log)

    return build


# --------------------------------------------------------------------------------------- BusyBox


def _busybox_config(source: Path, objdir: Path, log: Path, make_vars: list[str]) -> None:
    _run(["make", "-C", str(source), f"O={objdir}", *make_vars, "allnoconfig"], objdir, log)
    cfg = objdir / ".config"
    lines = cfg.read_text().splitlines()
    wanted = set(BUSYBOX_CONFIG)
    seen: set[str] = set()
    for i, line in enumerate(lines):
        for opt in wanted:
            if line == f"# CONFIG_{opt} is not set":
                lines[i] = f"CONFIG_{opt}=y"
                seen.add(opt)
            elif line == f"CONFIG_{opt}=y":
                seen.add(opt)
    missing = wanted - seen
    if missing:
        raise BuildError(f"BusyBox config options not found: {' '.join(sorted(missing))}")
    cfg.write_text("\n".join(lines) + "\n")
    yes = subprocess.Popen(["yes", ""], stdout=subprocess.PIPE)
    try:
        with open(log, "a") as f:
            proc = subprocess.run(["make", *make_vars, "oldconfig"], cwd=objdir, stdin=yes.stdout, stdout=f,
                                  stderr=subprocess.STDOUT, check=False)
    finally:
        yes.kill()
        yes.wait()
    if proc.returncode != 0:
        raise BuildError(f"busybox make oldconfig failed (log {log})")
    text = cfg.read_text()
    lost = [o for o in BUSYBOX_CONFIG if f"CONFIG_{o}=y" not in text]
    if lost:
        raise BuildError(f"BusyBox oldconfig dropped: {' '.join(lost)}")


def _busybox(cage: bool) -> Callable[[Path, Path, Path], None]:
    def build(source: Path, work: Path, log: Path) -> None:
        objdir = work / "obj"
        objdir.mkdir()
        if cage:
            tools = _write_tools(work / "bin")
            make_vars = [f"CC={tools['lind-cc']}", f"AR={tools['lind-ar']}", f"LD={tools['lind-ld']}"]
        else:
            make_vars = ["CC=gcc"]
        make_vars += ["HOSTCC=gcc", "SKIP_STRIP=y"]
        _busybox_config(source, objdir, log, make_vars)
        _run(["make", "-j", JOBS, *make_vars, "busybox", "busybox.links"], objdir, log, _tool_env())
        dest = REAL_DIR / "busybox" / ("busybox.wasm" if cage else "native/busybox")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(objdir / "busybox", dest)
        dest.chmod(0o755)
        shutil.copyfile(objdir / "busybox.links", dest.parent / "busybox.links")
        if cage:
            aot_compile(dest, log)

    return build


def busybox_applets(links: Path | None = None) -> list[str]:
    """Applet names of the built BusyBox (from its busybox.links)."""
    links = links or REAL_DIR / "busybox" / "busybox.links"
    return sorted({Path(line.strip()).name for line in links.read_text().splitlines() if line.strip()})


def install_busybox(root: Path, busybox: Path, links: Path | None = None) -> list[str]:
    """Install `busybox` as ROOT/bin/busybox with a symlink ROOT/bin/<applet> -> busybox for each
    applet (sh included); returns the applet names."""
    bindir = root / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    target = bindir / "busybox"
    shutil.copyfile(busybox, target)
    target.chmod(0o755)
    applets = busybox_applets(links)
    for a in applets:
        link = bindir / a
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to("busybox")
    return applets


# ------------------------------------------------------------------------------------------ API

_RECIPE_FUNCS: dict[str, Callable[[bool], Callable[[Path, Path, Path], None]]] = {
    "lua": _lua,
    "sqlite3": _sqlite,
    "busybox": _busybox,
}


def build_cage(name: str) -> Path:
    """Build (or reuse) build/real/<name>/<name>.wasm; raises BuildError on failure."""
    out = REAL_DIR / name / f"{name}.wasm"
    with _locked(name):
        return _build(name, "wasm", out, _RECIPE_FUNCS[name](True), "wasm:" + _toolchain_key())


def build_native(name: str) -> Path:
    """Build (or reuse) build/real/<name>/native/<name> with gcc."""
    out = REAL_DIR / name / "native" / name
    with _locked(name):
        return _build(name, "native", out, _RECIPE_FUNCS[name](False), "gcc:" + _gcc_version())


def build(name: str, cage: bool = True, native: bool = True) -> Built:
    return Built(name, build_cage(name) if cage else None, build_native(name) if native else None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="realbuild", description="build Lua, SQLite and BusyBox for cages and natively")
    ap.add_argument("names", nargs="*", metavar="NAME", help=f"programs to build (default: all of {', '.join(NAMES)})")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--cage-only", action="store_true", help="skip the native (gcc) builds")
    g.add_argument("--native-only", action="store_true", help="skip the cage builds")
    args = ap.parse_args(argv)
    names = args.names or list(NAMES)
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        ap.error(f"unknown program(s): {' '.join(unknown)} (choose from {', '.join(NAMES)})")
    status = 0
    for name in names:
        try:
            b = build(name, cage=not args.native_only, native=not args.cage_only)
        except (BuildError, FetchError, OSError) as e:
            print(f"realprog: {name}: build failed: {e}", file=sys.stderr)
            status = 1
            continue
        for p in (b.wasm, b.native):
            if p is not None:
                print(f"{name}: {p.relative_to(paths.REPO_ROOT) if p.is_relative_to(paths.REPO_ROOT) else p}")
    return status


if __name__ == "__main__":
    sys.exit(main())
