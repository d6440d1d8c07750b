"""Which functions lind cc has Asyncify instrument (lind_aot/compile/unwind_scope.py), and programs
whose fork, setjmp and longjmp go through function pointers, compared with native Linux."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import compare

from lind_aot.compile.unwind_scope import unwinding_functions

SIG = "(param i32 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)"
CALL = "(call {f} (i32.const {nr})" + " (i64.const 0)" * 14 + ")"


def _module(body: str) -> bytes:
    import wasmtime

    wat = f"""(module
  (type $v_i (func (result i32)))
  (type $i_i (func (param i32) (result i32)))
  (import "lind" "syscall_unwind" (func $unwind {SIG}))
  (import "lind" "syscall" (func $plain {SIG}))
  {body})"""
    return wasmtime.wat2wasm(wat)


GRAPH = f"""
  (table 2 funcref)
  (elem (i32.const 0) $forks $leaf)
  (func $forks (type $v_i) (drop {CALL.format(f="$unwind", nr=57)}) (i32.const 0))
  (func $leaf (type $i_i) (drop {CALL.format(f="$plain", nr=39)}) (local.get 0))
  (func $calls_v_i (result i32) (call_indirect (type $v_i) (i32.const 0)))
  (func $calls_i_i (result i32) (call_indirect (type $i_i) (i32.const 1) (i32.const 1)))
  (func $via_v_i (drop (call $calls_v_i)))
  (func $via_i_i (drop (call $calls_i_i)))
  (func $direct (drop (call $forks)))
  (func $plain_only (drop {CALL.format(f="$plain", nr=39)}))
  (func $unreachable_forker (drop {CALL.format(f="$unwind", nr=57)}))
"""


def test_scope_follows_calls_and_signatures() -> None:
    """The functions that can be on the stack at a lind.syscall_unwind call: its callers, their
    callers, and the indirect calls of a signature whose table functions can unwind; not the others."""
    names = unwinding_functions(_module(GRAPH))
    assert names is not None
    assert sorted(names) == ["calls_v_i", "direct", "forks", "unreachable_forker", "via_v_i"]


def test_scope_nothing_unwinds() -> None:
    names = unwinding_functions(_module(f'(func $f (drop {CALL.format(f="$plain", nr=39)}))'))
    assert names == []


@pytest.mark.parametrize("body", [
    # an instruction the reader does not know (SIMD): binaryen's own analysis must decide
    "(func $simd (result v128) (v128.const i64x2 0 0))",
    # a function without a name cannot be put in binaryen's list
    f"(func (drop {CALL.format(f='$unwind', nr=57)}))",
])
def test_scope_gives_up_safely(body: str) -> None:
    assert unwinding_functions(_module(body)) is None


def test_not_a_module() -> None:
    assert unwinding_functions(b"not wasm") is None


def test_fork_setjmp_longjmp_through_function_pointers(root: Path) -> None:
    """fork and setjmp reached only through pointers, a longjmp out of a chain of calls that cannot
    unwind: the same output and status as natively."""
    n, _ = compare("unwind_fnptr", root)
    assert n.returncode == 0 and b"guarded longjmp: 1005" in n.stdout
