"""Which functions of a linked program Asyncify must instrument.

Only a call through the import lind.syscall_unwind (fork, vfork, setjmp, longjmp: docs/abi.md) may
unwind the wasm stack, so only the functions that can be on the stack at such a call need the
instrumentation: the callers of the import, their callers, and so on. Binaryen's own analysis
assumes that every indirect call may reach an unwinding function, which in a program that calls
through function pointers (SQLite's VFS and malloc, Lua's allocator) instruments nearly everything.
This analysis is sharper and still safe: a `call_indirect` can only reach functions of its exact
signature that are in a table (wasm checks the signature at run time), so it counts as unwinding
only when such a function can unwind.

`unwinding_functions` returns the names for binaryen's asyncify-onlylist, or None when the module
cannot be analysed (an instruction this reader does not know, a function without a name): the
caller then leaves the choice to binaryen's conservative analysis.
"""

from __future__ import annotations

from collections import Counter

UNWIND_IMPORT = ("lind", "syscall_unwind")

_VALTYPE_BLOCKS = {0x40, 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F}
# opcodes with one u32 immediate: br, br_if, local/global get/set/tee, table.get/set, ref.func
_ONE_U32 = {0x0C, 0x0D, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0xD2}
# 0xFC sub-opcodes and how many u32 immediates follow
_FC_IMMEDIATES = {**dict.fromkeys(range(8), 0), 8: 2, 9: 1, 10: 2, 11: 1, 12: 2, 13: 1, 14: 2, 15: 1, 16: 1, 17: 1}


class _Unsupported(Exception):
    """Something this reader does not understand: no onlylist, binaryen decides."""


class _Reader:
    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def byte(self) -> int:
        b = self.data[self.pos]
        self.pos += 1
        return b

    def u32(self) -> int:
        result = shift = 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    def skip_vec(self) -> None:
        """Skips a vector of one-byte items (value types)."""
        n = self.u32()
        self.pos += n

    def skip_leb(self) -> None:
        while self.data[self.pos] & 0x80:
            self.pos += 1
        self.pos += 1

    def name(self) -> bytes:
        n = self.u32()
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def const_expr(self) -> list[int]:
        """Skips a constant expression; returns the functions it names (ref.func)."""
        funcs = []
        while True:
            op = self.byte()
            if op == 0x0B:
                return funcs
            if op in (0x41, 0x42, 0x23):
                self.skip_leb()
            elif op == 0xD2:
                funcs.append(self.u32())
            elif op == 0xD0:
                self.byte()
            else:
                raise _Unsupported(f"constant expression opcode {op:#x}")


def _limits(r: _Reader) -> None:
    flags = r.byte()
    r.skip_leb()
    if flags & 1:
        r.skip_leb()


def _scan_body(r: _Reader, end: int, calls: set[int], indirect_types: set[int], refs: set[int]) -> None:
    for _ in range(r.u32()):  # local declarations
        r.skip_leb()
        r.byte()
    while r.pos < end:
        op = r.byte()
        if op == 0x10:
            calls.add(r.u32())
        elif op == 0x11:
            indirect_types.add(r.u32())
            r.skip_leb()
        elif op in _ONE_U32:
            if op == 0xD2:
                refs.add(r.u32())
            else:
                r.skip_leb()
        elif op in (0x02, 0x03, 0x04):
            if r.data[r.pos] in _VALTYPE_BLOCKS:
                r.pos += 1
            else:
                r.skip_leb()
        elif op in (0x00, 0x01, 0x05, 0x0B, 0x0F, 0x1A, 0x1B, 0xD1) or 0x45 <= op <= 0xC4:
            pass
        elif 0x28 <= op <= 0x3E:
            if r.u32() & 0x40:  # multi-memory: a memory index follows the alignment
                r.skip_leb()
            r.skip_leb()
        elif op in (0x3F, 0x40, 0xD0):
            r.byte()
        elif op in (0x41, 0x42):
            r.skip_leb()
        elif op == 0x43:
            r.pos += 4
        elif op == 0x44:
            r.pos += 8
        elif op == 0x0E:
            for _ in range(r.u32() + 1):
                r.skip_leb()
        elif op == 0x1C:
            r.skip_vec()
        elif op == 0xFC:
            sub = r.u32()
            if sub not in _FC_IMMEDIATES:
                raise _Unsupported(f"0xfc {sub}")
            for _ in range(_FC_IMMEDIATES[sub]):
                r.skip_leb()
        elif op == 0xFE:
            sub = r.u32()
            if sub == 0x03:
                r.byte()
            elif sub <= 0x02 or 0x10 <= sub <= 0x4E:
                r.skip_leb()
                r.skip_leb()
            else:
                raise _Unsupported(f"0xfe {sub}")
        else:  # SIMD, exceptions, tail calls, GC...
            raise _Unsupported(f"opcode {op:#x}")
    if r.pos != end:
        raise _Unsupported("function body overran its size")


def _analyse(wasm: bytes) -> list[str]:
    if wasm[:8] != b"\0asm\x01\0\0\0":
        raise _Unsupported("not a wasm module")
    r = _Reader(wasm, 8)
    types: list[bytes] = []        # a signature's bytes: equal bytes, equal signature
    func_types: list[int] = []     # per function, imports first
    unwind_imports: set[int] = set()
    table_funcs: set[int] = set()  # functions an indirect call may reach
    calls: list[set[int]] = []
    indirect: list[set[int]] = []
    names: dict[int, bytes] = {}
    nimports = 0
    while r.pos < len(wasm):
        sid = r.byte()
        size = r.u32()
        end = r.pos + size
        if sid == 1:
            for _ in range(r.u32()):
                start = r.pos
                if r.byte() != 0x60:
                    raise _Unsupported("non-function type")
                r.skip_vec()  # parameters
                r.skip_vec()  # results
                types.append(wasm[start:r.pos])
        elif sid == 2:
            for _ in range(r.u32()):
                module, field, kind = r.name(), r.name(), r.byte()
                if kind == 0:
                    if (module.decode(errors="replace"), field.decode(errors="replace")) == UNWIND_IMPORT:
                        unwind_imports.add(len(func_types))
                    func_types.append(r.u32())
                    nimports += 1
                elif kind == 1:
                    r.byte()
                    _limits(r)
                elif kind == 2:
                    _limits(r)
                elif kind == 3:
                    r.pos += 2
                else:
                    raise _Unsupported(f"import kind {kind}")
        elif sid == 3:
            func_types += [r.u32() for _ in range(r.u32())]
        elif sid == 9:
            for _ in range(r.u32()):
                flags = r.u32()
                if flags in (0, 4):
                    r.const_expr()
                elif flags in (2, 6):
                    r.skip_leb()
                    r.const_expr()
                if flags in (1, 2, 3, 5, 6, 7):
                    r.byte()  # element kind or reference type
                if flags < 4:
                    table_funcs.update(r.u32() for _ in range(r.u32()))
                else:
                    for _ in range(r.u32()):
                        table_funcs.update(r.const_expr())
        elif sid == 10:
            for _ in range(r.u32()):
                body_end = r.u32() + r.pos
                calls.append(set())
                indirect.append(set())
                _scan_body(r, body_end, calls[-1], indirect[-1], table_funcs)
        elif sid == 0 and r.name() == b"name":
            while r.pos < end:
                sub, sub_size = r.byte(), r.u32()
                sub_end = r.pos + sub_size
                if sub == 1:
                    for _ in range(r.u32()):
                        idx = r.u32()
                        names[idx] = r.name()
                r.pos = sub_end
        r.pos = end
    if len(calls) != len(func_types) - nimports:
        raise _Unsupported("function and code sections disagree")

    # who calls whom, backwards; an indirect call of signature T reaches the table's functions of T
    callers: dict[int, set[int]] = {}
    indirect_callers: dict[bytes, set[int]] = {}
    for k in range(len(calls)):
        f = nimports + k
        for g in calls[k]:
            callers.setdefault(g, set()).add(f)
        for t in indirect[k]:
            indirect_callers.setdefault(types[t], set()).add(f)
    unwinding: set[int] = set()
    work = list(unwind_imports)
    while work:
        f = work.pop()
        reached = set(callers.get(f, ()))
        if f in table_funcs:
            reached |= indirect_callers.get(types[func_types[f]], set())
        for c in reached - unwinding:
            unwinding.add(c)
            work.append(c)

    out: list[str] = []
    counts = Counter(names.values())
    for f in sorted(unwinding):
        n = names.get(f)
        if not n:
            raise _Unsupported(f"function {f} has no name")
        text = n.decode("utf-8", errors="replace")
        if any(ch in text for ch in ",\n\r") or not text.isprintable():
            raise _Unsupported(f"function name {text!r} cannot be listed")
        # binaryen renames a repeated name (static functions of several files): a prefix pattern
        # catches every copy (instrumenting one too many is only slower, never wrong)
        out.append(text + "*" if counts[n] > 1 else text)
    return out


def unwinding_functions(wasm: bytes) -> list[str] | None:
    """The functions that can be on the stack at a call of lind.syscall_unwind, or None when the module
    cannot be analysed."""
    try:
        return _analyse(bytes(wasm))
    except (_Unsupported, IndexError):
        return None
