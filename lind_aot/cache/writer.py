"""The AOT cache's writer: a child process that alone hands data.mdb to liblmdb.

liblmdb maps the file it opens: if another process truncates data.mdb, the next access to a page
past the new end kills the mapping process with SIGBUS, and a hostile page can make liblmdb crash
or hang. So no process that runs cages maps the file: they read it through lind_aot.cache.lmdbread
(pread, every offset checked), and every write goes through this child. It is started when a
lookup misses (its start-up then overlaps the compile) or on the first write, and kept for the
cache's lifetime. If it dies (SIGBUS, SIGSEGV, an abort) or reports damage, the cache moves the file
aside and starts a new child on an empty store; if it does not answer in time, it is killed.

The child checks before each request that the file's meta pages and size agree (by pread), and
reopens its environment if the file was replaced (moved aside or cleared by another process); the
first write transaction on a file it opened runs lmdb.verify (py-lmdb's offline verifier: pure
Python, reads only) over the whole file, with the writer lock held, so that liblmdb never writes
into a file whose free pages or page counts are wrong.

The child imports as little as it can (no site, no pathlib, no signal): its start-up is paid on
a miss. Protocol (stdin / stdout pipes): a request is u32 length, then an op byte and
length-prefixed fields; a response is u32 length, then a status byte (o: ok, d: damaged, e: error)
and a one-line message.
"""

from __future__ import annotations

import os
import select
import struct
import sys
import time

from lind_aot.cache import lmdbread

TYPE_CHECKING = False  # (subprocess, signal, threading: imported by the parent when it needs them)
if TYPE_CHECKING:
    import subprocess
    from pathlib import Path

    import lmdb

MAP_SIZE = 64 << 30  # address space only; the file grows as needed
ART_DB, META_DB = b"artifacts", b"meta"
HITS_LOG = "hits.log"  # 16-byte records: the first 16 bytes of sha256(key), one per cache hit
HIT_RECORD = 16
HITS_LOG_MAX = 16 << 20  # a larger log is dropped unread
TIMEOUT = 60.0  # seconds for one request (a put of a large artifact, with its fsync)
_U32 = struct.Struct("<I")
_SERVE = ("import sys; sys.path[:0] = sys.argv[1:3]; "
          "from lind_aot.cache.writer import serve; raise SystemExit(serve(sys.argv[3]))")


def _frame(parts: list[bytes]) -> bytes:
    body = b"".join(parts)
    return _U32.pack(len(body)) + body


def _fields(fields: tuple[bytes, ...]) -> list[bytes]:
    out = []
    for f in fields:
        out += [_U32.pack(len(f)), f]
    return out


def _parse_fields(body: bytes, at: int) -> list[bytes]:
    out = []
    while at < len(body):
        (n,) = _U32.unpack_from(body, at)
        out.append(body[at + 4 : at + 4 + n])
        at += 4 + n
    return out


def _one_line(text: str) -> str:
    return " ".join(text.split())[:400]


# ---- the parent's side ----


class Writer:
    """The parent's handle on the writer child (spawned lazily, one request at a time)."""

    def __init__(self, path: Path) -> None:
        import threading

        self.path = path
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending = 0  # responses owed for requests sent by prestart()
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def _spawn(self) -> subprocess.Popen[bytes]:
        import importlib.util
        import subprocess

        spec = importlib.util.find_spec("lmdb")
        if not sys.executable or spec is None or not spec.submodule_search_locations:
            raise OSError("no Python interpreter, or no lmdb module, to run it with")
        lmdb_dir = os.path.dirname(list(spec.submodule_search_locations)[0])
        pkg_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self._pid, self._pending = os.getpid(), 0
        return subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _SERVE, pkg_root, lmdb_dir, os.fspath(self.path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=True,  # (terminal signals are for the cages, not for it)
        )

    def _live(self) -> subprocess.Popen[bytes] | None:
        if self._pid != os.getpid():  # a forked child: the pipes are its parent's conversation
            self._proc = None
        if self._proc is not None and self._proc.poll() is not None:
            self._reap()
        return self._proc

    def prestart(self) -> None:
        """Starts the child (if it is not running) and has it check the store, without waiting:
        called when a lookup misses, so that this overlaps the compile."""
        with self._lock:
            if self._live() is not None:
                return
            try:
                self._proc = proc = self._spawn()
                assert proc.stdin is not None
                _send(proc.stdin.fileno(), _frame([b"I"]), time.monotonic() + TIMEOUT)
                self._pending = 1
            except (OSError, TimeoutError):
                pass  # (call() finds out and says so)

    def call(self, op: bytes, *fields: bytes, timeout: float = TIMEOUT) -> tuple[str, str]:
        """(status, message): status "ok", "damaged" (the child found the store damaged), "error"
        (it failed otherwise), "crashed" (it died: message says of what) or "timeout". A check
        that prestart() asked for and that failed is this request's answer (it is not sent)."""
        with self._lock:
            proc = self._live()
            if proc is None:
                try:
                    self._proc = proc = self._spawn()
                except OSError as e:
                    return "error", f"cannot start the cache writer ({e.strerror or e})"
            assert proc.stdin is not None and proc.stdout is not None
            deadline = time.monotonic() + timeout
            try:
                while self._pending:
                    body = _recv(proc.stdout.fileno(), deadline)
                    if body is None:
                        return "crashed", self._reap()
                    self._pending -= 1
                    if body[:1] != b"o":
                        return {b"d": "damaged"}.get(body[:1], "error"), body[1:].decode(errors="replace")
                _send(proc.stdin.fileno(), _frame([op, *_fields(fields)]), deadline)
                body = _recv(proc.stdout.fileno(), deadline)
            except TimeoutError:
                self._kill()
                return "timeout", f"the cache writer did not answer in {timeout:g} s"
            except (OSError, EOFError):
                body = None
            if body is None:
                return "crashed", self._reap()
            return {b"o": "ok", b"d": "damaged"}.get(body[:1], "error"), body[1:].decode(errors="replace")

    def _reap(self) -> str:
        proc, self._proc = self._proc, None
        if proc is None:
            return "the cache writer is gone"
        try:
            rc = _wait(proc, 5)
        finally:
            _close_pipes(proc)
        if rc < 0:
            import signal

            try:
                name = signal.Signals(-rc).name
            except ValueError:
                name = f"signal {-rc}"
            return f"the cache writer died of {name}"
        return f"the cache writer exited with status {rc}"

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            _close_pipes(proc)

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None or self._pid != os.getpid():
            return  # (a forked child's copy: the parent's writer is not ours to stop)
        _close_pipes(proc)  # EOF: it exits
        _wait(proc, 5)


def crash_means_damage(message: str) -> bool:
    """Whether the way the writer died points at the store (a fault on the mapped file, or an
    abort in liblmdb) rather than at the system (killed, out of memory)."""
    return any(s in message for s in ("SIGBUS", "SIGSEGV", "SIGABRT", "SIGILL", "SIGFPE"))


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """Its exit status, killed if it has not exited within timeout seconds."""
    import subprocess

    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    for f in (proc.stdin, proc.stdout):
        if f is not None:
            try:
                f.close()
            except OSError:
                pass


def _send(fd: int, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([], [fd], [], left)[1]:
            raise TimeoutError
        n = os.write(fd, view[: 1 << 16])
        view = view[n:]


def _recv(fd: int, deadline: float | None) -> bytes | None:
    """One frame's body, or None at end of file."""
    head = _read_exact(fd, 4, deadline)
    if head is None:
        return None
    body = _read_exact(fd, _U32.unpack(head)[0], deadline)
    if body is None:
        raise EOFError
    return body


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        b = os.read(fd, min(n - got, 1 << 20))
        if not b:
            if got:
                raise EOFError
            return None
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


# ---- the hits log (appended to by lookups, folded into the entries' metadata by the child) ----


def read_hits(path: str | os.PathLike[str]) -> dict[bytes, int]:
    """Counts of each 16-byte record of a hits log (a file that is not a plain, sane one counts nothing)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return {}
    try:
        st = os.fstat(fd)
        if st.st_mode & 0o170000 != 0o100000 or st.st_size > HITS_LOG_MAX:
            return {}
        data = os.pread(fd, st.st_size, 0)
    finally:
        os.close(fd)
    counts: dict[bytes, int] = {}
    for i in range(0, len(data) - HIT_RECORD + 1, HIT_RECORD):
        rec = data[i : i + HIT_RECORD]
        counts[rec] = counts.get(rec, 0) + 1
    return counts


def take_hits(cache_dir: str) -> dict[bytes, int]:
    """The hits logged so far, the log emptied (renamed away first: appends that race land in a new log)."""
    tmp = os.path.join(cache_dir, f"{HITS_LOG}.fold-{os.getpid()}")
    try:
        os.rename(os.path.join(cache_dir, HITS_LOG), tmp)
    except OSError:
        return {}
    try:
        return read_hits(tmp)
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


# ---- the child's side ----


class _Store:
    """The child's liblmdb environment on <dir>/data.mdb, reopened when the file is replaced."""

    def __init__(self, cache_dir: str) -> None:
        import lmdb

        self.lmdb = lmdb
        self.dir = cache_dir
        self.data = os.path.join(cache_dir, "data.mdb")
        self.env: lmdb.Environment | None = None
        self.dbs: tuple[lmdb._Database, lmdb._Database] | None = None
        self.ident = (0, 0)
        self.verified = False  # lmdb.verify passed on the file, under the writer lock, since it was opened
        self.damage = tuple(getattr(lmdb, n) for n in (
            "CorruptedError", "PageNotFoundError", "InvalidError", "VersionMismatchError", "PanicError",
            "BadTxnError", "IncompatibleError", "BadRslotError", "BadDbiError", "BadValsizeError", "ProblemError",
            "BadChecksumError") if hasattr(lmdb, n))

    def ready(self) -> tuple[lmdb.Environment, lmdb._Database, lmdb._Database]:
        """The environment, after checking the file (Damaged if it is not sound)."""
        if self.lmdb.version()[:2] != (0, 9):
            raise RuntimeError(f"liblmdb {self.lmdb.version()} writes a format lmdbread does not read")
        st = lmdbread.read(self.data, lambda s: os.fstat(s.fd))  # meta pages and size, by pread
        if self.env is not None and (st is None or (st.st_dev, st.st_ino) != self.ident):
            self.close()  # moved aside or replaced: reopen on what is there now
        if self.env is None or self.dbs is None:
            env = self.lmdb.open(self.dir, map_size=MAP_SIZE, max_dbs=4, subdir=True, lock=True, mode=0o600,
                                 create=True)
            try:
                dbs = (env.open_db(ART_DB), env.open_db(META_DB))
                st = os.stat(self.data)
            except BaseException:
                env.close()
                raise
            self.env, self.dbs, self.ident = env, dbs, (st.st_dev, st.st_ino)
            self.verified = False
        return self.env, self.dbs[0], self.dbs[1]

    def begin(self, env: lmdb.Environment) -> lmdb.Transaction:
        """A write transaction; the first on a newly opened file checks the whole file first (with
        the writer lock held, so no other writer's commit can make it look damaged)."""
        txn = env.begin(write=True)
        if not self.verified:
            problems = lmdbread.deep_verify(self.data)
            if problems:
                txn.abort()
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                raise lmdbread.Damaged(f"lmdb.verify: {problems[0]}{more}")
            self.verified = True
        return txn

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
            self.env, self.dbs = None, None

    def handle(self, op: bytes, fields: list[bytes]) -> str:
        env, art, meta = self.ready()
        if op == b"P":  # put key, value, meta
            key, value, info = fields
            with self.begin(env) as txn:
                txn.put(key, value, db=art)
                txn.put(key, info, db=meta)
                self._fold(txn, meta)
            return "stored"
        if op == b"D":  # delete key
            with self.begin(env) as txn:
                txn.delete(fields[0], db=art)
                txn.delete(fields[0], db=meta)
                self._fold(txn, meta)
            return "deleted"
        if op == b"C":  # clear
            with self.begin(env) as txn:
                txn.drop(art, delete=False)
                txn.drop(meta, delete=False)
            try:
                os.unlink(os.path.join(self.dir, HITS_LOG))
            except OSError:
                pass
            return "cleared"
        if op == b"F":  # fold the hits log into the entries' metadata
            with self.begin(env) as txn:
                self._fold(txn, meta)
            return "folded"
        if op == b"I":  # make the store if it is not there (ready() did), and check it
            self.begin(env).abort()
            return "ready"
        raise ValueError(f"unknown request {op!r}")

    def _fold(self, txn: lmdb.Transaction, meta: lmdb._Database) -> None:
        counts = take_hits(self.dir)
        if not counts:
            return
        import hashlib
        import json

        updates = []
        for k, v in txn.cursor(db=meta):
            n = counts.get(hashlib.sha256(k).digest()[:HIT_RECORD])
            if n:
                try:
                    m = json.loads(v)
                    m["hits"] = int(m.get("hits", 0)) + n
                except (ValueError, TypeError, AttributeError, RecursionError):
                    continue
                updates.append((k, json.dumps(m).encode()))
        for k, v in updates:
            txn.put(k, v, db=meta)


def serve(cache_dir: str) -> int:
    """The child's loop: one request at a time from stdin until end of file. (It is in a session of
    its own: the terminal's signals do not reach it.)"""
    out = os.dup(1)  # the protocol's; fd 1 goes to /dev/null, so that nothing else can write into it
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    store = _Store(cache_dir)
    while True:
        try:
            body = _recv(0, None)
        except EOFError:
            return 1
        if body is None:
            store.close()
            return 0
        try:
            reply = b"o" + store.handle(body[:1], _parse_fields(body, 1)).encode()
        except lmdbread.Damaged as e:
            store.close()
            reply = b"d" + _one_line(str(e)).encode()
        except store.damage as e:
            store.close()
            reply = b"d" + _one_line(f"liblmdb: {e}").encode()
        except lmdbread.Busy as e:
            reply = b"e" + _one_line(str(e)).encode()
        except store.lmdb.Error as e:
            store.close()
            reply = b"e" + _one_line(f"liblmdb: {e}").encode()
        except Exception as e:  # noqa: BLE001 - the parent gets it as one line
            store.close()
            reply = b"e" + _one_line(f"{type(e).__name__}: {e}").encode()
        _send(out, _frame([reply]), time.monotonic() + TIMEOUT)
