"""`lind cc`, `lind ar`, `lind ranlib`: a cc-compatible driver producing lind wasm32 cages.

Compiling runs clang-19 for wasm32 against the lind sysroot (musl); linking runs wasm-ld-19 with
crt1.o, the user's objects and libraries, libc.a and the compiler-rt builtins, then the wasm-opt
post-pass (asyncify, limited to what can be on the stack at a `lind.syscall_unwind` call: fork,
setjmp; plus optimization).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lind_aot.compile import sysroot as sr
from lind_aot.compile.unwind_scope import unwinding_functions

WASM_LD = "wasm-ld-19"
WASM_OPT = "wasm-opt"
LLVM_AR = sr.LLVM_AR
LLVM_RANLIB = sr.LLVM_RANLIB

STACK_SIZE = 8 * 1024 * 1024

LINK_FLAGS = [
    # function pointers are table indices; SIG_DFL and SIG_IGN are 0 and 1, so no function may be 1
    # (wasm-ld starts at 1: the first function whose address is taken would be SIG_IGN)
    "--table-base=2",
    "--stack-first",
    "-z",
    f"stack-size={STACK_SIZE}",
    # the host creates the memory (shared: a cage's threads are instances over the same memory)
    "--import-memory",
    "--shared-memory",
    "--max-memory=4294967296",
    "--export=__stack_pointer",
    "--export=__tls_base",
    # grates: the dispatcher the host calls, and what a worker instance needs to set itself up
    "--export-if-defined=pass_fptr_to_wt",
    "--export-if-defined=__lind_worker_init",
    "--export-if-defined=__tls_size",
    "--export-if-defined=__tls_align",
    "--export=__heap_base",
    # grates register handlers by function pointer (a table index) and the host calls them, and
    # signal handlers later: the host needs the table.
    "--export-table",
]

WASM_OPT_FEATURES = [
    "--enable-bulk-memory",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-threads",
]
# Only calls through lind.syscall_unwind (fork, vfork, setjmp, longjmp) may unwind the wasm stack
# (docs/abi.md): the functions that cannot reach that import are left uninstrumented.
ASYNCIFY_FLAGS = ["--asyncify", "--pass-arg=asyncify-imports@lind.syscall_unwind"]

# What a program compiled by lind cc sees: our ABI is Linux's (x86-64 syscall numbers, musl).
PREDEFINES = ["-D__lind__=1", "-D__linux__=1", "-D__linux=1", "-D__unix__=1", "-D__unix=1"]

SOURCE_EXTS = {
    ".c": "c",
    ".i": "cpp-output",
    ".s": "assembler",
    ".S": "assembler-with-cpp",
    ".cc": "c++",
    ".cpp": "c++",
    ".cxx": "c++",
    ".c++": "c++",
    ".C": "c++",
    ".ii": "c++-cpp-output",
}
OBJECT_EXTS = {".o", ".obj", ".lo", ".a"}

# Options whose value is the next argument (when not glued to the option).
ARG_OPTS = {
    "-o",
    "-I",
    "-D",
    "-U",
    "-L",
    "-l",
    "-x",
    "-MF",
    "-MT",
    "-MQ",
    "-include",
    "-imacros",
    "-isystem",
    "-idirafter",
    "-iquote",
    "-iprefix",
    "-iwithprefix",
    "-iwithprefixbefore",
    "-isysroot",
    "-Xlinker",
    "-Xclang",
    "-Xpreprocessor",
    "-Xassembler",
    "-u",
    "-T",
    "-z",
    "--param",
    "-e",
    "-target",
    "-arch",
    "-mllvm",
}
# Dropped silently: position-independence (cages are static modules), host-CPU tuning, static.
IGNORED_FLAGS = {
    "-fPIC",
    "-fpic",
    "-fPIE",
    "-fpie",
    "-pie",
    "-no-pie",
    "-static",
    "-rdynamic",
    "-m32",
    "-m64",
    "-pthread",
    "-pthreads",
    "-static-libgcc",
    "-shared-libgcc",
}
IGNORED_PREFIXES = (
    "-march=",
    "-mtune=",
    "-mcpu=",
    "-mfpmath=",
    "-msse",
    "-mavx",
    "-mno-sse",
    "-mno-avx",
    "-fuse-ld=",
    "--target=",
    "--sysroot=",
)
INFO_FLAGS = ("--version", "-dumpversion", "-dumpmachine", "-print-", "--print-", "-###", "--help")


class CCError(Exception):
    pass


@dataclass
class Input:
    path: str
    lang: str | None  # -x language in effect, None = by extension


@dataclass
class Parsed:
    mode: str = "link"  # link | c | S | E
    relocatable: bool = False  # -r: a partial link (an object file), as ld -r
    output: str | None = None
    inputs: list[Input | str] = field(default_factory=list)  # Input (source) or linker item (str)
    compile_args: list[str] = field(default_factory=list)
    link_args: list[str] = field(default_factory=list)  # -L / -Wl flags for wasm-ld
    verbose: bool = False
    debug: bool = False
    opt: str | None = None
    nostartfiles: bool = False
    nodefaultlibs: bool = False
    strip: bool = False
    info_only: bool = False
    has_m_only: bool = False  # -M / -MM without -MD/-MMD: preprocess to dependencies


@cache
def _resource_include() -> str:
    out = subprocess.run([sr.CLANG, "-print-resource-dir"], capture_output=True, text=True, check=True)
    return str(Path(out.stdout.strip()) / "include")


def compile_flags(root: Path) -> list[str]:
    """The flags every lind compilation gets (before the user's)."""
    return [
        *sr.TARGET_FLAGS,
        f"--sysroot={root}",
        "-nostdinc",
        "-isystem",
        str(root / "include"),
        # clang's own headers (stdatomic.h, wasm_simd128.h ...) after musl's.
        "-idirafter",
        _resource_include(),
        *PREDEFINES,
        "-Qunused-arguments",
    ]


def _input_kind(path: str, lang: str | None) -> str:
    if lang is not None and lang != "none":
        return "source"
    if path == "-":
        raise CCError("reading from stdin ('-') needs -x <language>")
    suffix = Path(path).suffix
    if suffix in SOURCE_EXTS:
        return "source"
    if suffix == ".so" or ".so." in Path(path).name:
        raise CCError(f"{path}: shared libraries are not supported (lind cages are static wasm modules)")
    return "object"


def parse(argv: list[str]) -> Parsed:
    p = Parsed()
    lang: str | None = None
    i = 0
    n = len(argv)

    def value(opt: str) -> str:
        nonlocal i
        if i + 1 >= n:
            raise CCError(f"missing argument to '{opt}'")
        i += 1
        return argv[i]

    while i < n:
        a = argv[i]
        if a in ("-shared", "-dynamiclib") or a.startswith("-Wl,-shared"):
            raise CCError("-shared: shared libraries are not supported (lind cages are static wasm modules)")
        if a == "-r":
            p.relocatable = True
        elif a == "-c":
            p.mode = "c"
        elif a == "-S":
            p.mode = "S"
        elif a == "-E":
            p.mode = "E"
        elif a in ("-M", "-MM"):
            p.has_m_only = True
            p.compile_args.append(a)
        elif a == "-o":
            p.output = value(a)
        elif a.startswith("-o") and len(a) > 2:
            p.output = a[2:]
        elif a == "-v":
            p.verbose = True
            p.compile_args.append(a)
        elif a == "-x":
            lang = value(a)
            lang = None if lang == "none" else lang
        elif a.startswith("-x") and len(a) > 2:
            lang = a[2:]
            lang = None if lang == "none" else lang
        elif a == "-l":
            p.inputs.append("-l" + value(a))
        elif a.startswith("-l"):
            p.inputs.append(a)
        elif a == "-L":
            p.link_args.append("-L" + value(a))
        elif a.startswith("-L"):
            p.link_args.append(a)
        elif a.startswith("-Wl,"):
            p.link_args.extend(x for x in a[4:].split(",") if x)
        elif a == "-Xlinker":
            p.link_args.append(value(a))
        elif a in ("-u", "-e", "-T", "-z"):
            v = value(a)
            p.link_args.extend({"-u": ["-u", v], "-e": ["--entry", v], "-T": [], "-z": ["-z", v]}[a])
        elif a == "-s":
            p.strip = True
        elif a == "-nostdlib":
            p.nostartfiles = p.nodefaultlibs = True
        elif a == "-nostartfiles":
            p.nostartfiles = True
        elif a in ("-nodefaultlibs", "-nolibc"):
            p.nodefaultlibs = True
        elif a in IGNORED_FLAGS or a.startswith(IGNORED_PREFIXES):
            if a in ("-pthread", "-pthreads"):
                p.compile_args.append("-D_REENTRANT")
        elif a.startswith("-O"):
            p.opt = a
            p.compile_args.append(a)
        elif a.startswith("-g") and not a.startswith("-gno") and a != "-g0":
            p.debug = True
            p.compile_args.append(a)
        elif a.startswith(INFO_FLAGS):
            p.info_only = True
            p.compile_args.append(a)
        elif a == "-":
            p.inputs.append(Input(a, lang))
        elif a.startswith("-"):
            p.compile_args.append(a)
            if a in ARG_OPTS:
                p.compile_args.append(value(a))
        else:
            if _input_kind(a, lang) == "source":
                p.inputs.append(Input(a, lang))
            else:
                p.inputs.append(a)
        i += 1
    if p.has_m_only and p.mode == "link":
        p.mode = "E"
    return p


def _run(cmd: list[str], verbose: bool) -> int:
    if verbose:
        print(" ".join(cmd), file=sys.stderr)
    try:
        return subprocess.run(cmd, check=False).returncode
    except FileNotFoundError as e:
        print(f"lind cc: cannot run {cmd[0]}: {e}", file=sys.stderr)
        return 127


def _source_args(src: Input) -> list[str]:
    return (["-x", src.lang] if src.lang else []) + [src.path]


def _compile_only(p: Parsed, root: Path) -> int:
    sources = [x for x in p.inputs if isinstance(x, Input)]
    if not sources and not p.info_only:
        print("lind cc: no input files", file=sys.stderr)
        return 1
    if p.output and len(sources) > 1 and p.mode in ("c", "S"):
        print("lind cc: cannot specify -o with -c or -S with multiple files", file=sys.stderr)
        return 1
    cmd = [sr.CLANG, *compile_flags(root), *p.compile_args, {"c": "-c", "S": "-S", "E": "-E"}[p.mode]]
    if p.output:
        cmd += ["-o", p.output]
    for s in sources:
        cmd += _source_args(s)
    return _run(cmd, p.verbose)


def _default_libs(root: Path) -> list[str]:
    # __lind_thread_start (libc's clone.c) is where the host starts threads and posix_spawn's
    # children: linked whether or not the program names it (the host finds it by its export)
    return ["--undefined=__lind_thread_start", "-lc", str(root / "lib" / sr.BUILTINS_NAME)]


# ELF-only linker options that build systems pass with -Wl,: meaningless for wasm-ld, dropped.
ELF_ONLY_LINK_FLAGS = {
    "--as-needed",
    "--no-as-needed",
    "--eh-frame-hdr",
    "--enable-new-dtags",
    "--disable-new-dtags",
    "--no-undefined",
    "-Bsymbolic",
    "-Bsymbolic-functions",
    "--export-dynamic",
    "-E",
    "--warn-common",
    "--sort-common",
    "--start-group",
    "--end-group",
    "-(",
    "-)",
}
ELF_ONLY_LINK_PREFIXES = (
    "--hash-style=",
    "--build-id",
    "--sort-section",
    "--dynamic-list",
    "--version-script",
)
ELF_ONLY_LINK_WITH_ARG = {"-rpath", "-rpath-link", "-soname", "-h", "--dynamic-linker", "-dynamic-linker"}


def _wasm_ld_args(args: list[str]) -> list[str]:
    out: list[str] = []
    it = iter(args)
    for a in it:
        if a in ELF_ONLY_LINK_WITH_ARG:
            next(it, None)
        elif a == "-z":
            v = next(it, "")
            if v.startswith("stack-size="):
                out += [a, v]
        elif a in ELF_ONLY_LINK_FLAGS or a.startswith(ELF_ONLY_LINK_PREFIXES):
            continue
        elif a.startswith(("-rpath=", "-soname=", "--rpath=", "--soname=", "-O")) or a == "-s":
            continue
        else:
            out.append(a)
    return out


def link_command(p: Parsed, root: Path, objects: list[str], output: str) -> list[str]:
    cmd = [WASM_LD, "-o", output]
    if not p.nostartfiles:
        cmd.append(str(root / "lib" / "crt1.o"))
    cmd += objects
    cmd += [a for a in p.link_args if a.startswith("-L")]
    cmd.append(f"-L{root / 'lib'}")
    cmd += _wasm_ld_args([a for a in p.link_args if not a.startswith("-L")])
    if not p.nodefaultlibs:
        cmd += _default_libs(root)
    cmd += LINK_FLAGS
    if p.strip:
        cmd.append("--strip-all")
    return cmd


def asyncify_scope(linked: str, tmp: str) -> list[str]:
    """Asyncify arguments that limit the instrumentation to the functions that can be on the stack at
    an unwinding call (unwind_scope.py); none when the program cannot be analysed (binaryen's own,
    more conservative analysis then decides)."""
    names = unwinding_functions(Path(linked).read_bytes())
    if names is None:
        return []
    if not names:  # nothing can unwind: not even an indirect call needs instrumenting
        return ["--pass-arg=asyncify-ignore-indirect"]
    listing = Path(tmp) / "asyncify-onlylist.txt"
    listing.write_text(",".join(names))
    return [f"--pass-arg=asyncify-onlylist@@{listing}"]


def wasm_opt_command(p: Parsed, src: str, output: str, scope: list[str] | None = None) -> list[str]:
    # Asyncify always runs (fork needs it); -g keeps names and uses a light -O1, -Os/-Oz are kept.
    level = "-O1" if p.debug else p.opt if p.opt in ("-Os", "-Oz") else "-O2"
    cmd = [WASM_OPT, src, *WASM_OPT_FEATURES, *ASYNCIFY_FLAGS, *(scope or []), level]
    if p.debug:
        cmd.append("-g")
    return [*cmd, "-o", output]


def _link(p: Parsed, root: Path) -> int:
    output = p.output or "a.out"
    with tempfile.TemporaryDirectory(prefix="lind-cc-") as tmp:
        objects: list[str] = []
        for k, item in enumerate(p.inputs):
            if isinstance(item, Input):
                obj = str(Path(tmp) / f"{k}-{Path(item.path).stem or 'stdin'}.o")
                cmd = [sr.CLANG, *compile_flags(root), *p.compile_args, "-c", *_source_args(item), "-o", obj]
                rc = _run(cmd, p.verbose)
                if rc != 0:
                    return rc
                objects.append(obj)
            else:
                objects.append(item)
        if not objects:
            print("lind cc: no input files", file=sys.stderr)
            return 1
        if p.relocatable:  # kbuild-style partial links: objects in, one object out
            cmd = [WASM_LD, "-r", "-o", output, *objects, *_wasm_ld_args(p.link_args)]
            return _run(cmd, p.verbose)
        linked = str(Path(tmp) / "linked.wasm")
        rc = _run(link_command(p, root, objects, linked), p.verbose)
        if rc != 0:
            return rc
        final = str(Path(tmp) / "final.wasm")
        rc = _run(wasm_opt_command(p, linked, final, asyncify_scope(linked, tmp)), p.verbose)
        if rc != 0:
            print("lind cc: wasm-opt post-pass failed", file=sys.stderr)
            return rc
        out = Path(output)
        if out.exists() and not out.is_file():
            print(f"lind cc: {output} is not a regular file", file=sys.stderr)
            return 1
        shutil.move(final, out)
        umask = os.umask(0)
        os.umask(umask)
        out.chmod(0o777 & ~umask)
    return 0


def main(argv: list[str]) -> int:
    """`lind cc ARGS...`: behave like cc, producing wasm32 objects and lind cage modules."""
    try:
        p = parse(argv)
    except CCError as e:
        print(f"lind cc: {e}", file=sys.stderr)
        return 1
    if not argv:
        print("lind cc: no input files", file=sys.stderr)
        return 1
    try:
        root = sr.sysroot_dir()
        if not sr.is_built(root):
            print(
                f"lind cc: building the wasm32 sysroot (musl {sr.MUSL_VERSION}) first, in {root}",
                file=sys.stderr,
            )
            root = sr.build_sysroot(log=False)
    except Exception as e:  # reported as a driver error, not a traceback
        print(f"lind cc: cannot build the sysroot: {e}", file=sys.stderr)
        return 1
    if p.info_only and not any(isinstance(x, Input) for x in p.inputs):
        return _run([sr.CLANG, *compile_flags(root), *p.compile_args], p.verbose)
    if p.mode in ("c", "S", "E"):
        return _compile_only(p, root)
    return _link(p, root)


def ar_main(argv: list[str]) -> int:
    """`lind ar ARGS...` = llvm-ar-19."""
    return _run([LLVM_AR, *argv], False)


def ranlib_main(argv: list[str]) -> int:
    """`lind ranlib ARGS...` = llvm-ranlib-19."""
    return _run([LLVM_RANLIB, *argv], False)


if __name__ == "__main__":
    prog = Path(sys.argv[0]).name
    args = sys.argv[1:]
    if args and args[0] in ("ar", "ranlib", "cc"):
        tool, args = args[0], args[1:]
    else:
        tool = "cc"
    sys.exit({"cc": main, "ar": ar_main, "ranlib": ranlib_main}[tool](args))
