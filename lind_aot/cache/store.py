"""The LMDB store of AOT artifacts.

Key: sha256(wasm) + engine fingerprint (wasmtime version, every engine setting, target).
Value: a header (magic, MAC, artifact length) followed by the artifact. An artifact is native code
that wasmtime loads without validation, so nothing is loaded that this process cannot verify:

- The MAC is HMAC-SHA256, under a per-cache secret (secret.key), of the key, the header fields and
  the artifact. Binding the key matters: two valid entries swapped in the database (or one copied
  under another key) verify as nothing and are recompiled, instead of one program running as
  another. An entry that fails is discarded, reported in one line and recompiled.
- The secret must be a regular file of ours, 0600 (or stricter), with one name, of at least 32
  bytes. An empty or short one of ours is never used: a fresh one replaces it (and the entries made
  under the old one are dropped); one of someone else's, readable or writable by others, a link or
  not a regular file is refused with one line (CacheError): whoever can read or replace it can
  forge entries.

Robustness against a damaged or hostile data.mdb (the cache directory's other writers are not
trusted). liblmdb maps the file and follows the pointers in it: a file truncated under a process
kills it with SIGBUS, a signal Python cannot catch (the faulting access is retried for ever), and a
damaged page gives MDB_PAGE_NOTFOUND or worse. What was considered and measured:
- `lmdb.open(readonly=True, lock=False)` still maps the file (that is how liblmdb reads): measured,
  such an environment maps data.mdb (r--s) and its process dies of SIGBUS when the file is
  truncated under a read transaction. Checking the file size against the meta
  page's last page before each transaction narrows the window but cannot close it (the file can
  be truncated right after the check), and does nothing for a damaged page.
- So this process never maps data.mdb. Lookups read it with pread (lmdbread: the two meta pages,
  the pages down the B-tree, the overflow pages of the value; every page number, offset and length
  checked against the page and the file; an optimistic check of the transaction id against
  concurrent writers, which do not wait for it). A truncated or damaged file is an exception with
  a one-line reason, never a signal. A hit costs a few preads and the MAC: measured, it is faster
  than the liblmdb read transaction plus the write transaction (and fsync) that counted the hit.
- Writes (a miss, a discarded entry, `clear`) go through liblmdb in a child process
  (lind_aot.cache.writer), started when a lookup misses so that its start-up (~25 ms) overlaps the
  compile. If the file is truncated under it and it dies of SIGBUS, or liblmdb reports damage, or
  it hangs, this process survives and repairs. Its first write transaction on a file runs
  lmdb.verify (py-lmdb's offline verifier) over it, so liblmdb never writes into a damaged file.
- Hits are counted in an append-only log (hits.log, 16 bytes a hit) that the writer folds into the
  entries' metadata, instead of a write transaction (and its fsync) on every `lind run`.
- Damage (the reader fails twice at the same committed transaction, or the writer reports damage
  or dies of a fault) is reported in one line (on stderr, or to the `report` callable; "damaged" in
  `events`); data.mdb is moved aside to data.mdb.damaged-<time>-<pid>-<n> (the three newest are
  kept, `clear` removes them), lock.mdb is removed, and an empty store is made. `verify` (`lind
  cache verify`) reads every page of every tree, checks every MAC and runs lmdb.verify.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import struct
import sys
import threading
import time
import weakref
from collections import OrderedDict
from pathlib import Path

from lind_aot.cache import lmdbread, writer
from lind_aot.paths import aot_cache_dir, prune_versions
from lind_aot.vmm import engine as eng
from lind_aot.vmm.native import Program, load_program

TYPE_CHECKING = False  # (typing.TYPE_CHECKING without importing typing: 3 ms of `lind run` start-up)
if TYPE_CHECKING:
    from collections.abc import Callable

    import lmdb
    import wasmtime

MAGIC = b"LINDAOT2"
OLD_MAGICS = (b"LINDAOT1",)  # entries of earlier versions: discarded without a report
MAC_SIZE = 32
HEADER = len(MAGIC) + MAC_SIZE + 8  # magic, MAC, artifact length (u64 LE)
MAC_DOMAIN = b"lind-aot AOT artifact\0"
MAP_SIZE = writer.MAP_SIZE
MODULE_LRU = 64  # loaded programs kept in this process
SECRET_MIN = 32
FOLD_HITS_AT = 64 << 10  # bytes of hits log (4096 hits) that get folded into the store
KEEP_DAMAGED = 3
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")


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


def _stderr_line(msg: str) -> None:
    sys.stderr.write(f"lind: {msg}\n")
    sys.stderr.flush()


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


class ArtifactCache:
    def __init__(self, path: Path | None = None, report: Callable[[str], None] | None = None) -> None:
        """report: called with a one-line message when the cache finds damage or a bad entry
        (default: printed to stderr as "lind: ...")."""
        self.path = Path(path) if path else aot_cache_dir()
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._data = self.path / "data.mdb"
        self._report = report or _stderr_line
        self._lock = threading.Lock()
        self._modules: OrderedDict[str, Program] = OrderedDict()  # loaded, by key (LRU)
        self._loading: dict[str, list] = {}  # key -> [its lock, threads using it] while it loads
        self.events: list[str] = []  # "hit" / "miss" / "discarded" / "damaged", for callers that report
        self.reports: list[str] = []  # the one-line messages given to `report`
        self._writer = writer.Writer(self.path)
        self._finalizer = weakref.finalize(self, self._writer.close)
        self._lmdb: lmdb.Environment | None = None
        self._lmdb_dbs: tuple[lmdb._Database, lmdb._Database] | None = None
        self._secret = self._load_secret()

    def close(self) -> None:
        """Stops the writer process (if one was started) and closes `_env` (if it was opened)."""
        self._finalizer()
        if self._lmdb is not None:
            self._lmdb.close()
            self._lmdb = self._lmdb_dbs = None

    def _say(self, msg: str) -> None:
        msg = _printable(" ".join(msg.split()))
        self.reports.append(msg)
        self._report(msg)

    # ---- the secret ----

    def _load_secret(self) -> bytes:
        p = self.path / "secret.key"
        refuse = "refusing to trust the AOT cache (remove it and a new one is made, or use another cache)"
        changing = "keeps changing"
        for attempt in range(6):
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                self._new_secret(p, "there was none")
                continue
            if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
                raise CacheError(f"{p}: not a regular file; {refuse}")
            if st.st_uid != os.geteuid():
                raise CacheError(f"{p}: owned by uid {st.st_uid}, not by us (uid {os.geteuid()}); {refuse}")
            if st.st_mode & 0o077:
                raise CacheError(f"{p}: mode {stat.S_IMODE(st.st_mode):04o}, others may read or write it; {refuse}")
            if st.st_nlink != 1:  # another name for it elsewhere (or a key being made: link, then unlink)
                changing = f"has {st.st_nlink} names (hard links)"
                time.sleep(0.005 * (attempt + 1))
                continue
            try:
                fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            except PermissionError:
                self._new_secret(p, "it was unreadable", replace=True)
                continue
            except OSError as e:
                raise CacheError(f"{p}: cannot be read ({e.strerror}); {refuse}") from None
            try:
                st2 = os.fstat(fd)
                key = os.read(fd, 4096)
            finally:
                os.close(fd)
            if (st2.st_dev, st2.st_ino) != (st.st_dev, st.st_ino):
                continue  # replaced between the checks and the open: look again
            if len(key) >= SECRET_MIN:
                return key
            self._new_secret(p, f"it was {len(key)} bytes, not a key", replace=True)
        raise CacheError(f"{p}: {changing}; {refuse}")

    def _new_secret(self, p: Path, why: str, replace: bool = False) -> None:
        tmp = self.path / f"secret.key.{os.getpid()}.{threading.get_ident()}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, os.urandom(SECRET_MIN))
                os.fsync(fd)
            finally:
                os.close(fd)
            if replace:
                os.replace(tmp, p)
            else:
                try:
                    os.link(tmp, p)  # first writer wins; everyone then reads the same key
                except FileExistsError:
                    os.unlink(tmp)
                    return
                os.unlink(tmp)
        except OSError as e:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise CacheError(f"{p}: cannot make a secret key ({e.strerror}); cannot use the AOT cache") from None
        if replace or self._data.exists():
            # Entries made under another key are worthless now (and under an empty one, forgeable).
            self._say(f"AOT cache {self.path}: a new secret.key ({why}); the entries made under the old one are"
                      " dropped")
            self._write(b"C", "dropping the entries of the old key")

    # ---- entries ----

    @staticmethod
    def key_for(wasm: bytes, target: str) -> str:
        return hashlib.sha256(wasm).hexdigest() + ":" + eng.fingerprint(target)

    def _mac(self, kb: bytes, length: bytes, artifact: bytes | memoryview) -> bytes:
        h = hmac.new(self._secret, MAC_DOMAIN + _U32.pack(len(kb)) + kb + MAGIC + length, "sha256")
        h.update(artifact)
        return h.digest()

    def _seal(self, kb: bytes, artifact: bytes) -> bytes:
        length = _U64.pack(len(artifact))
        return b"".join((MAGIC, self._mac(kb, length, artifact), length, artifact))

    def _unseal(self, kb: bytes, raw: bytes) -> tuple[bytes | None, str]:
        """(artifact, "") if raw is a sound entry for key kb, else (None, why not)."""
        if raw[: len(MAGIC)] in OLD_MAGICS:
            return None, ""
        if len(raw) < HEADER or raw[: len(MAGIC)] != MAGIC:
            return None, "not an entry of this cache"
        length = raw[len(MAGIC) + MAC_SIZE : HEADER]
        if _U64.unpack(length)[0] != len(raw) - HEADER:
            return None, "cut short or padded"
        mac = self._mac(kb, length, memoryview(raw)[HEADER:])
        if not hmac.compare_digest(raw[len(MAGIC) : len(MAGIC) + MAC_SIZE], mac):
            return None, "MAC mismatch: tampered with, or stored under another key"
        return raw[HEADER:], ""

    def _read(self, fn: Callable[[lmdbread.Snapshot], object]) -> object:
        """fn(snapshot) of the store (None if there is none); damage is reported and repaired (and
        gives None too), and so is a read that concurrent writers kept spoiling."""
        try:
            return lmdbread.read(self._data, fn)
        except lmdbread.Damaged as e:
            self._damaged(str(e), e.ident)
        except lmdbread.Busy:
            pass
        return None

    def get(self, key: str, source: str = "") -> bytes | None:
        """The verified artifact, or None (a bad entry is deleted)."""
        kb = key.encode()
        raw = self._read(lambda s: s.get(s.subdb(writer.ART_DB), kb))
        if not isinstance(raw, bytes):
            return None
        art, why = self._unseal(kb, raw)
        if art is None:
            self.events.append("discarded")
            if why:
                self._say(f"AOT cache {self.path}: the entry for {source or key[:16]} failed verification ({why});"
                          " discarded, recompiling")
            self.delete(key)
        return art

    def put(self, key: str, artifact: bytes, target: str, source: str) -> None:
        import json  # (not on the hit path)

        kb = key.encode()
        meta = {"target": target, "size": len(artifact), "created": time.time(), "hits": 0, "source": source}
        self._write(b"P", f"storing {source or 'an artifact'}", kb, self._seal(kb, artifact),
                    json.dumps(meta).encode())

    def delete(self, key: str) -> None:
        self._write(b"D", "deleting an entry", key.encode())

    def _write(self, op: bytes, what: str, *fields: bytes) -> bool:
        """One request to the writer process; on damage the store is moved aside, made anew and the
        request tried once more. False (after a one-line report) if it could not be done."""
        for _attempt in range(2):
            status, msg = self._writer.call(op, *fields)
            if status == "ok":
                return True
            if status == "damaged" or status == "crashed" and writer.crash_means_damage(msg):
                self._damaged(msg, None, rebuild=False)
                continue
            if status in ("crashed", "timeout"):  # killed, out of memory, hung...: is the file sound?
                why = self._check()
                if why is not None:
                    self._damaged(f"{msg}; {why}", None, rebuild=False)
                    continue
                if status == "timeout":  # a sound file, and liblmdb hung: on its lock file's writer lock
                    try:
                        os.unlink(self.path / "lock.mdb")
                        msg += "; lock.mdb removed"
                    except OSError:
                        pass
            break
        self._say(f"AOT cache {self.path}: {what} failed ({msg}); going on without it")
        return False

    def _check(self) -> str | None:
        """None if the store reads as sound (every page of every B-tree, and lmdb.verify's checks
        of the free pages), else why not."""
        try:
            lmdbread.read(self._data, _walk)
        except lmdbread.Damaged as e:
            return str(e)
        except lmdbread.Busy:
            return None
        return self._deep_check()

    def _deep_check(self) -> str | None:
        """lmdb.verify's first problem with the file (None if none), a problem only if the file was
        not being written meanwhile."""
        for _attempt in range(3):
            before = self._txnid()
            deep = lmdbread.deep_verify(self._data)
            if not deep:
                return None
            if self._txnid() == before:
                return f"lmdb.verify: {deep[0]}" + (f" (and {len(deep) - 1} more)" if len(deep) > 1 else "")
        return None

    def _txnid(self) -> int | None:
        try:
            return lmdbread.read(self._data, lambda s: s.txnid)
        except (lmdbread.Damaged, lmdbread.Busy):
            return None

    def _damaged(self, why: str, ident: tuple[int, int] | None, rebuild: bool = True) -> None:
        """Moves the damaged data.mdb aside (if it is still the file found damaged: `ident`), says
        so in one line, and (if `rebuild`) makes an empty store."""
        self.events.append("damaged")
        self._writer.close()  # its environment is on the damaged file
        stamp = time.strftime("%Y%m%dT%H%M%S")
        aside = self.path / f"data.mdb.damaged-{stamp}-{os.getpid()}-{len(self.events)}"
        try:
            st = os.lstat(self._data)
            if ident is not None and (st.st_dev, st.st_ino) != ident:
                raise FileNotFoundError  # someone else has already moved it (and made a new one)
            os.rename(self._data, aside)
            done = f"moved aside to {aside.name}"
        except FileNotFoundError:
            done = "already moved aside"
        except OSError as e:
            done = f"could not be moved aside ({e.strerror}): removed"
            try:
                os.unlink(self._data)
            except OSError:
                pass
        else:
            prune_versions(aside, "data.mdb.damaged-*", keep=KEEP_DAMAGED)
            try:
                os.unlink(self.path / "lock.mdb")
            except OSError:
                pass
        self._say(f"AOT cache {self.path}: data.mdb is damaged ({why}); {done}, rebuilding it empty")
        if rebuild:
            self._write(b"I", "rebuilding the store")

    def _count_hit(self, key: str) -> None:
        rec = hashlib.sha256(key.encode()).digest()[: writer.HIT_RECORD]
        try:
            fd = os.open(self.path / writer.HITS_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW |
                         os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
        except OSError:
            return  # (counting is best effort)
        try:
            os.write(fd, rec)
            size = os.fstat(fd).st_size
        except OSError:
            return
        finally:
            os.close(fd)
        if size >= FOLD_HITS_AT:
            self._write(b"F", "counting hits")

    def entries(self) -> list[Entry]:
        import json

        raw = self._read(lambda s: list(s.items(s.subdb(writer.META_DB))))
        pairs: list[tuple[bytes, bytes]] = raw if isinstance(raw, list) else []
        hits = writer.read_hits(self.path / writer.HITS_LOG)
        out = []
        for k, v in pairs:
            key = _printable(k.decode(errors="replace"))
            try:
                m = json.loads(v)
            except (ValueError, RecursionError):
                m = None
            if not isinstance(m, dict):
                m = {}

            n_hits = int(_num(m, "hits")) + hits.get(hashlib.sha256(k).digest()[: writer.HIT_RECORD], 0)
            out.append(Entry(key, key.split(":", 1)[0], _printable(str(m.get("target", "?"))), int(_num(m, "size")),
                             _num(m, "created"), n_hits, _printable(str(m.get("source", "")))))
        return out

    def clear(self) -> int:
        n = len(self.entries())
        self._write(b"C", "clearing")
        for p in [*self.path.glob("data.mdb.damaged-*"), *self.path.glob(f"{writer.HITS_LOG}.fold-*")]:
            try:
                p.unlink()
            except OSError:
                pass
        return n

    def verify(self) -> tuple[int, list[str]]:
        """(entries that verify, problems found): every page of every B-tree of the store read and
        checked, every artifact's MAC checked (a bad entry is discarded), and py-lmdb's offline
        verifier (lmdb.verify: the free pages too) run on the file. Damage is repaired as on any
        read, and is the one problem then."""
        good: list[bytes] = []
        bad: list[tuple[bytes, str]] = []

        def walk(s: lmdbread.Snapshot) -> None:
            good.clear()
            bad.clear()
            _walk(s)
            for k, v in s.items(s.subdb(writer.ART_DB)):
                art, why = self._unseal(k, v or b"")
                if art is not None:
                    good.append(k)
                else:
                    bad.append((k, why or "an entry of an earlier version"))

        seen = len(self.events)
        self._read(walk)
        if "damaged" in self.events[seen:]:
            return 0, [self.reports[-1]]
        problems = []
        for k, why in bad:
            problems.append(f"entry {_printable(k.decode(errors='replace'))[:16]}: {why}; discarded")
            self._write(b"D", "deleting an entry", k)
        why = self._deep_check()
        if why is not None:
            self._damaged(why, None)
            return 0, [*problems, self.reports[-1]]
        if "damaged" in self.events[seen:]:  # (found by the writer, deleting)
            return 0, [*problems, self.reports[-1]]
        return len(good), problems

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())

    # ---- liblmdb in this process (tests and tools only) ----

    @property
    def _env(self) -> lmdb.Environment:
        """A liblmdb environment on the store in this process, for tests and tools that want to
        touch the raw database; the cache itself never maps data.mdb (see the module docstring)."""
        if self._lmdb is None:
            import lmdb

            env = lmdb.open(str(self.path), map_size=MAP_SIZE, max_dbs=4, subdir=True, lock=True, mode=0o600)
            self._lmdb_dbs = (env.open_db(writer.ART_DB), env.open_db(writer.META_DB))
            self._lmdb = env
        return self._lmdb

    @property
    def _art(self) -> lmdb._Database:
        self._env  # noqa: B018 - opens it
        assert self._lmdb_dbs is not None
        return self._lmdb_dbs[0]

    @property
    def _meta(self) -> lmdb._Database:
        self._env  # noqa: B018 - opens it
        assert self._lmdb_dbs is not None
        return self._lmdb_dbs[1]

    # ---- compile / load ----

    def compile(self, wasm: bytes, target: str | None = None, source: str = "") -> tuple[str, bytes, bool]:
        """(key, artifact, was_cached): the artifact for wasm, compiling and storing on a miss."""
        check_wasm(wasm, source)
        t = target or eng.host_target()
        key = self.key_for(wasm, t)
        art = self.get(key, source)
        if art is not None:
            self._count_hit(key)
            self.events.append("hit")
            return key, art, True
        self.events.append("miss")
        self._writer.prestart()  # (its start-up and check of the store overlap the compile)
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
        loaded programs, so that exec of a program already loaded costs no deserialize). A compile
        holds only its own program's lock: other programs load meanwhile (an exec of a huge module
        must not stall every other tenant's spawn), and two loads of one program compile it once."""
        key = self.key_for(wasm, eng.host_target())
        with self._lock:
            mod = self._modules.get(key)
            if mod is not None:
                self._modules.move_to_end(key)
                return mod
            loading = self._loading.setdefault(key, [threading.Lock(), 0])
            loading[1] += 1
        try:
            with loading[0]:
                with self._lock:
                    mod = self._modules.get(key)
                if mod is not None:  # (loaded by the thread this one waited for)
                    return mod
                _, art, _ = self.compile(wasm, None, source)
                try:
                    mod = load_program(art)
                except ValueError as e:
                    raise CacheError(f"{source or 'module'}: {e}") from None
                with self._lock:
                    self._modules[key] = mod
                    if len(self._modules) > MODULE_LRU:
                        self._modules.popitem(last=False)
                return mod
        finally:
            with self._lock:
                loading[1] -= 1
                if loading[1] == 0:
                    del self._loading[key]


def _walk(s: lmdbread.Snapshot) -> None:
    """Reads every page of every B-tree of the store (the free DB, the main DB, the named ones)."""
    for _kv in s.items(s.free, values=False):
        pass
    for name, _ in s.items(s.main, values=False):
        for _kv in s.items(s.subdb(name), values=False):
            pass


def _num(m: dict[str, object], name: str) -> float:
    """A number of an entry's metadata (which nobody vouches for: anything else counts as 0)."""
    x = m.get(name, 0)
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) and abs(x) < 1e18 else 0.0


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
