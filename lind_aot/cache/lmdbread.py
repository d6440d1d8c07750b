"""A reader of LMDB 0.9 data files through pread, for a file nobody vouches for.

liblmdb maps data.mdb and follows the pointers it finds there: a file truncated under a reader
kills it with SIGBUS (which Python cannot catch), and a hostile page can make it read outside the
page. This reader never maps the file: every page is read with os.pread, every length, offset and
page number is checked against the page and the file before it is used, and every structural
surprise is one exception, Damaged, with a one-line reason. The worst a hostile file can do is
make it say so.

Readers do not take a slot in lock.mdb, so a concurrent writer may reuse pages of the snapshot
being read. A writer of transaction L+1 only writes pages that were not in the tree of L (the
pages it frees only become reusable from L+2 on), and it writes the meta page last. So `read`
notes the committed transaction id L before reading and re-reads the meta pages afterwards: if no
transaction newer than L+1 has been committed in between, what was read is L's tree as committed;
otherwise it reads again. A failure that repeats at the same committed transaction id is damage.

The format facts (LMDB 0.9, data version 1, 64-bit, native byte order): two meta pages (0 and 1)
hold the magic, the version, the page size (in the free DB record's pad), the free and main DB
records, the last page used and the transaction id; the newest valid meta is the committed one.
Pages start with a 16-byte header (page number, pad, flags, lower and upper bounds of the free
space; an overflow page keeps its page count where the bounds are). Branch and leaf pages hold an
array of 16-bit node offsets after the header; a node is lo, hi, flags and key size (16 bits each)
then the key, then (leaf) the value, an overflow page number (F_BIGDATA) or a DB record
(F_SUBDATA). A branch node's child page is lo | hi << 16 | flags << 32; its first key is empty.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
import sys
import time

TYPE_CHECKING = False  # (typing and collections.abc are not imported at run time: `lind run` start-up)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import TypeVar

    T = TypeVar("T")

MAGIC = 0xBEEFC0DE
DATA_VERSION = 1
NUM_METAS = 2
PAGEHDRSZ = 16
NODESIZE = 8
MAX_DEPTH = 32  # liblmdb's cursor stack
META_SIZE = 152  # the page header and MDB_meta

P_BRANCH, P_LEAF, P_OVERFLOW, P_META, P_DIRTY, P_LEAF2 = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
F_BIGDATA, F_SUBDATA, F_DUPDATA = 0x01, 0x02, 0x04
MDB_INTEGERKEY = 0x08
P_INVALID = (1 << 64) - 1

_HDR = struct.Struct("=QHHHH")  # pgno, pad, flags, lower, upper
_OVHDR = struct.Struct("=QHHI")  # pgno, pad, flags, pages
_NODE = struct.Struct("=HHHH")  # lo, hi, flags, ksize
_DB = struct.Struct("=IHHQQQQQ")  # pad, flags, depth, branch, leaf, overflow, entries, root
_META = struct.Struct("=II8xQ48s48sQQ")  # magic, version, (address), mapsize, free db, main db, last_pg, txnid
_U64 = struct.Struct("=Q")

OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class Damaged(Exception):
    """data.mdb is not a sound LMDB file; str() is a one-line reason, ident the file's (st_dev, st_ino)."""

    ident: tuple[int, int] = (0, 0)


class Busy(Exception):
    """Concurrent writers kept replacing what was being read (not damage: try again later)."""


class DbRec:
    """An MDB_db record: a B-tree's root page, depth and entry count."""

    __slots__ = ("flags", "depth", "entries", "root", "intkey")

    def __init__(self, raw: bytes, what: str, flags: tuple[int, ...] = (0,)) -> None:
        """flags: the flags the record may have (the main DB and the named ones of this cache: none,
        plain byte-string keys in memcmp order)."""
        self.intkey = False
        _pad, self.flags, self.depth, _b, _l, _o, self.entries, self.root = _DB.unpack(raw)
        if self.flags not in flags or (self.root == P_INVALID) != (self.depth == 0) or self.depth > MAX_DEPTH:
            raise Damaged(f"{what}: bad DB record (flags {self.flags:#x}, depth {self.depth})")


class Snapshot:
    """One committed state of an LMDB data file, read through a file descriptor."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd, self.size = fd, size
        metas = [self._meta(0, None)]
        self.psize = metas[0][0]
        metas.append(self._meta(1, self.psize))
        psize, last_pg, txnid, main, free = max(metas, key=lambda m: m[2])
        if psize != self.psize:
            raise Damaged(f"meta pages disagree on the page size ({self.psize}, {psize})")
        self.last_pg, self.txnid, self.main, self.free = last_pg, txnid, main, free
        need = (last_pg + 1) * psize
        if last_pg < NUM_METAS - 1 or size < need:
            raise Damaged(f"data.mdb is {size} bytes, its meta page (txn {txnid}) needs {need}")
        self.visited: list[int] = []  # the pages read (B-tree pages, first pages of overflow runs)

    def _meta(self, n: int, psize: int | None) -> tuple[int, int, int, DbRec, DbRec]:
        off = 0 if psize is None else psize
        raw = os.pread(self.fd, META_SIZE, off)
        if len(raw) < META_SIZE:
            raise Damaged(f"data.mdb is {self.size} bytes: meta page {n} is cut short")
        pgno, _pad, flags, _lo, _up = _HDR.unpack_from(raw)
        magic, version, _mapsize, free, main, last_pg, txnid = _META.unpack_from(raw, PAGEHDRSZ)
        if magic != MAGIC or not flags & P_META or pgno != n:
            raise Damaged(f"meta page {n} is not an LMDB meta page")
        if version != DATA_VERSION:
            raise Damaged(f"meta page {n}: LMDB data version {version}, this reader knows {DATA_VERSION}")
        page_size = _DB.unpack(free)[0]
        if page_size < 512 or page_size > 0x10000 or page_size & (page_size - 1):
            raise Damaged(f"meta page {n}: bad page size {page_size}")
        if psize is not None and page_size != psize:
            raise Damaged(f"meta page {n}: page size {page_size}, meta page 0 says {psize}")
        free_db = DbRec(free, f"meta page {n}, free DB", (0, MDB_INTEGERKEY))
        free_db.intkey = True  # (liblmdb compares the free DB's keys, transaction ids, as integers)
        return page_size, last_pg, txnid, DbRec(main, f"meta page {n}, main DB"), free_db

    def newest_txnid(self) -> int:
        """The newest transaction id the meta pages show now (re-read)."""
        ids = []
        for n in range(NUM_METAS):
            raw = os.pread(self.fd, 8, n * self.psize + PAGEHDRSZ + _META.size - 8)
            if len(raw) < 8:
                raise Damaged(f"meta page {n} is cut short")
            ids.append(_U64.unpack(raw)[0])
        return max(ids)

    # ---- pages ----

    def _page(self, pgno: int) -> tuple[bytes, int, int, int]:
        """(page, flags, lower, upper) of a branch or leaf page."""
        if not NUM_METAS <= pgno <= self.last_pg:
            raise Damaged(f"page number {pgno} is outside the file's pages 2..{self.last_pg}")
        buf = os.pread(self.fd, self.psize, pgno * self.psize)
        self.visited.append(pgno)
        if len(buf) < self.psize:
            raise Damaged(f"page {pgno} is cut short (the file shrank under the reader)")
        got, _pad, flags, lower, upper = _HDR.unpack_from(buf)
        if got != pgno:
            raise Damaged(f"page {pgno} says it is page {got}")
        kind = flags & ~P_DIRTY
        if kind not in (P_BRANCH, P_LEAF):
            raise Damaged(f"page {pgno}: flags {flags:#x} where a branch or leaf page belongs")
        if lower & 1 or not PAGEHDRSZ + 2 <= lower <= upper <= self.psize:
            raise Damaged(f"page {pgno}: bad bounds (lower {lower}, upper {upper})")
        return buf, kind, lower, upper

    def _nodes(self, pgno: int, buf: bytes, lower: int, upper: int, branch: bool,
               intkey: bool = False) -> Iterator[tuple[int, int, int, int, bytes]]:
        """(offset, lo | hi << 16, flags, key size, key) of each node of a page, the keys checked to be
        in order (but for a branch page's first key, which is empty: its child holds what sorts first)."""
        n = (lower - PAGEHDRSZ) >> 1
        prev: bytes | int | None = None
        end = self.psize
        for i, off in enumerate(struct.unpack_from(f"={n}H", buf, PAGEHDRSZ)):
            if off < upper or off + NODESIZE > end:
                raise Damaged(f"page {pgno}: node {i} at offset {off} is outside the page's nodes")
            lo, hi, flags, ksize = _NODE.unpack_from(buf, off)
            if off + NODESIZE + ksize > end:
                raise Damaged(f"page {pgno}: key of node {i} runs past the page")
            if branch and i == 0:
                yield off, lo | hi << 16, flags, ksize, b""
                continue
            key = buf[off + NODESIZE : off + NODESIZE + ksize]
            order: bytes | int = int.from_bytes(key, sys.byteorder) if intkey else key
            if prev is not None and order <= prev:  # type: ignore[operator]
                raise Damaged(f"page {pgno}: keys out of order at node {i}")
            prev = order
            yield off, lo | hi << 16, flags, ksize, key

    def _children(self, pgno: int, buf: bytes, lower: int, upper: int, intkey: bool = False) -> list[tuple[bytes, int]]:
        nodes = self._nodes(pgno, buf, lower, upper, True, intkey)
        out = [(key, lohi | flags << 32) for _off, lohi, flags, _ks, key in nodes]
        if not out:
            raise Damaged(f"branch page {pgno} is empty")
        return out

    def _value(self, pgno: int, buf: bytes, off: int, dsize: int, flags: int, ksize: int) -> bytes:
        at = off + NODESIZE + ksize
        if flags & F_DUPDATA or flags & ~(F_BIGDATA | F_SUBDATA):
            raise Damaged(f"page {pgno}: node flags {flags:#x} (duplicate keys are not used here)")
        if not flags & F_BIGDATA:
            if at + dsize > self.psize:
                raise Damaged(f"page {pgno}: a value runs past the page")
            return buf[at : at + dsize]
        if at + 8 > self.psize:
            raise Damaged(f"page {pgno}: an overflow page number runs past the page")
        ov = _U64.unpack_from(buf, at)[0]
        need = (PAGEHDRSZ + dsize + self.psize - 1) // self.psize
        if not NUM_METAS <= ov or ov + need - 1 > self.last_pg:
            raise Damaged(f"page {pgno}: overflow pages {ov}+{need} are outside the file's pages")
        hdr = os.pread(self.fd, PAGEHDRSZ, ov * self.psize)
        if len(hdr) < PAGEHDRSZ:
            raise Damaged(f"overflow page {ov} is cut short")
        got, _pad, oflags, pages = _OVHDR.unpack(hdr)
        if got != ov or oflags & ~P_DIRTY != P_OVERFLOW or pages < need or ov + pages - 1 > self.last_pg:
            raise Damaged(f"overflow page {ov}: bad header (page {got}, flags {oflags:#x}, {pages} pages)")
        data = os.pread(self.fd, dsize, ov * self.psize + PAGEHDRSZ)
        self.visited.append(ov)
        if len(data) < dsize:
            raise Damaged(f"overflow page {ov} is cut short (the file shrank under the reader)")
        return data

    # ---- B-trees ----

    def _node(self, pgno: int, buf: bytes, off: int, upper: int) -> tuple[int, int, int, bytes]:
        """(lo | hi << 16, flags, key size, key) of the node at off, bounds checked."""
        if off < upper or off + NODESIZE > self.psize:
            raise Damaged(f"page {pgno}: a node at offset {off} is outside the page's nodes")
        lo, hi, flags, ksize = _NODE.unpack_from(buf, off)
        end = off + NODESIZE + ksize
        if end > self.psize:
            raise Damaged(f"page {pgno}: a key runs past the page")
        return lo | hi << 16, flags, ksize, buf[off + NODESIZE : end]

    def get(self, db: DbRec | None, key: bytes) -> bytes | None:
        """The value stored under key in db, or None. A binary search on each page: the pages on the
        way are checked (header, bounds of every node read), not the order of all their keys (items()
        does that); a wrong answer can only be a value that then fails its MAC, or a miss."""
        if db is None or db.root == P_INVALID:
            return None
        pgno = db.root
        for depth in range(1, MAX_DEPTH + 1):
            buf, kind, lower, upper = self._page(pgno)
            n = (lower - PAGEHDRSZ) >> 1
            ptrs = struct.unpack_from(f"={n}H", buf, PAGEHDRSZ)
            if kind == P_BRANCH:
                if depth >= db.depth:
                    raise Damaged(f"page {pgno}: a branch page at depth {depth} of a tree of depth {db.depth}")
                lo, hi = 1, n  # the child to take: the last whose key is <= key (node 0: everything before)
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if self._node(pgno, buf, ptrs[mid], upper)[3] <= key:
                        lo = mid + 1
                    else:
                        hi = mid
                lohi, flags, _ks, _k = self._node(pgno, buf, ptrs[lo - 1], upper)
                pgno = lohi | flags << 32
                continue
            if depth != db.depth:
                raise Damaged(f"page {pgno}: a leaf page at depth {depth} of a tree of depth {db.depth}")
            lo, hi = 0, n
            while lo < hi:
                mid = (lo + hi) >> 1
                off = ptrs[mid]
                dsize, flags, ksize, k = self._node(pgno, buf, off, upper)
                if k == key:
                    if flags & F_SUBDATA and db is not self.main:
                        raise Damaged(f"page {pgno}: a sub-database where a value belongs")
                    return self._value(pgno, buf, off, dsize, flags, ksize)
                if k < key:
                    lo = mid + 1
                else:
                    hi = mid
            return None
        raise Damaged("a B-tree deeper than 32 levels")

    def items(self, db: DbRec | None, values: bool = True) -> Iterator[tuple[bytes, bytes | None]]:
        """Every (key, value) of db in key order (values None unless `values`); every page is checked,
        and that no page is reachable twice, that the keys are in order across pages and that the
        tree holds as many entries as its record says."""
        if db is None or db.root == P_INVALID:
            return
        seen: set[int] = set()
        last: bytes | int = b""
        count = 0
        stack = [(db.root, 1)]
        while stack:
            pgno, depth = stack.pop()
            if pgno in seen:
                raise Damaged(f"page {pgno} is reachable twice")
            seen.add(pgno)
            buf, kind, lower, upper = self._page(pgno)
            if kind == P_BRANCH:
                if depth >= db.depth:
                    raise Damaged(f"page {pgno}: a branch page at depth {depth} of a tree of depth {db.depth}")
                children = self._children(pgno, buf, lower, upper, db.intkey)
                stack.extend((child, depth + 1) for _k, child in reversed(children))
                continue
            if depth != db.depth:
                raise Damaged(f"page {pgno}: a leaf page at depth {depth} of a tree of depth {db.depth}")
            for off, dsize, flags, ksize, k in self._nodes(pgno, buf, lower, upper, False, db.intkey):
                order: bytes | int = int.from_bytes(k, sys.byteorder) if db.intkey else k
                if count and order <= last:  # type: ignore[operator]
                    raise Damaged(f"page {pgno}: keys out of order across pages")
                last = order
                count += 1
                if flags & F_DUPDATA or flags & ~(F_BIGDATA | F_SUBDATA):
                    raise Damaged(f"page {pgno}: node flags {flags:#x} (duplicate keys are not used here)")
                yield k, self._value(pgno, buf, off, dsize, flags, ksize) if values else None
        if count != db.entries:
            raise Damaged(f"a B-tree holds {count} entries, its record says {db.entries}")

    def subdb(self, name: bytes) -> DbRec | None:
        """The record of the named database `name` (stored in the main DB), or None."""
        raw = self.get(self.main, name)
        if raw is None:
            return None
        if len(raw) != _DB.size:
            raise Damaged(f"the record of database {name.decode(errors='replace')} is {len(raw)} bytes")
        return DbRec(raw, f"database {name.decode(errors='replace')}")


def open_data(path: str | os.PathLike[str]) -> tuple[int, os.stat_result] | None:
    """(fd, stat) of a data file that is a regular file, or None if there is none; Damaged if it is
    something else (a symbolic link, a FIFO, a directory...)."""
    try:
        fd = os.open(path, OPEN_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as e:
        what = "is a symbolic link" if e.errno == errno.ELOOP else f"cannot be opened ({os.strerror(e.errno or 0)})"
        raise _damaged(f"data.mdb {what}", path) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise _damaged("data.mdb is not a regular file", path)
    return fd, st


def _damaged(why: str, path: str | os.PathLike[str]) -> Damaged:
    err = Damaged(why)
    try:
        st = os.lstat(path)
        err.ident = (st.st_dev, st.st_ino)
    except OSError:
        pass
    return err


def read(path: str | os.PathLike[str], fn: Callable[[Snapshot], T], attempts: int = 8) -> T | None:
    """fn(snapshot) on the committed state of the data file at path (None if there is no file).
    Raises Damaged (with .ident, the (st_dev, st_ino) of the damaged file) when reading fails twice
    at the same committed transaction, and Busy when writers kept overwriting what was being read."""
    failed_at: int | None = None
    for attempt in range(attempts):
        opened = open_data(path)
        if opened is None:
            return None
        fd, st = opened
        txnid = -1
        try:
            snap = Snapshot(fd, st.st_size)
            txnid = snap.txnid
            result = fn(snap)
            if snap.newest_txnid() <= txnid + 1:
                return result
            continue  # overwritten while read: again
        except Damaged as e:
            err = e
        except (struct.error, ValueError, IndexError, OverflowError, MemoryError) as e:
            err = Damaged(f"unreadable structure ({type(e).__name__})")
        except OSError as e:
            err = Damaged(f"read error ({os.strerror(e.errno or 0)})")
        finally:
            os.close(fd)
        err.ident = (st.st_dev, st.st_ino)
        if txnid == failed_at:
            raise err
        failed_at = txnid
        time.sleep(0.001 * (attempt + 1))  # a writer mid-commit, or a file being replaced
    raise Busy("data.mdb kept changing under the reader")


def deep_verify(path: str | os.PathLike[str]) -> list[str]:
    """The problems py-lmdb's offline verifier (lmdb.verify: pure Python, reads, never maps) finds in
    the data file at path: every invariant of the file at rest, the free pages and the page counts
    of every tree too (which liblmdb trusts when it writes). [] if it is sound, or absent."""
    try:
        from lmdb.verify import VerifyError, verify
    except ImportError:  # (an older py-lmdb: the B-tree walk of this module is all there is)
        return []
    opened = open_data(path)  # (a regular file, not a link or a FIFO)
    if opened is None:
        return []
    os.close(opened[0])
    try:
        return [" ".join(str(p).split()) for p in verify(os.fspath(path), subdir=False)]
    except VerifyError as e:
        return [" ".join(str(e).split())]
    except (OSError, ValueError, IndexError, KeyError, struct.error, RecursionError, MemoryError) as e:
        return [f"{type(e).__name__}: {e}"]
