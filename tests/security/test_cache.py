"""Cache trust (issue 15, item 7): the AOT cache is attacked as the cache directory's other writers
could, and must never run the wrong program, never crash, and report and repair what it finds.

Everything that could die of the attack (SIGBUS on a truncated map, a liblmdb fault) runs in a
subprocess: a `lind` command, or a probe script on the API; the test process never maps data.mdb
while it is being damaged.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import lmdb
import pytest
from conftest import C_DIR, REPO, build_cage, run_lind

from lind_aot.cache import lmdbread
from lind_aot.cache.store import ArtifactCache, CacheError, _walk
from lind_aot.vmm import engine as eng

HELLO_OUT = b"argv[1]=[one]"  # args_env_exit.c, run with "one"
OTHER_OUT = b"sin="  # math.c
REPORT = re.compile(r"^lind: AOT cache .*: (data\.mdb is damaged \(.+\); .+, rebuilding it empty"
                    r"|the entry for .+ failed verification \(.+\); discarded, recompiling"
                    r"|a new secret\.key \(.+\); the entries made under the old one are dropped)$")


class Progs:
    def __init__(self, hello: Path, other: Path, template: Path, arts: dict[str, bytes]) -> None:
        self.hello, self.other, self.template, self.arts = hello, other, template, arts

    def key(self, name: str) -> str:
        return ArtifactCache.key_for((self.hello if name == "hello" else self.other).read_bytes(), eng.host_target())


@pytest.fixture(scope="module")
def progs(tmp_path_factory: pytest.TempPathFactory) -> Progs:
    """Two programs, and a template cache holding both (copied for each attack)."""
    hello, other = build_cage(C_DIR / "args_env_exit.c"), build_cage(C_DIR / "math.c")
    template = tmp_path_factory.mktemp("template") / "cache"
    c = ArtifactCache(template)
    arts = {name: c.compile(p.read_bytes(), None, name)[1] for name, p in (("hello", hello), ("other", other))}
    c.close()
    return Progs(hello, other, template, arts)


def fresh_cache(progs: Progs, tmp_path: Path) -> Path:
    d = tmp_path / "cache"
    d.mkdir(mode=0o700, parents=True)
    for name in ("data.mdb", "secret.key"):
        shutil.copy2(progs.template / name, d / name)
    return d


def report_lines(stderr: bytes) -> list[str]:
    """stderr's lines, each of which must be one of the cache's one-line reports."""
    lines = stderr.decode(errors="replace").splitlines()
    for line in lines:
        assert REPORT.match(line), f"not a one-line cache report: {line!r} (stderr: {lines})"
    return lines


def sound(cache: Path) -> int:
    """The number of artifacts of a store that reads as sound (lmdbread, every page of every tree)."""
    def count(s: lmdbread.Snapshot) -> int:
        _walk(s)
        return sum(1 for _ in s.items(s.subdb(b"artifacts"), values=False))
    n = lmdbread.read(cache / "data.mdb", count)
    assert n is not None
    return n


def run(progs: Progs, cache: Path, root: Path, name: str) -> subprocess.CompletedProcess[bytes]:
    prog = progs.hello if name == "hello" else progs.other
    r = run_lind(["run", "--cache", str(cache), "--root", str(root), str(prog), "one"], timeout=120)
    assert r.returncode == 0, r.stderr
    assert (HELLO_OUT if name == "hello" else OTHER_OUT) in r.stdout, f"{name} ran something else: {r.stdout[:200]!r}"
    assert (OTHER_OUT if name == "hello" else HELLO_OUT) not in r.stdout
    return subprocess.CompletedProcess([], r.returncode, r.stdout, r.stderr)


PROBE = r"""
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from lind_aot.api import Sandbox
cache, root, hello, other, refs = sys.argv[2:7]
refs = json.loads(Path(refs).read_text())
sb = Sandbox(root=root, cache=cache)
r = sb.run(hello, ["one"])
same = {}
for name, p in (("hello", hello), ("other", other)):
    art = sb.cache.compile(Path(p).read_bytes(), None, name)[1]
    same[name] = art == Path(refs[name]).read_bytes()
print(json.dumps({"rc": r.returncode, "out": r.stdout.decode(errors="replace"), "same": same,
                  "events": sb.cache.events}))
"""


def probe(progs: Progs, cache: Path, root: Path) -> tuple[dict[str, object], list[str]]:
    """A fresh API process on the cache: runs hello, then loads both programs through the store.
    (Its result, and its stderr's report lines.)"""
    refs = {}
    for name, art in progs.arts.items():
        p = root.parent / f"{name}.artifact"
        p.write_bytes(art)
        refs[name] = str(p)
    (root.parent / "refs.json").write_text(json.dumps(refs))
    r = subprocess.run([sys.executable, "-c", PROBE, str(REPO), str(cache), str(root), str(progs.hello),
                        str(progs.other), str(root.parent / "refs.json")], capture_output=True, timeout=180)
    assert r.returncode == 0, f"the API process failed ({r.returncode}): {r.stderr.decode(errors='replace')}"
    out = json.loads(r.stdout.decode().splitlines()[-1])
    assert out["rc"] == 0 and HELLO_OUT.decode() in out["out"], out
    assert out["same"] == {"hello": True, "other": True}, f"a wrong artifact was loaded: {out}"
    return out, report_lines(r.stderr)


def swap_values(cache: Path, k1: str, k2: str) -> None:
    with lmdb.open(str(cache), max_dbs=4, map_size=1 << 30, subdir=True) as env:
        db = env.open_db(b"artifacts")
        with env.begin(write=True, db=db) as txn:
            v1, v2 = txn.get(k1.encode()), txn.get(k2.encode())
            assert v1 is not None and v2 is not None and v1 != v2
            txn.put(k1.encode(), v2)
            txn.put(k2.encode(), v1)


def btree_pages(data: bytes) -> tuple[int, list[tuple[int, int, int]]]:
    """(page size, the branch and leaf pages of an LMDB file as (page, lower, upper)), the meta pages
    not included."""
    psize = struct.unpack_from("=I", data, 40)[0]
    pages = []
    for pgno in range(2, len(data) // psize):
        num, flags, lower, upper = struct.unpack_from("=Q2xHHH", data, pgno * psize)
        if num == pgno and flags in (1, 2):
            pages.append((pgno, lower, upper))
    return psize, pages


def flip(cache: Path, seed: int, n: int, btree_only: bool) -> list[int]:
    """n bytes of data.mdb past the meta pages changed (seeded): in the used part of B-tree pages
    (the header, the node offsets, the nodes; not the free space in the middle), or anywhere."""
    p = cache / "data.mdb"
    data = bytearray(p.read_bytes())
    psize, pages = btree_pages(bytes(data))
    rnd = random.Random(seed)
    offs = []
    for _ in range(n):
        if btree_only:
            pgno, lower, upper = rnd.choice(pages)
            used = [*range(0, min(lower, psize)), *range(min(upper, psize), psize)]
            off = pgno * psize + rnd.choice(used)
        else:
            off = rnd.randrange(2 * psize, len(data))
        data[off] ^= rnd.randrange(1, 256)
        offs.append(off)
    p.write_bytes(bytes(data))
    return offs


def _damage_found(cache: Path) -> bool:
    c = ArtifactCache(cache, report=lambda m: None)
    try:
        return c._check() is not None
    finally:
        c.close()


# ---- (a) two valid entries swapped ----


def test_swapped_entries_run_the_right_programs(progs: Progs, tmp_path: Path, root: Path) -> None:
    cache = fresh_cache(progs, tmp_path)
    swap_values(cache, progs.key("hello"), progs.key("other"))
    for name in ("hello", "other"):
        r = run(progs, cache, root, name)  # the right program's output, not the other's
        lines = report_lines(r.stderr)
        assert len(lines) == 1 and "failed verification (MAC mismatch" in lines[0], lines
    for name in ("hello", "other"):  # repaired: hits now, nothing to report
        assert run(progs, cache, root, name).stderr == b""
    c = ArtifactCache(cache)
    try:
        assert c.verify() == (2, [])
        for name in ("hello", "other"):
            assert c.get(progs.key(name)) == progs.arts[name]
    finally:
        c.close()


def test_entry_copied_under_another_key_is_not_used(progs: Progs, tmp_path: Path) -> None:
    cache = fresh_cache(progs, tmp_path)
    with lmdb.open(str(cache), max_dbs=4, map_size=1 << 30) as env:
        db = env.open_db(b"artifacts")
        with env.begin(write=True, db=db) as txn:
            txn.put(progs.key("hello").encode(), txn.get(progs.key("other").encode()))
    reports: list[str] = []
    c = ArtifactCache(cache, report=reports.append)
    try:
        assert c.get(progs.key("hello"), "hello") is None
        assert c.events == ["discarded"] and len(reports) == 1
        assert c.compile(progs.hello.read_bytes(), None, "hello")[1:] == (progs.arts["hello"], False)
        assert c.get(progs.key("other")) == progs.arts["other"]
    finally:
        c.close()


# ---- (b) a truncated data.mdb ----


@pytest.mark.parametrize("frac", [0.1, 0.5, 0.9])
def test_truncated_store_lind_run(progs: Progs, tmp_path: Path, root: Path, frac: float) -> None:
    cache = fresh_cache(progs, tmp_path)
    size = (cache / "data.mdb").stat().st_size
    os.truncate(cache / "data.mdb", int(size * frac))
    r = run(progs, cache, root, "hello")
    lines = report_lines(r.stderr)
    assert len(lines) == 1 and "data.mdb is damaged" in lines[0], lines
    assert list(cache.glob("data.mdb.damaged-*")), "the damaged file was not moved aside"
    assert sound(cache) == 1  # rebuilt, with the program just compiled
    assert run(progs, cache, root, "hello").stderr == b""


@pytest.mark.parametrize("frac", [0.1, 0.5, 0.9])
def test_truncated_store_cache_clear(progs: Progs, tmp_path: Path, frac: float) -> None:
    cache = fresh_cache(progs, tmp_path)
    os.truncate(cache / "data.mdb", int((cache / "data.mdb").stat().st_size * frac))
    r = run_lind(["cache", "clear", "--cache", str(cache)])
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"removed 0 entries\n"
    lines = report_lines(r.stderr)
    assert len(lines) == 1 and "data.mdb is damaged" in lines[0], lines
    assert sound(cache) == 0  # rebuilt empty
    r = run_lind(["cache", "stats", "--cache", str(cache)])
    assert r.returncode == 0 and b"entries:   0" in r.stdout and r.stderr == b""


@pytest.mark.parametrize("frac", [0.1, 0.5, 0.9])
def test_truncated_store_api(progs: Progs, tmp_path: Path, root: Path, frac: float) -> None:
    cache = fresh_cache(progs, tmp_path)
    os.truncate(cache / "data.mdb", int((cache / "data.mdb").stat().st_size * frac))
    out, lines = probe(progs, cache, root)
    assert len(lines) == 1 and "data.mdb is damaged" in lines[0], lines
    events = out["events"]
    assert isinstance(events, list) and events[0] == "damaged" and events.count("damaged") == 1, out
    assert sound(cache) == 2


def test_data_file_replaced_by_a_link_or_a_fifo(progs: Progs, tmp_path: Path, root: Path) -> None:
    for kind in ("symlink", "fifo", "empty"):
        cache = fresh_cache(progs, tmp_path / kind)
        (cache / "data.mdb").unlink()
        if kind == "symlink":
            (cache / "data.mdb").symlink_to(progs.template / "data.mdb")
        elif kind == "fifo":
            os.mkfifo(cache / "data.mdb")
        else:
            (cache / "data.mdb").write_bytes(b"")
        r = run(progs, cache, root, "hello")
        lines = report_lines(r.stderr)
        assert len(lines) == 1 and "data.mdb is damaged" in lines[0], (kind, lines)
        assert sound(cache) == 1


# ---- (c) bytes changed in pages ----


@pytest.mark.parametrize("where", ["btree", "anywhere"])
@pytest.mark.parametrize("seed", range(6))
def test_flipped_bytes(progs: Progs, tmp_path: Path, root: Path, seed: int, where: str) -> None:
    cache = fresh_cache(progs, tmp_path)
    flip(cache, seed, 8, where == "btree")
    shutil.copytree(cache, tmp_path / "before")
    damaged = _damage_found(tmp_path / "before")  # (whether the flips broke the structure)
    out, lines = probe(progs, cache, root)  # the right programs, whatever was flipped
    r = run_lind(["cache", "verify", "--cache", str(cache)])
    assert r.returncode in (0, 1), r.stderr
    lines += report_lines(r.stderr)
    if damaged:
        assert any("data.mdb is damaged" in line for line in lines), (out, lines)
    # and now it is repaired: everything verifies, and is the right code
    r = run_lind(["cache", "verify", "--cache", str(cache)])
    assert r.returncode == 0 and r.stderr == b"", (r.stdout, r.stderr)
    c = ArtifactCache(cache)
    try:
        for name in ("hello", "other"):
            assert c.get(progs.key(name)) in (progs.arts[name], None)
    finally:
        c.close()
    run(progs, cache, root, "other")


# ---- (d) a process holding the cache survives another one damaging it ----

HOLDER = r"""
import json, os, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from lind_aot.api import Sandbox
from lind_aot.cache.store import ArtifactCache
cache_dir, root, stop = sys.argv[2], sys.argv[3], Path(sys.argv[4])
progs = json.loads(sys.argv[5])
cache = ArtifactCache(Path(cache_dir), report=lambda m: print("REPORT", m, flush=True))
sb = Sandbox(root=root, cache=cache)
wasm = {n: Path(p).read_bytes() for n, (p, _) in progs.items()}
ref = {n: Path(a).read_bytes() for n, (_, a) in progs.items()}
i = 0
while not stop.exists():
    for n in progs:
        cache._modules.clear()
        cache.load(wasm[n], n)
        art = cache.compile(wasm[n], None, n)[1]
        if art != ref[n]:
            print("WRONG", n, flush=True)
            sys.exit(3)
    if i % 5 == 0:
        r = sb.run(progs["hello"][0], ["one"])
        if b"argv[1]=[one]" not in r.stdout:
            print("WRONG OUTPUT", r.stdout[:100], flush=True)
            sys.exit(4)
    print("LOOP", i, json.dumps(cache.events[-4:]), flush=True)
    i += 1
print("DONE", i, flush=True)
"""


def test_holder_survives_damage_by_another_process(progs: Progs, tmp_path: Path, root: Path) -> None:
    cache = fresh_cache(progs, tmp_path)
    arts = {}
    for name, art in progs.arts.items():
        arts[name] = tmp_path / f"{name}.artifact"
        arts[name].write_bytes(art)
    stop = tmp_path / "stop"
    spec = {"hello": [str(progs.hello), str(arts["hello"])], "other": [str(progs.other), str(arts["other"])]}
    log = tmp_path / "holder.log"
    with open(log, "wb") as out:
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(REPO), str(cache), str(root), str(stop),
                                   json.dumps(spec)], stdout=out, stderr=subprocess.STDOUT)

    def loops() -> int:
        return sum(1 for line in log.read_bytes().splitlines() if line.startswith(b"LOOP "))

    def wait_loops(n: int, limit: float = 120) -> None:
        start, t0 = loops(), time.monotonic()
        while loops() < start + n:
            assert holder.poll() is None, f"the holder died ({holder.returncode}): {log.read_text()[-2000:]}"
            assert time.monotonic() - t0 < limit, f"the holder is stuck: {log.read_text()[-2000:]}"
            time.sleep(0.05)

    data = cache / "data.mdb"
    try:
        wait_loops(3)
        os.truncate(data, data.stat().st_size // 2)  # truncated under it
        wait_loops(4)
        flip(cache, 7, 16, btree_only=True)  # pages damaged under it
        wait_loops(4)
        end = time.monotonic() + 3  # and again and again, while it rebuilds and writes
        rnd = random.Random(3)
        while time.monotonic() < end:
            try:
                size = data.stat().st_size
                if rnd.random() < 0.5:
                    os.truncate(data, int(size * rnd.choice([0.1, 0.5, 0.9])))
                elif size > 8192:
                    with open(data, "r+b") as f:
                        f.seek(rnd.randrange(8192, size))
                        f.write(bytes([rnd.randrange(256)]))
            except FileNotFoundError:
                pass
            time.sleep(rnd.uniform(0.005, 0.05))
        wait_loops(4)  # alive, and back to work
        stop.touch()
        assert holder.wait(120) == 0, f"the holder died ({holder.returncode}): {log.read_text()[-3000:]}"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    text = log.read_text()
    assert "WRONG" not in text and "Traceback" not in text, text[-3000:]
    assert "DONE" in text
    assert "REPORT AOT cache" in text and "data.mdb is damaged" in text, text[-3000:]
    last = [json.loads(line.split(" ", 2)[2]) for line in text.splitlines() if line.startswith("LOOP ")][-1]
    assert last[-1] == "hit", text[-2000:]  # repaired: hits again
    assert sound(cache) == 2


# ---- (e) the secret key ----


def forge(cache: Path, progs: Progs, secret: bytes) -> None:
    """What anyone who knows the secret (here: an empty one) can do: the other program's code
    stored, correctly sealed, as hello's."""
    f = ArtifactCache.__new__(ArtifactCache)
    f._secret = secret
    kb = progs.key("hello").encode()
    with lmdb.open(str(cache), max_dbs=4, map_size=1 << 30) as env:
        db = env.open_db(b"artifacts")
        with env.begin(write=True, db=db) as txn:
            txn.put(kb, f._seal(kb, progs.arts["other"]))


@pytest.mark.parametrize("secret", [b"", b"short"])
def test_empty_or_short_secret_is_not_used(progs: Progs, tmp_path: Path, root: Path, secret: bytes) -> None:
    cache = fresh_cache(progs, tmp_path)
    (cache / "secret.key").write_bytes(secret)
    forge(cache, progs, secret)
    r = run(progs, cache, root, "hello")  # hello, not the forged entry
    lines = report_lines(r.stderr)
    assert len(lines) == 1 and "a new secret.key" in lines[0], lines
    new = (cache / "secret.key").read_bytes()
    assert len(new) >= 32 and new != secret
    assert (cache / "secret.key").stat().st_mode & 0o777 == 0o600
    assert sound(cache) == 1  # the old entries were dropped; hello is stored anew
    assert run(progs, cache, root, "hello").stderr == b""


def test_forged_entry_with_a_sound_secret_is_refused(progs: Progs, tmp_path: Path, root: Path) -> None:
    cache = fresh_cache(progs, tmp_path)
    forge(cache, progs, b"")  # (sealed under an empty key, the cache's is not)
    lines = report_lines(run(progs, cache, root, "hello").stderr)
    assert len(lines) == 1 and "MAC mismatch" in lines[0]


@pytest.mark.parametrize("how", ["mode", "owner", "symlink", "directory", "hardlink"])
def test_untrusted_secret_is_refused(progs: Progs, tmp_path: Path, root: Path, how: str) -> None:
    cache = fresh_cache(progs, tmp_path)
    key = cache / "secret.key"
    if how == "mode":
        key.chmod(0o644)
    elif how == "owner":
        if os.geteuid() != 0:
            pytest.skip("needs root to give the file to another user")
        os.chown(key, 65534, -1)
    elif how == "symlink":
        shutil.copy2(key, tmp_path / "elsewhere.key")
        key.unlink()
        key.symlink_to(tmp_path / "elsewhere.key")
    elif how == "hardlink":  # a second name, elsewhere, for the file
        os.link(key, tmp_path / "elsewhere.key")
    else:
        key.unlink()
        key.mkdir()
    before = key.lstat()
    for args in (["run", "--cache", str(cache), "--root", str(root), str(progs.hello), "one"],
                 ["cache", "stats", "--cache", str(cache)]):
        r = run_lind(args)
        assert r.returncode != 0 and HELLO_OUT not in r.stdout
        lines = r.stderr.decode().splitlines()
        assert len(lines) == 1 and "secret.key" in lines[0] and "refusing to trust" in lines[0], lines
    after = key.lstat()
    assert (after.st_mode, after.st_uid, after.st_ino) == (before.st_mode, before.st_uid, before.st_ino)
    with pytest.raises(CacheError, match="refusing to trust"):
        ArtifactCache(cache)
