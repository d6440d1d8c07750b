"""The LMDB store of AOT artifacts.

Key: sha256(wasm) + engine fingerprint (wasmtime version, every engine setting, target).
Value: a header (magic, HMAC-SHA256 of the artifact) followed by the artifact. An artifact is native
code that wasmtime loads without validation, so the HMAC is checked before every load; an entry
that is truncated, corrupted or tampered with (by anyone without the per-cache secret, a 0600 file)
is discarded and recompiled. LMDB gives concurrent readers and serialized writers across
processes, so many `lind run`s can share one cache.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path

import lmdb

from lind_aot.paths import aot_cache_dir
from lind_aot.vmm import engine as eng
from lind_aot.vmm.native import Program, load_program

TYPE_CHECKING = False  # (typing.TYPE_CHECKING without importing typing: 3 ms of `lind run` start-up)
if TYPE_CHECKING:
    import wasmtime

MAGIC = b"LINDAOT1"
HEADER = len(MAGIC) + 32
MAP_SIZE = 64 << 30
MODULE_LRU = 64  # address space only; the file grows as needed


class CacheError(RuntimeError):
    pass


class NotAWasmFile(CacheError):
    pass


class Entry:
    """One cached artifact, as `lind cache ls` shows it."""

    def __init__(self, key: str, wasm_sha256: str, target: str, size: int, created: float, hits: int,
                 source: str) -> None:
        self.key, self.wasm_sha256, self.target, self.size = key, wasm_sha256, target, size
        self.created, self.hits, self.source = created, hits, source


class ArtifactCache:
    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else aot_cache_dir()
        self.path.mkdir(parents=True, exist_ok=True)
        self._secret = self._load_secret()
        self._env = lmdb.open(str(self.path), map_size=MAP_SIZE, max_dbs=4, subdir=True, lock=True)
        self._art = self._env.open_db(b"artifacts")
        self._meta = self._env.open_db(b"meta")
        self._lock = threading.Lock()
        self._modules: OrderedDict[str, Program] = OrderedDict()  # loaded, by key (LRU)
        self.events: list[str] = []  # "hit" / "miss" / "discarded", for callers that report

    def _load_secret(self) -> bytes:
        p = self.path / "secret.key"
        try:
            return p.read_bytes()
        except FileNotFoundError:
            pass
        key = os.urandom(32)
        tmp = self.path / f"secret.key.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        try:
            os.link(tmp, p)  # first writer wins; everyone then reads the same key
        except FileExistsError:
            pass
        os.unlink(tmp)
        return p.read_bytes()

    @staticmethod
    def key_for(wasm: bytes, target: str) -> str:
        return hashlib.sha256(wasm).hexdigest() + ":" + eng.fingerprint(target)

    def _mac(self, artifact: bytes) -> bytes:
        return hmac.new(self._secret, artifact, hashlib.sha256).digest()

    def get(self, key: str) -> bytes | None:
        """The verified artifact, or None (a bad entry is deleted)."""
        kb = key.encode()
        with self._env.begin(db=self._art) as txn:
            raw = txn.get(kb)
            if raw is None:
                return None
            blob = bytes(raw)
        if len(blob) < HEADER or blob[: len(MAGIC)] != MAGIC or not hmac.compare_digest(
            blob[len(MAGIC) : HEADER], self._mac(blob[HEADER:])
        ):
            self.delete(key)
            self.events.append("discarded")
            return None
        return blob[HEADER:]

    def put(self, key: str, artifact: bytes, target: str, source: str) -> None:
        kb = key.encode()
        meta = {"target": target, "size": len(artifact), "created": time.time(), "hits": 0, "source": source}
        with self._env.begin(write=True) as txn:
            txn.put(kb, MAGIC + self._mac(artifact) + artifact, db=self._art)
            txn.put(kb, json.dumps(meta).encode(), db=self._meta)

    def delete(self, key: str) -> None:
        kb = key.encode()
        with self._env.begin(write=True) as txn:
            txn.delete(kb, db=self._art)
            txn.delete(kb, db=self._meta)

    def _count_hit(self, key: str) -> None:
        kb = key.encode()
        with self._env.begin(write=True) as txn:
            raw = txn.get(kb, db=self._meta)
            if raw is not None:
                meta = json.loads(bytes(raw))
                meta["hits"] = meta.get("hits", 0) + 1
                txn.put(kb, json.dumps(meta).encode(), db=self._meta)

    def entries(self) -> list[Entry]:
        out = []
        with self._env.begin(db=self._meta) as txn:
            for k, v in txn.cursor():
                key = bytes(k).decode()
                m = json.loads(bytes(v))
                out.append(Entry(key, key.split(":", 1)[0], m.get("target", "?"), m.get("size", 0),
                                 m.get("created", 0.0), m.get("hits", 0), m.get("source", "")))
        return out

    def clear(self) -> int:
        n = len(self.entries())
        with self._env.begin(write=True) as txn:
            txn.drop(self._art, delete=False)
            txn.drop(self._meta, delete=False)
        return n

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())

    # ---- compile / load ----

    def compile(self, wasm: bytes, target: str | None = None, source: str = "") -> tuple[str, bytes, bool]:
        """(key, artifact, was_cached): the artifact for wasm, compiling and storing on a miss."""
        check_wasm(wasm, source)
        t = target or eng.host_target()
        key = self.key_for(wasm, t)
        art = self.get(key)
        if art is not None:
            self._count_hit(key)
            self.events.append("hit")
            return key, art, True
        self.events.append("miss")
        import wasmtime  # only to compile: running a cached program does without it

        try:
            module = wasmtime.Module(eng.engine(t), wasm)
        except wasmtime.WasmtimeError as e:
            raise NotAWasmFile(f"{source or 'module'}: invalid WebAssembly: {str(e).splitlines()[0]}") from None
        check_lind_program(module, source)
        art = bytes(module.serialize())
        self.put(key, art, t, source)
        return key, art, False

    def load(self, wasm: bytes, source: str = "") -> Program:
        """A runnable program for wasm on this machine, through the cache (and an in-process LRU of
        loaded programs, so that exec of a program already loaded costs no deserialize)."""
        key = self.key_for(wasm, eng.host_target())
        with self._lock:
            mod = self._modules.get(key)
            if mod is not None:
                self._modules.move_to_end(key)
                return mod
            _, art, _ = self.compile(wasm, None, source)
            try:
                mod = load_program(art)
            except ValueError as e:
                raise CacheError(f"{source or 'module'}: {e}") from None
            self._modules[key] = mod
            if len(self._modules) > MODULE_LRU:
                self._modules.popitem(last=False)
            return mod


def check_wasm(wasm: bytes, source: str) -> None:
    if len(wasm) < 8 or wasm[:4] != b"\0asm":
        raise NotAWasmFile(f"{source or 'input'}: not a WebAssembly file")


def check_lind_program(module: wasmtime.Module, source: str) -> None:
    """A lind program imports lind.syscall (and lind.syscall_unwind) and a shared env.memory, and exports
    _start."""
    import wasmtime

    name = source or "module"
    imports = {(i.module, i.name): i.type for i in module.imports}
    allowed = (("lind", "syscall"), ("lind", "syscall_unwind"), ("env", "memory"))
    bad = [f"{m}.{n}" for (m, n) in imports if (m, n) not in allowed]
    mem = imports.get(("env", "memory"))
    if bad or ("lind", "syscall") not in imports or not isinstance(mem, wasmtime.MemoryType) or not mem.is_shared:
        what = ", ".join(bad) if bad else "no shared env.memory" if ("lind", "syscall") in imports else "nothing"
        raise NotAWasmFile(f"{name}: not a lind program (imports {what}; build it with `lind cc`)")
    exports = {e.name for e in module.exports}
    missing = {"_start", "__heap_base"} - exports
    if missing:
        raise NotAWasmFile(f"{name}: not a lind program (missing exports: {', '.join(sorted(missing))})")
