"""The `lind` command line."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

NET_POLICIES = {"none": 0, "loopback": 1, "host": 2}

USAGE = """usage: lind <command> [args]

  cc | ar | ranlib          compile C for cages (cc-compatible), archive tools for Makefiles
  run PROG.wasm [ARGS...]   run a program in a cage   (lind run --help)
  batch JOBS.jsonl [-j N]   run many jobs concurrently in one process (lind batch --help)
  compile PROG.wasm...      AOT-compile into the cache
  bench [SUITE...]          benchmarks, natively and in cages; bench/RESULTS.md and bench/ratios.png
  cache stats|ls|clear      inspect or empty the AOT cache (cache verify: check every page and MAC)
  toolchain build           build the sysroot (musl for wasm32) now
"""


def _cache(path: str | None):  # noqa: ANN202 - lazy import keeps `lind cc` start-up small
    from lind_aot.cache.store import ArtifactCache

    return ArtifactCache(Path(path) if path else None)


def _parse_env(items: list[str]) -> dict[str, str]:
    env = {}
    for item in items:
        if "=" not in item:
            raise SystemExit(f"lind run: --env expects K=V, got {item!r}")
        k, v = item.split("=", 1)
        env[k] = v
    return env


def _size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    t = text.strip().upper().removesuffix("B")
    if t and t[-1] in units:
        return int(float(t[:-1]) * units[t[-1]])
    return int(t)


def _seconds(text: str) -> float:
    t = text.strip().lower()
    for suffix, mult in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if t.endswith(suffix) and t[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(t[: -len(suffix)]) * mult
    return float(t)


def cmd_run(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="lind run", description="Run a lind program in a cage.")
    p.add_argument("--root", default=".", help="directory the cage sees as / (default: current directory)")
    p.add_argument("--env", action="append", default=[], metavar="K=V", help="environment variable (repeatable)")
    p.add_argument("--cwd", default="/", help="starting directory inside the root (default /)")
    p.add_argument("--cache", help="AOT cache directory (default $LIND_CACHE or ~/.cache/lind-aot/aot)")
    p.add_argument("--mem", type=_size,
                   help="linear-memory cap per cage, e.g. 256M (default 1G): the memory's maximum, beyond which "
                   "brk/mmap fail with ENOMEM and memory.grow with -1; a program needing more to start is refused")
    p.add_argument("--cpu-time", type=_seconds,
                   help="CPU time of the whole cage tree (all its threads), e.g. 1.5s or 300ms: then it is killed")
    p.add_argument("--wall-time", type=_seconds, help="wall-clock limit, e.g. 10s (the cage tree is killed)")
    p.add_argument("--max-fds", type=int, help="open-file limit per cage (RLIMIT_NOFILE)")
    p.add_argument("--max-cages", type=int, help="live cages of the tree (default 256; fork fails with EAGAIN beyond)")
    p.add_argument("--net", choices=["none", "loopback", "host"], default="loopback",
                   help="network policy: none, loopback (default; wildcard binds become loopback) or host")
    p.add_argument("--grate", action="append", default=[], metavar="'GRATE.wasm [OPTIONS]'",
                   help="run the program below this grate (a host path, with its options in the same argument); "
                        "repeatable, outermost first: the last one is closest to the program and sees its calls "
                        "first")
    p.add_argument("program", help="the .wasm file (a host path)")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the program")
    a = p.parse_args(argv)

    from lind_aot.cache.store import CacheError
    from lind_aot.vmm.cage import CageSpec, Limits, LindError, microvisor

    limits = Limits(mem=a.mem, cpu_time=a.cpu_time, wall_time=a.wall_time, max_fds=a.max_fds,
                    max_cages=a.max_cages)
    try:
        mv = microvisor(_cache(a.cache))
        mv.lib.lind_set_net_policy_default(NET_POLICIES[a.net])
        # Signals to this process kill the tree while its root is loaded (its wasm start function
        # may loop); once the root's pid is known they go to its process group (below).
        mv.lib.lind_forward_signals(0)
        if a.grate:  # (lind_aot/threei/grates.py)
            from lind_aot.threei import grates

            st = grates.stack(a.grate, a.program, a.args)
            top, below = grates.programs(st, mv.load)
            spec = CageSpec(program=st.top, argv=st.argv, env=_parse_env(a.env), root=Path(a.root), cwd=a.cwd,
                            limits=limits, programs=below)
            cage, pid, inst = mv.prepare(spec, top)
        else:
            spec = CageSpec(program=Path(a.program), argv=[a.program, *a.args], env=_parse_env(a.env),
                            root=Path(a.root), cwd=a.cwd, limits=limits)
            cage, pid, inst = mv.prepare(spec)
    except (LindError, CacheError) as e:
        print(f"lind: {e}", file=sys.stderr)
        return 127 if isinstance(e, LindError) and "No such file" in str(e) else 126

    # Terminal and termination signals go to the cage tree's process group, as a shell's
    # foreground job gets them; the cages decide what they do with them. The root cage runs on
    # this thread: with no other thread sharing its fd table, each of its fd calls is cheaper in
    # the kernel (native/base/util.c: start_service_thread).
    mv.lib.lind_forward_signals(pid)
    result = mv.run_prepared(cage, inst)
    # The rest of the tree ended with its root (as in a pid namespace whose init ends): what is
    # left is over within milliseconds.
    mv.wait_tree(pid)
    sys.stdout.flush()
    if result.wall_time_exceeded:
        print(f"lind: cage {result.pid}: wall-time limit ({a.wall_time:g} s) exceeded", file=sys.stderr)
    elif result.verdict == "TIME_LIMIT":
        print(f"lind: cage {result.pid}: {result.message}", file=sys.stderr)
    if result.signal is not None:
        name = signal.Signals(result.signal).name
        detail = f" ({result.trap})" if result.trap else ""
        print(f"lind: cage {result.pid} killed by {name}{detail}", file=sys.stderr)
    return result.status


def cmd_compile(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="lind compile", description="AOT-compile programs into the cache.")
    p.add_argument("programs", nargs="+", help=".wasm files or directories (searched for *.wasm)")
    p.add_argument("--target", choices=["x86_64", "aarch64"], help="code for this architecture (default: host)")
    p.add_argument("--cache", help="AOT cache directory")
    p.add_argument("-j", "--jobs", type=int, help="programs compiled at once (default: CPUs)")
    a = p.parse_args(argv)
    from lind_aot.compile.aot import compile_many, report

    try:
        results = compile_many(a.programs, a.target, a.jobs, _cache(a.cache), progress=sys.stderr.isatty())
    except ValueError as e:  # unsupported --target
        print(f"lind compile: {e}", file=sys.stderr)
        return 1
    return report(results)


def cmd_bench(argv: list[str]) -> int:
    """The benchmark suite lives in the repository, beside the programs it measures: bench/suite.py."""
    import subprocess

    from lind_aot.paths import REPO_ROOT

    suite = REPO_ROOT / "bench" / "suite.py"
    if not suite.exists():
        print(f"lind bench: {suite} is missing (the benchmarks run from a checkout of the repository)",
              file=sys.stderr)
        return 1
    return subprocess.run([sys.executable, str(suite), *argv]).returncode


def cmd_batch(argv: list[str]) -> int:
    from lind_aot.batch import main as batch_main

    return batch_main(argv)


def cmd_cache(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="lind cache", description="Inspect, check or empty the AOT cache.")
    p.add_argument("action", choices=["stats", "ls", "clear", "verify"])
    p.add_argument("--cache", help="AOT cache directory")
    a = p.parse_args(argv)
    from lind_aot.cache.store import CacheError

    try:
        cache = _cache(a.cache)
    except (CacheError, OSError) as e:
        print(f"lind cache: {e}", file=sys.stderr)
        return 1
    if a.action == "verify":  # every page and every MAC; what is bad is discarded or moved aside
        good, problems = cache.verify()
        for line in problems:
            print(line)
        print(f"{good} entries verified" + (f", {len(problems)} problems repaired" if problems else ""))
        return 1 if problems else 0
    entries = cache.entries()
    if a.action == "stats":
        print(f"cache:     {cache.path}")
        print(f"entries:   {len(entries)}")
        print(f"artifacts: {sum(e.size for e in entries) / 1048576:.1f} MiB")
        print(f"on disk:   {cache.disk_bytes() / 1048576:.1f} MiB")
        print(f"hits:      {sum(e.hits for e in entries)}")
        targets = sorted({e.target for e in entries})
        print(f"targets:   {', '.join(targets) or '-'}")
    elif a.action == "ls":
        for e in sorted(entries, key=lambda e: e.created):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.created))
            print(f"{e.wasm_sha256[:16]}  {e.target:8} {e.size / 1024:8.0f} KiB  {e.hits:6} hits  {when}  {e.source}")
    else:
        print(f"removed {cache.clear()} entries")
    return 0


def cmd_toolchain(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="lind toolchain", description="Build the wasm32 sysroot (lind-libc).")
    p.add_argument("action", choices=["build", "path"])
    p.add_argument("--force", action="store_true", help="rebuild even if present")
    a = p.parse_args(argv)
    from lind_aot.compile import sysroot

    if a.action == "path":
        print(sysroot.sysroot_dir())
        return 0
    print(sysroot.build_sysroot(force=a.force))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if args else 2
    cmd, rest = args[0], args[1:]
    if cmd in ("cc", "ar", "ranlib"):
        from lind_aot.compile import cc

        fn = {"cc": cc.main, "ar": cc.ar_main, "ranlib": cc.ranlib_main}[cmd]
        return fn(rest)
    if cmd == "run":
        # Nothing is left to do once the cage tree has ended: skip the interpreter's teardown
        # (garbage-collecting wasmtime objects, joining idle threads), which costs tens of ms.
        try:
            status = cmd_run(rest)
        except KeyboardInterrupt:
            status = 130
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    handlers = {"run": cmd_run, "compile": cmd_compile, "cache": cmd_cache, "toolchain": cmd_toolchain,
                "batch": cmd_batch, "bench": cmd_bench}
    if cmd not in handlers:
        print(f"lind: unknown command {cmd!r}\n{USAGE}", file=sys.stderr, end="")
        return 2
    try:
        return handlers[cmd](rest)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os._exit(141)


if __name__ == "__main__":
    sys.exit(main())
