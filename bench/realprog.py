"""Real programs, cage vs native, in one run: Lua 5.4 (CPU-heavy script, pcall/error, coroutines),
the SQLite 3 shell (insert + query workload on a database file) and a BusyBox ash script.

Both sides are built from the same Debian sources by tests/realbuild.py (native: gcc). Lua and SQLite
figures are measured inside the program (os.clock deltas; SQLite's `.timer` real time summed), so the
cage's start-up is not counted; the BusyBox figure is the wall time of the whole `sh script` run
(every applet is a fork + exec: a new cage each).

Prints a table and appends it to bench/RESULTS.md. Run: `.venv/bin/python bench/realprog.py`.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import report  # bench/report.py: this script's folder is on sys.path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(REPO / "tests"))
import realbuild as realprog  # noqa: E402  (tests/realbuild.py: builds the real programs)

LIND = [sys.executable, "-m", "lind_aot.cli"]
ROUNDS = 3

Row = tuple[str, str, str, str, str, str]

LUA_PCALL = r"""
local n = tonumber(arg[1]) local t0 = os.clock() local c = 0
for i = 1, n do if not pcall(error, i) then c = c + 1 end end
print(c) io.stderr:write(string.format("%.6f\n", os.clock() - t0))
"""
LUA_CORO = r"""
local n = tonumber(arg[1]) local t0 = os.clock()
local gen = coroutine.wrap(function() for i = 1, n do coroutine.yield(i) end end)
local s = 0 for _ = 1, n do s = s + gen() end
print(s) io.stderr:write(string.format("%.6f\n", os.clock() - t0))
"""

SQL_WORKLOAD = """
.timer on
PRAGMA journal_mode = DELETE;
CREATE TABLE items(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, price REAL);
CREATE TABLE groups(id INTEGER PRIMARY KEY, label TEXT);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
INSERT INTO items(grp, name, price) SELECT i % 500, 'item-' || i, (i * 7919 % 10007) / 100.0 FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 499)
INSERT INTO groups SELECT i, 'group-' || i FROM n;
COMMIT;
BEGIN;
{inserts}
COMMIT;
CREATE INDEX items_grp ON items(grp, price);
CREATE INDEX items_name ON items(name);
SELECT count(*), round(sum(price), 2) FROM items;
SELECT g.label, count(*), round(avg(i.price), 3) FROM items i JOIN groups g ON g.id = i.grp
  GROUP BY g.id ORDER BY 3 DESC LIMIT 3;
SELECT count(*) FROM items WHERE name LIKE 'item-1%5';
SELECT grp, max(price) FROM items WHERE grp BETWEEN 10 AND 20 GROUP BY grp ORDER BY grp LIMIT 2;
UPDATE items SET price = price * 1.1 WHERE grp < 100;
DELETE FROM items WHERE id % 10 = 0;
SELECT count(*) FROM items i1 WHERE price > (SELECT avg(price) FROM items i2 WHERE i2.grp = i1.grp);
"""

SH_WORKLOAD = r"""
mkdir -p w; cd w
i=0
while [ $i -lt 40 ]; do
  echo "line $i alpha beta gamma" > f$i.txt
  seq 1 200 | sed 's/$/ x/' >> f$i.txt
  i=$((i + 1))
done
cat f*.txt | grep -c alpha
find . -name 'f*.txt' | sort | xargs wc -l | tail -n 1
for f in f1.txt f2.txt f3.txt f4.txt f5.txt; do sort -rn $f | head -n 1; done
ls | wc -l
cp f1.txt g.txt; mv g.txt h.txt; rm h.txt
cd ..; rm -r w
"""


def _stderr_seconds(r: subprocess.CompletedProcess[bytes]) -> float:
    if r.returncode != 0:
        raise RuntimeError(f"benchmark run failed ({r.returncode}): {r.stderr.decode(errors='replace')[-2000:]}")
    return float(r.stderr.decode().strip().splitlines()[-1])


def _cage(root: Path, wasm: Path, args: list[str], stdin: bytes = b"", env: dict[str, str] | None = None,
          ) -> subprocess.CompletedProcess[bytes]:
    cmd = [*LIND, "run", "--root", str(root)]
    for k, v in (env or {}).items():
        cmd += ["--env", f"{k}={v}"]
    return subprocess.run([*cmd, str(wasm), *args], input=stdin, capture_output=True, cwd=REPO, check=False)


def _native(exe: Path, args: list[str], cwd: Path, stdin: bytes = b"", env: dict[str, str] | None = None,
            ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(exe), *args], input=stdin, capture_output=True, cwd=cwd, env=env, check=False)


def _ratio_row(what: str, nat: float, cage: float, unit: str, target: float | None) -> Row:
    ratio = cage / nat
    verdict = "" if target is None else ("met" if ratio <= target else "**missed**")
    return (what, f"{nat:.3f} {unit}", f"{cage:.3f} {unit}", f"{ratio:.2f}x",
            "" if target is None else f"<= {target}x", verdict)


def lua_rows(built: realprog.Built, root: Path) -> list[Row]:
    assert built.native and built.wasm
    rows = []
    for label, script, arg, target in (
        ("Lua CPU benchmark (fib, sort, string.format/gmatch, math, tables), 20 rounds", realprog.LUA_BENCH,
         "20", 1.4),
        ("Lua pcall(error) x 20000 (setjmp + longjmp each)", LUA_PCALL, "20000", None),
        ("Lua coroutine resume/yield x 20000", LUA_CORO, "20000", None),
    ):
        (root / "b.lua").write_text(script)
        nat = statistics.median(_stderr_seconds(_native(built.native, ["b.lua", arg], root)) for _ in range(ROUNDS))
        cage = statistics.median(_stderr_seconds(_cage(root, built.wasm, ["/b.lua", arg])) for _ in range(ROUNDS))
        rows.append(_ratio_row(label, nat, cage, "s", target))
    return rows


def _sql_seconds(r: subprocess.CompletedProcess[bytes]) -> float:
    if r.returncode != 0:
        raise RuntimeError(f"sqlite3 failed ({r.returncode}): {r.stderr.decode(errors='replace')[-2000:]}")
    return sum(float(m) for m in re.findall(rb"Run Time: real ([0-9.]+)", r.stdout))


def sqlite_rows(built: realprog.Built, root: Path) -> list[Row]:
    assert built.native and built.wasm
    inserts = "\n".join(f"INSERT INTO items(grp, name, price) VALUES ({i % 500}, 'single-{i}', {i % 997}.5);"
                        for i in range(20000))
    sql = SQL_WORKLOAD.replace("{inserts}", inserts).encode()
    nat_t, cage_t = [], []
    for _ in range(ROUNDS):
        for f in root.glob("bench.db*"):
            f.unlink()
        nat_t.append(_sql_seconds(_native(built.native, ["bench.db"], root, sql)))
        for f in root.glob("bench.db*"):
            f.unlink()
        cage_t.append(_sql_seconds(_cage(root, built.wasm, ["/bench.db"], sql)))
    return [_ratio_row("SQLite: 200k-row insert (CTE) + 20k INSERTs in a transaction, 2 indexes, joins/aggregates"
                       " (sum of .timer real)", statistics.median(nat_t), statistics.median(cage_t), "s", 1.4)]


def busybox_rows(built: realprog.Built, tmp: Path) -> list[Row]:
    assert built.native and built.wasm
    nd, cd = tmp / "bb-native", tmp / "bb-cage"
    for d, exe in ((nd, built.native), (cd, built.wasm)):
        d.mkdir()
        realprog.install_busybox(d, exe)
        (d / "s.sh").write_text(SH_WORKLOAD)
    execs = SH_WORKLOAD.count("|") + 40 * 3 + 20  # rough count of applet processes
    nat_t, cage_t = [], []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        r = _native(nd / "bin" / "busybox", ["sh", "s.sh"], nd, env={"PATH": str(nd / "bin")})
        nat_t.append(time.perf_counter() - t0)
        assert r.returncode == 0, r.stderr
        t0 = time.perf_counter()
        c = _cage(cd, cd / "bin" / "busybox", ["sh", "/s.sh"], env={"PATH": "/bin"})
        cage_t.append(time.perf_counter() - t0)
        assert c.returncode == 0, c.stderr
        assert c.stdout == r.stdout, (c.stdout, r.stdout)
    return [_ratio_row(f"BusyBox ash script (~{execs} applet fork+execs), wall incl. start-up",
                       statistics.median(nat_t), statistics.median(cage_t), "s", None)]


def main() -> int:
    t0 = time.perf_counter()
    built = {name: realprog.build(name) for name in realprog.NAMES}
    build_s = time.perf_counter() - t0
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rows += lua_rows(built["lua"], root)
        rows += sqlite_rows(built["sqlite3"], root)
        rows += busybox_rows(built["busybox"], root)
    header = ("what", "native", "cage", "cage/native", "target", "")
    report.publish("real programs", ".venv/bin/python bench/realprog.py", header, rows,
                   f"Median of {ROUNDS} runs; Lua and SQLite timed inside the program (start-up excluded), "
                   "BusyBox as wall time.")
    print(f"(builds: {build_s:.1f} s, cached when unchanged)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
