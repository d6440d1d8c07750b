"""Build the lind wasm32 sysroot: musl 1.2.3 + our overlay (libc/) compiled with clang-19.

Layout of a built sysroot (``sysroot_dir()``)::

    include/                musl's public headers for wasm32, plus lind_syscall.h
    lib/libc.a              all of musl's C sources for the arch (libm included)
    lib/crt1.o              _start (libc/crt/crt1.c)
    lib/lib{m,pthread,...}.a    empty, as with musl, so -lm -lpthread work
    lib/libclang_rt.builtins-wasm32.a   compiler-rt builtins (long double, 64-bit helpers)
    .complete               stamp, written last: a sysroot without it is never used

The build mirrors musl's Makefile (same source selection rule: ``src/X/wasm32/foo.c`` replaces
``src/X/foo.c``; same include order and C99 freestanding flags), but compiles the file list itself
with a thread pool, so it needs neither musl's configure nor GNU make.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

from lind_aot import paths
from lind_aot.compile.fetch import fetch_debian_source

MUSL_VERSION = "1.2.3"
ARCH = "wasm32"

CLANG = "clang-19"
LLVM_AR = "llvm-ar-19"
LLVM_RANLIB = "llvm-ranlib-19"
BUILTINS_NAME = "libclang_rt.builtins-wasm32.a"
BUILTINS_SYSTEM = Path("/usr/lib/llvm-19/lib/clang/19/lib/wasi") / BUILTINS_NAME

# Target and code-generation flags shared by libc and user code.  -mcpu=mvp plus the features
# binaryen 108 understands (not clang's generic cpu: its reference-types/multivalue output cannot be
# read by wasm-opt 108).  Atomics: threads of a cage share one (imported, shared) memory.
TARGET_FLAGS = [
    "--target=wasm32-unknown-unknown",
    "-mcpu=mvp",
    "-mmutable-globals",
    "-msign-ext",
    "-mbulk-memory",
    "-mnontrapping-fptoint",
    "-matomics",
]
OPT_FLAGS = ["-O2"]

# musl's CFLAGS_C99FSE + CFLAGS_AUTO as its configure picks them for clang.
MUSL_CFLAGS = [
    "-std=c99",
    "-nostdinc",
    "-ffreestanding",
    "-fno-builtin",
    "-ffunction-sections",
    "-fdata-sections",
    "-w",
    "-Wno-pointer-to-int-cast",
    "-Werror=implicit-function-declaration",
    "-Werror=implicit-int",
    "-Werror=pointer-sign",
    "-Werror=pointer-arith",
    "-Werror=int-conversion",
    "-Werror=incompatible-pointer-types",
    "-Qunused-arguments",
    "-D_XOPEN_SOURCE=700",
]

# What is not built, and why (paths relative to the musl tree):
#   ldso/ (the dynamic linker) and crt/ (ELF start files, asm) are never part of libc.a; crt1.o comes
#   from libc/crt/crt1.c.  No Scrt1/rcrt1/crti/crtn, no libc.so: cages are static wasm modules.
#   setjmp/longjmp/sigsetjmp are C files of libc/src/{setjmp,signal}/wasm32/ that ask the host,
#   which implements them with Asyncify (native/setjmp.c); sigsetjmp_tail.c (asm helper) is unused.
#   Every other musl C source is built; the asm-only or wasm-specific pieces are replaced by the C
#   files of libc/src/*/wasm32/ (thread pointer, TLS setup, cancellation syscall, __unmapself, lseek,
#   sysinfo, wait4, get/setitimer, syscall(), posix_spawn via fork, memcpy/memset/memmove with bulk
#   memory, math functions that are single wasm instructions, __clone and __lind_thread_start for
#   threads run by the host in instances that share the memory).
EXCLUDED_SOURCES: dict[str, str] = {
    "src/signal/sigsetjmp_tail.c": "helper of musl's asm sigsetjmp; ours is C",
}

# Textual edits to musl files (path, old, new), applied to the merged tree; each must match exactly once.
MUSL_PATCHES: list[tuple[str, str, str]] = [
    # struct epoll_event is packed on x86-64 (12 bytes); keep the kernel's layout so the host copies it.
    (
        "include/sys/epoll.h",
        "#ifdef __x86_64__\n__attribute__ ((__packed__))",
        "#if defined(__x86_64__) || defined(__wasm32__)\n__attribute__ ((__packed__))",
    ),
    # clang's wasm32 intptr_t is long (arch/wasm32 sets _Addr to long to match __INTPTR_TYPE__),
    # so the PRI*PTR/SCN*PTR length modifier is "l", as on 64-bit targets.
    ("include/inttypes.h", '#define __PRIPTR ""', '#define __PRIPTR "l"'),
]

EMPTY_LIBS = ["m", "rt", "pthread", "crypt", "util", "xnet", "resolv", "dl"]

STAMP = ".complete"


def overlay_dir() -> Path:
    return paths.LIBC_OVERLAY


def _iter_overlay_files() -> Iterator[Path]:
    for p in sorted(overlay_dir().rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            yield p


@cache
def clang_version() -> str:
    try:
        out = subprocess.run([CLANG, "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise RuntimeError(f"{CLANG} is required to build the lind sysroot: {e}") from e
    return out.splitlines()[0].strip()


def sysroot_hash() -> str:
    """Short hash of everything that determines the sysroot's content."""
    h = hashlib.sha256()
    h.update(f"musl-{MUSL_VERSION}\0{clang_version()}\0".encode())
    config = [TARGET_FLAGS, OPT_FLAGS, MUSL_CFLAGS, sorted(EXCLUDED_SOURCES), MUSL_PATCHES]
    h.update(json.dumps(config).encode())
    h.update(Path(__file__).read_bytes())
    for p in _iter_overlay_files():
        h.update(str(p.relative_to(overlay_dir())).encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def toolchain_hash() -> str:
    """sysroot_hash() plus lind cc's driver and post-pass, on which a built program depends too: the
    key of the builds of test and real programs."""
    h = hashlib.sha256(sysroot_hash().encode())
    for name in ("cc.py", "unwind_scope.py"):
        h.update((Path(__file__).parent / name).read_bytes())
    return h.hexdigest()[:16]


def sysroot_dir() -> Path:
    return paths.sysroot_base() / sysroot_hash()


def is_built(root: Path | None = None) -> bool:
    return ((root or sysroot_dir()) / STAMP).is_file()


def musl_source() -> Path:
    """The pristine musl tree: $LIND_MUSL_SRC if set, else Debian's musl source package."""
    env = os.environ.get("LIND_MUSL_SRC")
    src = Path(env) if env else fetch_debian_source("musl", MUSL_VERSION)
    version = (src / "VERSION").read_text().strip() if (src / "VERSION").exists() else "?"
    if version != MUSL_VERSION:
        raise RuntimeError(f"{src} holds musl {version}, expected {MUSL_VERSION}")
    return src


# ---------------------------------------------------------------------------------------------------
# build steps


def _merge_tree(musl: Path, tree: Path) -> None:
    """musl's src/include/tools + arch/generic, with the overlay copied on top."""
    for sub in ("src", "include", "tools"):
        shutil.copytree(musl / sub, tree / sub)
    shutil.copytree(musl / "arch" / "generic", tree / "arch" / "generic")
    shutil.copy2(musl / "VERSION", tree / "VERSION")
    for p in _iter_overlay_files():
        dst = tree / p.relative_to(overlay_dir())
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, dst)
    for rel, old, new in MUSL_PATCHES:
        f = tree / rel
        text = f.read_text()
        if text.count(old) != 1:
            raise RuntimeError(f"musl patch does not apply to {rel}: {old!r}")
        f.write_text(text.replace(old, new))


def _generate_headers(tree: Path) -> None:
    """obj/include/bits/{alltypes,syscall}.h and obj/src/internal/version.h, as musl's Makefile."""
    bits = tree / "obj" / "include" / "bits"
    bits.mkdir(parents=True)
    arch_bits = tree / "arch" / ARCH / "bits"
    alltypes = subprocess.run(
        [
            "sed",
            "-f",
            str(tree / "tools" / "mkalltypes.sed"),
            str(arch_bits / "alltypes.h.in"),
            str(tree / "include" / "alltypes.h.in"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (bits / "alltypes.h").write_text(alltypes)
    sc = (arch_bits / "syscall.h.in").read_text()
    sys_lines = [ln.replace("__NR_", "SYS_", 1) for ln in sc.splitlines() if "__NR_" in ln]
    (bits / "syscall.h").write_text(sc + "\n".join(sys_lines) + "\n")
    internal = tree / "obj" / "src" / "internal"
    internal.mkdir(parents=True)
    (internal / "version.h").write_text(f'#define VERSION "{MUSL_VERSION}"\n')


def _libc_sources(tree: Path) -> list[Path]:
    """musl's rule: the files of src/*/ and src/malloc/mallocng/, where src/X/wasm32/foo.c replaces
    src/X/foo.c."""
    dirs = sorted(d for d in (tree / "src").iterdir() if d.is_dir())
    dirs.append(tree / "src" / "malloc" / "mallocng")
    chosen: list[Path] = []
    for d in dirs:
        base = {p.name: p for p in d.glob("*.c")}
        arch_dir = d / ARCH
        if arch_dir.is_dir():
            if any(arch_dir.glob("*.[sS]")):
                raise RuntimeError(f"assembly in {arch_dir} is not supported")
            for p in arch_dir.glob("*.c"):
                base[p.name] = p
        chosen.extend(base[n] for n in sorted(base))
    return [p for p in chosen if str(p.relative_to(tree)) not in EXCLUDED_SOURCES]


def cflags_for_libc(tree: Path) -> list[str]:
    inc = [
        tree / "arch" / ARCH,
        tree / "arch" / "generic",
        tree / "obj" / "src" / "internal",
        tree / "src" / "include",
        tree / "src" / "internal",
        tree / "obj" / "include",
        tree / "include",
    ]
    return [*TARGET_FLAGS, *OPT_FLAGS, *MUSL_CFLAGS, *(f"-I{d}" for d in inc)]


def _compile(src: Path, obj: Path, flags: list[str]) -> str | None:
    """Compile one file; return an error text or None."""
    cmd = [CLANG, *flags, "-c", str(src), "-o", str(obj)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return f"$ {' '.join(cmd)}\n{proc.stderr.strip()}"
    return None


def _object_name(tree: Path, src: Path) -> str:
    # Unique names: src/malloc/free.c and src/malloc/mallocng/free.c would clash in the archive.
    rel = src.relative_to(tree / "src").with_suffix("")
    return "_".join(p for p in rel.parts if p != ARCH) + ".o"


def _install_headers(tree: Path, inc: Path) -> None:
    shutil.copytree(tree / "include", inc, ignore=shutil.ignore_patterns("alltypes.h.in"))
    bits = inc / "bits"
    bits.mkdir(exist_ok=True)
    # Same precedence as musl's install: generated > arch > generic.
    for d in (tree / "arch" / "generic", tree / "arch" / ARCH, tree / "obj" / "include"):
        for p in (d / "bits").glob("*.h"):
            shutil.copy2(p, bits / p.name)
    shutil.copy2(overlay_dir() / "include" / "lind_syscall.h", inc / "lind_syscall.h")


def _archive(lib: Path, objs: list[Path], workdir: Path) -> None:
    rsp = workdir / "objs.rsp"
    rsp.write_text("\n".join(str(o) for o in objs) + "\n")
    subprocess.run([LLVM_AR, "rcD", str(lib), f"@{rsp}"], check=True)
    subprocess.run([LLVM_RANLIB, str(lib)], check=True)


def _build_into(root: Path, jobs: int, log: bool) -> None:
    musl = musl_source()
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=root.parent))
    try:
        tree = work / "musl"
        _merge_tree(musl, tree)
        _generate_headers(tree)
        objdir = work / "obj"
        objdir.mkdir()
        flags = cflags_for_libc(tree)
        srcs = _libc_sources(tree)
        objs = [objdir / _object_name(tree, s) for s in srcs]
        if len(set(objs)) != len(objs):
            raise RuntimeError("object name clash in libc sources")
        crt_src = tree / "crt" / "crt1.c"
        crt_obj = objdir / "crt1.o"
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(_compile, s, o, flags) for s, o in zip(srcs, objs, strict=True)]
            futures.append(pool.submit(_compile, crt_src, crt_obj, [*flags, "-DCRT"]))
            errors = [e for f in futures if (e := f.result()) is not None]
        if errors:
            shown = "\n\n".join(errors[:10])
            raise RuntimeError(f"{len(errors)} libc file(s) failed to compile:\n{shown}")
        if log:
            print(f"lind: compiled {len(srcs) + 1} files in {time.monotonic() - t0:.1f}s", file=sys.stderr)

        if root.exists():
            shutil.rmtree(root)
        lib = root / "lib"
        lib.mkdir(parents=True)
        _install_headers(tree, root / "include")
        _archive(lib / "libc.a", objs, work)
        shutil.copy2(crt_obj, lib / "crt1.o")
        for name in EMPTY_LIBS:
            subprocess.run([LLVM_AR, "rc", str(lib / f"lib{name}.a")], check=True)
        if not BUILTINS_SYSTEM.is_file():
            raise RuntimeError(
                f"compiler-rt builtins for wasm32 missing: {BUILTINS_SYSTEM} "
                "(install libclang-rt-19-dev-wasm32)"
            )
        shutil.copy2(BUILTINS_SYSTEM, lib / BUILTINS_NAME)
        stamp = {
            "musl": MUSL_VERSION,
            "clang": clang_version(),
            "target_flags": TARGET_FLAGS,
            "opt_flags": OPT_FLAGS,
            "sources": len(srcs),
            "built": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        (root / STAMP).write_text(json.dumps(stamp, indent=1) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def build_sysroot(force: bool = False, jobs: int | None = None, log: bool = True) -> Path:
    """Build the sysroot if it is missing (or always with force); return its directory."""
    root = sysroot_dir()
    if not force and is_built(root):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"{root.name}.lock", "w") as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)
        if not force and is_built(root):
            return root
        if is_built(root):
            (root / STAMP).unlink()
        t0 = time.monotonic()
        if log:
            print(f"lind: building the wasm32 sysroot (musl {MUSL_VERSION}) in {root}", file=sys.stderr)
        _build_into(root, jobs or os.cpu_count() or 1, log)
        paths.prune_versions(root, "[0-9a-f]" * 16, keep=3)  # sysroots of older overlays (not their .lock)
        if log:
            print(f"lind: sysroot built in {time.monotonic() - t0:.1f}s", file=sys.stderr)
    return root


def ensure_sysroot() -> Path:
    """The built sysroot, building it first (with one line on stderr) if needed."""
    root = sysroot_dir()
    if is_built(root):
        return root
    return build_sysroot()


if __name__ == "__main__":
    force = "--force" in sys.argv[1:]
    print(build_sysroot(force=force))
