"""The AOT cache's damage drill: the cache is attacked as its directory's other writers could, then
used as usual (`lind run` of two programs, `lind cache verify`), and the drill tells for each attack
whether it was detected, what the one-line report said, whether the cache recovered, and whether
a wrong program ever ran (it must never).

Cases: two valid entries swapped; data.mdb truncated to 10, 50 and 90 %; N pages each with a few
bytes changed (seeded: a random page past the meta pages that the store's trees use, B-tree or
overflow, and random bytes of its used part).

Run: `.venv/bin/python bench/cache_drill.py [--flips N] [--seed S]`. Exit status 1 if a wrong program
ran, a command crashed, or the cache did not recover.
"""

from __future__ import annotations

import argparse
import random
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

import lmdb  # noqa: E402

from lind_aot.cache import lmdbread  # noqa: E402
from lind_aot.cache.store import ArtifactCache  # noqa: E402
from lind_aot.vmm import engine as eng  # noqa: E402

LIND = [sys.executable, "-m", "lind_aot.cli"]
OUT = REPO / "build" / "bench" / "drill"
PROGRAMS = {"hello": ("args_env_exit", b"argv[1]=[one]"), "other": ("math", b"sin=")}


@dataclass
class Row:
    case: str
    detected: str
    message: str
    recovered: bool
    wrong: int
    runs: int
    crashed: int


def build() -> dict[str, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, (src, _) in PROGRAMS.items():
        c, wasm = REPO / "tests" / "c" / f"{src}.c", OUT / f"{src}.wasm"
        if not wasm.exists() or wasm.stat().st_mtime < c.stat().st_mtime:
            subprocess.run([*LIND, "cc", "-O2", "-o", str(wasm), str(c), "-lm"], check=True, cwd=REPO)
        out[name] = wasm
    return out


def lind(args: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*LIND, *args], capture_output=True, cwd=REPO, timeout=300)


class Drill:
    def __init__(self, work: Path, wasm: dict[str, Path]) -> None:
        self.work, self.wasm = work, wasm
        self.root = work / "root"
        self.root.mkdir()
        self.template = work / "template"
        c = ArtifactCache(self.template)
        for name, p in wasm.items():
            c.compile(p.read_bytes(), None, name)
        c.close()
        self.keys = {n: ArtifactCache.key_for(p.read_bytes(), eng.host_target()) for n, p in wasm.items()}

    def fresh(self, case: str) -> Path:
        d = self.work / case.replace(" ", "_").replace("%", "pc")
        d.mkdir(mode=0o700)
        for f in ("data.mdb", "secret.key"):
            shutil.copy2(self.template / f, d / f)
        return d

    def use(self, cache: Path) -> tuple[list[str], int, int, int]:
        """Both programs run once: (report lines, wrong-program runs, runs, crashed commands)."""
        lines, wrong, crashed = [], 0, 0
        for name, p in self.wasm.items():
            r = lind(["run", "--cache", str(cache), "--root", str(self.root), str(p), "one"])
            lines += r.stderr.decode(errors="replace").splitlines()
            mine = PROGRAMS[name][1]
            others = [m for n, (_, m) in PROGRAMS.items() if n != name]
            if any(m in r.stdout for m in others) or (r.returncode == 0 and mine not in r.stdout):
                wrong += 1
            if r.returncode != 0:
                crashed += 1
        return lines, wrong, len(self.wasm), crashed

    def verify(self, cache: Path) -> tuple[list[str], bool, bool]:
        """`lind cache verify`: (its problem and report lines, whether it found nothing, whether it crashed)."""
        r = lind(["cache", "verify", "--cache", str(cache)])
        out = [line for line in r.stdout.decode(errors="replace").splitlines() if "entries verified" not in line]
        return out + r.stderr.decode(errors="replace").splitlines(), r.returncode == 0, r.returncode not in (0, 1)

    def damage_present(self, cache: Path) -> bool:
        """Whether anything checkable is wrong with the store (before it is used): its structure
        (lmdbread's walk, lmdb.verify) or an entry's MAC."""
        c = ArtifactCache(cache, report=lambda m: None)
        try:
            if c._check() is not None:
                return True
            bad = []

            def macs(s: lmdbread.Snapshot) -> None:
                bad.clear()
                for k, v in s.items(s.subdb(b"artifacts")):
                    if c._unseal(k, v or b"")[0] is None:
                        bad.append(k)
            lmdbread.read(cache / "data.mdb", macs)
            return bool(bad)
        finally:
            c.close()

    def run_case(self, case: str, attack: Callable[[Path], None]) -> Row:
        cache = self.fresh(case)
        attack(cache)
        probe = self.work / (cache.name + "-before")
        shutil.copytree(cache, probe)
        present = self.damage_present(probe)
        lines, wrong, runs, crashed = self.use(cache)
        vlines, _clean, vcrash = self.verify(cache)
        lines += vlines
        crashed += vcrash
        # recovered: a second verify finds nothing, and both programs run right, silently
        vlines2, clean, vcrash2 = self.verify(cache)
        lines2, wrong2, runs2, crashed2 = self.use(cache)
        recovered = clean and not vlines2 and not lines2 and not crashed2 and not vcrash2
        msg = next((line for line in lines if "lind:" in line), lines[0] if lines else "")
        msg = msg.replace(str(cache), "<cache>").replace(str(OUT), "<drill>")
        detected = "y" if lines else "n" if present else "-"
        return Row(case, detected, msg, recovered, wrong + wrong2, runs + runs2, crashed + crashed2)


def swap(keys: dict[str, str]) -> Callable[[Path], None]:
    def attack(cache: Path) -> None:
        with lmdb.open(str(cache), max_dbs=4, map_size=1 << 30) as env:
            db = env.open_db(b"artifacts")
            with env.begin(write=True, db=db) as txn:
                a, b = (k.encode() for k in keys.values())
                va, vb = txn.get(a), txn.get(b)
                assert va is not None and vb is not None
                txn.put(a, vb)
                txn.put(b, va)
    return attack


def truncate(frac: float) -> Callable[[Path], None]:
    def attack(cache: Path) -> None:
        p = cache / "data.mdb"
        with open(p, "r+b") as f:
            f.truncate(int(p.stat().st_size * frac))
    return attack


def live_pages(cache: Path) -> tuple[int, list[tuple[int, str, int, int]]]:
    """(page size, [(page, kind, start, end of its free space)]) of the pages the store's trees use
    now (the free, main and named DBs' branch and leaf pages, and the first page of each value's
    overflow run), as lmdbread reads them."""
    def walk(s: lmdbread.Snapshot) -> tuple[int, list[int]]:
        s.visited.clear()
        for _kv in s.items(s.free):
            pass
        for name, _ in s.items(s.main, values=False):
            for _kv in s.items(s.subdb(name)):
                pass
        return s.psize, sorted(set(s.visited))
    got = lmdbread.read(cache / "data.mdb", walk)
    assert got is not None
    psize, pgnos = got
    data = (cache / "data.mdb").read_bytes()
    out = []
    for pgno in pgnos:
        flags, lower, upper = struct.unpack_from("=10xHHH", data, pgno * psize)
        kind = {1: "branch", 2: "leaf", 4: "overflow"}.get(flags, "?")
        out.append((pgno, kind, lower, upper) if kind != "overflow" else (pgno, kind, psize, psize))
    return psize, out


class Flip:
    """n bytes of one random page the store uses changed: in the header, the node offsets or the
    nodes of a B-tree page (not its free space), or anywhere in an overflow page."""

    def __init__(self, rnd: random.Random, n: int) -> None:
        self.choice, self.seed, self.n = rnd.random(), rnd.getrandbits(32), n
        self.where = "?"

    def __call__(self, cache: Path) -> None:
        p = cache / "data.mdb"
        psize, pages = live_pages(cache)
        data = bytearray(p.read_bytes())
        r = random.Random(self.seed)
        pgno, kind, lower, upper = pages[int(self.choice * len(pages))]
        if kind == "overflow":
            used = list(range(psize))
        else:
            used = [*range(0, min(lower, psize)), *range(min(upper, psize), psize)]
        for _ in range(self.n):
            data[pgno * psize + r.choice(used)] ^= r.randrange(1, 256)
        p.write_bytes(bytes(data))
        self.where = f"{kind} page {pgno}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flips", type=int, default=12, help="cases of changed pages (default 12)")
    ap.add_argument("--bytes", type=int, default=4, help="bytes changed per page (default 4)")
    ap.add_argument("--seed", type=int, default=15, help="seed of the page flips (default 15)")
    a = ap.parse_args()
    wasm = build()
    rows = []
    with tempfile.TemporaryDirectory(prefix="lind-drill-") as tmp:
        d = Drill(Path(tmp), wasm)
        rows.append(d.run_case("swap two entries", swap(d.keys)))
        for frac in (0.1, 0.5, 0.9):
            rows.append(d.run_case(f"truncate {frac:.0%}", truncate(frac)))
        rnd = random.Random(a.seed)
        for i in range(a.flips):
            attack = Flip(rnd, a.bytes)
            row = d.run_case(f"flip {i}", attack)
            row.case = f"flip {i}: {a.bytes} B of {attack.where}"
            rows.append(row)
    width = max(len(r.case) for r in rows)
    print(f"{'case':{width}}  detected  recovered  wrong-program-run  message")
    for r in rows:
        wrong = "never" if r.wrong == 0 else f"{r.wrong} of {r.runs} runs"
        crash = f" ({r.crashed} failed commands)" if r.crashed else ""
        print(f"{r.case:{width}}  {r.detected[:8]:8}  {'y' if r.recovered else 'n':9}  {wrong:17}  "
              f"{r.message[:150]}{crash}")
    wrong_runs = sum(r.wrong for r in rows)
    runs = sum(r.runs for r in rows)
    bad = [r.case for r in rows if r.wrong or r.crashed or not r.recovered]
    print("(detected: y, reported; n, damage there but not reported; -, nothing checkable was changed, e.g."
          " bytes of an unused page)")
    print(f"\n{len(rows)} cases, {runs} runs: wrong program run {wrong_runs} times; "
          f"{'every case recovered' if not bad else 'NOT recovered or failed: ' + ', '.join(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
