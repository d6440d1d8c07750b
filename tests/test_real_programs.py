"""Real programs in cages: Lua 5.4, the SQLite 3 shell and BusyBox (ash + applets), built from
Debian's sources by tests/realbuild.py with their own build systems, compared with the same sources
built natively with gcc.

Marker `real` (`pytest -m real`). The builds are cached under build/real/ (keyed by source version,
recipe and sysroot hash); a failed build fails the tests, nothing is skipped.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import realbuild as realprog  # tests/realbuild.py: builds them (cached under build/real/)
from conftest import LIND, REPO, Run, run_cage, run_native

pytestmark = pytest.mark.real

Setup = Callable[[Path], None]


@pytest.fixture(scope="module")
def lua() -> realprog.Built:
    return realprog.build("lua")


@pytest.fixture(scope="module")
def sqlite() -> realprog.Built:
    return realprog.build("sqlite3")


@pytest.fixture(scope="module")
def busybox() -> realprog.Built:
    return realprog.build("busybox")


def _dirs(tmp_path: Path, setup: Setup | None) -> tuple[Path, Path]:
    nd, cd = tmp_path / "native", tmp_path / "cage"
    for d in (nd, cd):
        d.mkdir()
        if setup:
            setup(d)
    return nd, cd


def _same(n: Run, c: Run) -> None:
    assert c.stdout.decode(errors="replace") == n.stdout.decode(errors="replace"), (
        f"cage stderr: {c.stderr.decode(errors='replace')}\nnative stderr: {n.stderr.decode(errors='replace')}")
    assert c.returncode == n.returncode, f"cage stderr: {c.stderr!r}, native stderr: {n.stderr!r}"


# ------------------------------------------------------------------------------------------- Lua

LUA_STRINGS = r"""
local s = "Hello, Lua World"
print(s:upper(), s:lower(), s:len(), #s, s:reverse())
print(s:sub(8, 10), s:sub(-5), s:byte(1, 3), string.char(72, 105))
print(s:find("Lua"), s:find("l+"), s:find(".", 1, true), s:match("(%a+), (%a+)"))
print(("x"):rep(5, "-"), ("abc"):rep(0) == "")
print(string.gsub("hello world from lua", "(%w+)", "<%1>"))
print(string.gsub("abc=1, def=22", "(%w+)=(%d+)", function(k, v) return v .. ":" .. k end))
print(string.gsub("$name is $age", "%$(%w+)", {name = "ann", age = 7}))
for k, v in string.gmatch("a=1, b=2, c=3", "(%w+)=(%w+)") do io.write(k, "->", v, " ") end print()
print(string.format("%d %5d %-5d| %05.1f %e %g %x %X %o %c %s %q %%", 42, 7, 7, 3.14159, 12345.678, 0.0001, 255,
                    255, 8, 65, "str", 'quo"te\n'))
print(string.format("%10.3s|%-10s|%+d|%.14g|%a", "abcdef", "hi", 5, 2^53 + 1, 1.0))
print(tostring(1e100), tostring(-0.0), 1/0, -1/0, math.maxinteger, math.mininteger, 7 // 2, 7 % -3, 2^10)
print(tonumber("0x1F"), tonumber("  12  "), tonumber("z", 36), tonumber("1e2"), tonumber("abc"))
local packed = string.pack("<i4 d s1", -2, 1.5, "hey")
print(#packed, string.unpack("<i4 d s1", packed))
print(utf8.char(72, 228, 8364, 128512), utf8.len("häll€"), #"häll€")
for p, c in utf8.codes("aé€") do io.write(p, ":", c, " ") end print()
print(("%s|%s"):format(table.concat({1, 2, 3}, ","), select("#", 1, nil, 3)))
"""

LUA_TABLES = r"""
local t = {5, 3, 8, 1, 9, 2}
table.sort(t) print(table.concat(t, " "))
table.sort(t, function(a, b) return a > b end) print(table.concat(t, " "))
table.insert(t, 100) table.insert(t, 1, 0) print(table.concat(t, " "), #t)
print(table.remove(t), table.remove(t, 1), table.concat(t, " "))
print(table.unpack({1, 2, 3})) print(select(2, table.unpack({1, 2, 3})))
local moved = table.move({1, 2, 3}, 1, 3, 2, {9}) print(table.concat(moved, ","))
local words = {}
for w in ("the quick brown fox jumps over the lazy dog the end"):gmatch("%a+") do words[w] = (words[w] or 0) + 1 end
local keys = {} for k in pairs(words) do keys[#keys + 1] = k end table.sort(keys)
for _, k in ipairs(keys) do io.write(k, "=", words[k], " ") end print()
local V = {}
V.__index = V
V.__add = function(a, b) return setmetatable({x = a.x + b.x, y = a.y + b.y}, V) end
V.__eq = function(a, b) return a.x == b.x and a.y == b.y end
V.__tostring = function(v) return "(" .. v.x .. "," .. v.y .. ")" end
V.__len = function(v) return math.sqrt(v.x * v.x + v.y * v.y) end
V.__call = function(v, k) return v.x * k end
V.__lt = function(a, b) return #a < #b end
function V.new(x, y) return setmetatable({x = x, y = y}, V) end
function V:scale(k) return V.new(self.x * k, self.y * k) end
local a, b = V.new(1, 2), V.new(3, 4)
print(tostring(a + b), a + b == V.new(4, 6), #b, a(10), a < b, tostring(a:scale(3)))
local defaults = setmetatable({}, {__index = function(_, k) return k .. "?" end})
print(defaults.foo, rawget(defaults, "foo"))
local log = {}
local proxy = setmetatable({}, {__newindex = function(t2, k, v) log[#log + 1] = k rawset(t2, k, v) end})
proxy.a = 1 proxy.b = 2 proxy.a = 3 print(table.concat(log, ","), proxy.a)
local weak = setmetatable({}, {__mode = "k"}) weak[{}] = 1 collectgarbage() collectgarbage()
local n = 0 for _ in pairs(weak) do n = n + 1 end print("weak entries", n)
local big = {} for i = 1, 100000 do big[i] = i * i end
local sum = 0 for i = 1, #big do sum = sum + big[i] % 1000 end print(#big, sum)
print(math.floor(3.7), math.ceil(3.2), math.max(1, 9, 3), math.min(4, -2), math.abs(-5), math.fmod(7, 3))
print(math.tointeger(3.0), math.type(1), math.type(1.0), math.type("1"), math.ult(1, -1))
print(string.format("%.10f %.10f %.10f %.10f", math.sqrt(2), math.sin(1), math.exp(1), math.log(10)))
math.randomseed(42) local r = math.random(1, 100) print(r >= 1 and r <= 100)
"""

LUA_CLOSURES = r"""
local function counter()
  local n = 0
  return function() n = n + 1 return n end, function() return n end
end
local inc, get = counter()
inc() inc() inc() print(get())
local fs = {}
for i = 1, 5 do fs[i] = function() return i * i end end
print(fs[1](), fs[3](), fs[5]())
local function memo(f)
  local cache = {}
  return function(x) local v = cache[x] if v == nil then v = f(x) cache[x] = v end return v end
end
local fib fib = memo(function(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end)
print(fib(80))
local function va(...) local t = table.pack(...) return select("#", ...), t.n, ... end
print(va(1, nil, 3, nil))
local function compose(...)
  local fns = {...}
  return function(x) for i = #fns, 1, -1 do x = fns[i](x) end return x end
end
print(compose(function(x) return x + 1 end, function(x) return x * 2 end)(5))
local acc = 0
for i = 1, 10 do if i % 2 == 0 then goto continue end acc = acc + i ::continue:: end
print(acc)
local function ack(m, n)
  if m == 0 then return n + 1 elseif n == 0 then return ack(m - 1, 1) else return ack(m - 1, ack(m, n - 1)) end
end
print(ack(2, 3), ack(3, 3))
local t <const> = 10
do local x <close> = setmetatable({}, {__close = function() print("closed", t) end}) print("in block") end
print(load("return 1 + ...")(41), load("syntax error here"))
local env = {print = print, x = 5}
load("x = x * 2 print('env x', x)", "chunk", "t", env)()
"""

LUA_COROUTINES = r"""
local function gen(n)
  return coroutine.wrap(function() for i = 1, n do coroutine.yield(i) end return "done" end)
end
local g = gen(3) print(g(), g(), g(), g())
local co = coroutine.create(function(a, b)
  print("start", a, b)
  local c = coroutine.yield(a + b)
  print("got", c)
  local d, e = coroutine.yield(c * 2)
  return d + e
end)
print(coroutine.resume(co, 1, 2)) print(coroutine.status(co))
print(coroutine.resume(co, 10)) print(coroutine.resume(co, 3, 4)) print(coroutine.status(co))
print(coroutine.resume(co))
local bad = coroutine.create(function() local x = nil return x.field end)
print(coroutine.resume(bad))
local function producer()
  return coroutine.create(function() for _, w in ipairs({"a", "b", "c"}) do coroutine.yield(w) end end) end
local function filter(p) return coroutine.create(function()
  while true do local ok, v = coroutine.resume(p) if not v then break end coroutine.yield(v:upper()) end end) end
local f = filter(producer()) local out = {}
while true do local _, v = coroutine.resume(f) if not v then break end out[#out + 1] = v end
print(table.concat(out))
local co2 = coroutine.create(function()
  pcall(function() coroutine.yield(1) error("after yield") end) coroutine.yield(2) end)
print(coroutine.resume(co2)) print(coroutine.resume(co2)) print(coroutine.resume(co2))
print(coroutine.isyieldable(), coroutine.running())
local co3 = coroutine.create(function() coroutine.yield() end) coroutine.resume(co3)
print(coroutine.close(co3), coroutine.status(co3))
local total = 0
for i = 1, 200 do local c = coroutine.wrap(function(x) local y = coroutine.yield(x + 1) return y * 2 end)
  total = total + c(i) + c(i) end
print(total)
""".replace("coroutine.running())", "(select(2, coroutine.running())))")

LUA_IO = r"""
local f = assert(io.open("data.txt", "w"))
f:write("line one\n", "line two\n", 42, " ", 3.5, "\n")
for i = 1, 5 do f:write(string.format("row %d %d\n", i, i * i)) end
f:close()
for l in io.lines("data.txt") do io.write("[", l, "]") end print()
local f2 = assert(io.open("data.txt", "r"))
print(f2:read("l")) print(f2:read("L")) print(f2:read("n", "n")) print(f2:seek("cur"))
print(f2:seek("set", 5), f2:read(3)) print(f2:seek("end")) f2:close()
local a = assert(io.open("data.txt", "a")) a:write("appended\n") a:close()
local all = io.open("data.txt"):read("a") print(#all, select(2, all:gsub("\n", "")))
print(io.open("missing.txt"))
print(io.type(io.stdout), io.type(f2), io.type(42))
assert(os.rename("data.txt", "moved.txt")) print(io.open("data.txt"), io.open("moved.txt") ~= nil)
print(os.remove("moved.txt"), os.remove("moved.txt"))
local bf = assert(io.open("bin.dat", "wb")) bf:write(string.rep("\0\1\2\255", 1000)) bf:close()
local bd = io.open("bin.dat", "rb"):read("a") print(#bd, bd:byte(4), bd:byte(4000))
io.output("out.txt") io.write("via io.output\n") io.close() io.output(io.stdout)
print(io.open("out.txt"):read("a"))
local g = io.open("big.txt", "w") for i = 1, 20000 do g:write(i, "\n") end g:close()
local s, n = 0, 0 for l in io.lines("big.txt") do s = s + tonumber(l) n = n + 1 end print(n, s)
local h = io.open("big.txt") h:setvbuf("full", 1024) print(h:read("n"), h:read("n")) h:close()
print(io.read("l"), io.read("n"), io.read("a"))
"""

LUA_OS = r"""
local t = os.time()
print(type(t), t > 1600000000, math.type(t))
print(os.time({year = 2020, month = 1, day = 1, hour = 12, min = 0, sec = 0, isdst = false}) ~= nil)
print(os.date("!%Y-%m-%d %H:%M:%S", 86400 * 365 + 3661), os.date("!%j %a %b %A %B", 0))
local d = os.date("!*t", 1700000000) print(d.year, d.month, d.day, d.hour, d.min, d.sec, d.wday, d.yday, d.isdst)
print(os.difftime(t + 60, t), os.time() - t < 5)
local c0 = os.clock() local x = 0 for i = 1, 3000000 do x = x + i end local c1 = os.clock()
print(c1 >= c0, c1 - c0 < 20, x)
print(os.getenv("LUA_TEST_VAR"), os.getenv("NO_SUCH_VAR_X"))
print(os.date("!%c", 0))
print(type(os.tmpname))
"""

LUA_ERRORS = r"""
print(pcall(error, "msg"))
print(select(2, pcall(error, {code = 42})).code)
print(select(2, pcall(error, setmetatable({}, {__tostring = function() return "custom" end}))) ~= nil)
print(pcall(function() error("with level 1") end))
print(pcall(function() error("no position", 0) end))
print(pcall(function() error("level 2", 2) end))
print(pcall(function() local x = nil return x.y end))
print(pcall(function() return 1 + {} end))
print(pcall(function() return #nil end))
print(pcall(function() return ("x"):bad() end))
print(pcall(string.rep))
print(pcall(string.format, "%d", 1.5))
print(xpcall(function() error("in xpcall") end, function(m) return "handled: " .. m end))
print(xpcall(function(a, b) return a + b end, print, 3, 4))
local function deep(n) if n == 0 then error("bottom") end return deep(n - 1) end
print(pcall(deep, 150))
local function nested(n) if n == 0 then return "ok" end
  local ok, v = pcall(nested, n - 1) if not ok then error(v, 0) end return v .. n % 10 end
print(nested(30))
print(pcall(function() local function inf(n) return 1 + inf(n + 1) end return inf(1) end))
print(pcall(function() local t = setmetatable({}, {__index = function(t2, k) return t2[k] end}) return t.x end))
local ok, tb = xpcall(function() error("trace me") end, debug.traceback) print(ok, tb:match("^[^\n]+"))
print(pcall(assert, false, "assert msg"), pcall(assert, nil), pcall(assert, 1, 2))
local e = select(2, pcall(error)) print(e)
print(pcall(load, "x ="), load("x ="))
local count = 0
for i = 1, 500 do if not pcall(error, i) then count = count + 1 end end
print("caught", count)
print(pcall(coroutine.wrap(function() error("in coroutine") end)))
local ok2, err2 = pcall(function()
  local c <close> = setmetatable({}, {__close = function() print("closing on error") end})
  error("with tbc") end)
print(ok2, err2)
error("uncaught at top")
"""

def lua_compare(lua: realprog.Built, tmp_path: Path, script: str, args: list[str] | None = None,
                stdin: bytes = b"", setup: Setup | None = None, env: dict[str, str] | None = None) -> tuple[Run, Run]:
    def prepare(d: Path) -> None:
        (d / "t.lua").write_text(script)
        if setup:
            setup(d)

    nd, cd = _dirs(tmp_path, prepare)
    assert lua.native and lua.wasm
    n = run_native(lua.native, ["t.lua", *(args or [])], nd, stdin, env)
    c = run_cage(lua.wasm, ["t.lua", *(args or [])], cd, stdin, env)
    _same(n, c)
    return n, c


@pytest.mark.parametrize("name,script", [
    ("strings", LUA_STRINGS), ("tables", LUA_TABLES), ("closures", LUA_CLOSURES),
    ("coroutines", LUA_COROUTINES),
])
def test_lua_script(lua: realprog.Built, tmp_path: Path, name: str, script: str) -> None:
    n, _ = lua_compare(lua, tmp_path, script)
    assert n.returncode == 0, n.stderr


def test_lua_io(lua: realprog.Built, tmp_path: Path) -> None:
    n, c = lua_compare(lua, tmp_path, LUA_IO, stdin=b"first line\n 123 rest\nof stdin\n")
    assert n.returncode == 0, n.stderr
    for f in ("bin.dat", "big.txt", "out.txt"):
        assert (tmp_path / "cage" / f).read_bytes() == (tmp_path / "native" / f).read_bytes(), f
    assert not (tmp_path / "cage" / "moved.txt").exists()


def test_lua_os(lua: realprog.Built, tmp_path: Path) -> None:
    n, _ = lua_compare(lua, tmp_path, LUA_OS, env={"LUA_TEST_VAR": "from env", "TZ": "UTC"})
    assert b"from env" in n.stdout


def test_lua_errors(lua: realprog.Built, tmp_path: Path) -> None:
    n, c = lua_compare(lua, tmp_path, LUA_ERRORS)
    assert n.returncode == 1
    assert b"t.lua:" in c.stderr and b"uncaught at top" in c.stderr, c.stderr
    assert b"caught\t500" in c.stdout


def test_lua_cpu_benchmark(lua: realprog.Built, tmp_path: Path) -> None:
    n, _ = lua_compare(lua, tmp_path, realprog.LUA_BENCH, args=["2"])
    assert n.stdout.strip().isdigit()


def test_lua_stdin_chunk_and_args(lua: realprog.Built, tmp_path: Path) -> None:
    nd, cd = _dirs(tmp_path, None)
    assert lua.native and lua.wasm
    prog = b"print(#arg, arg[1], arg[2]) for l in io.lines() do io.write(l:upper(), ';') end print()"
    (nd / "in.txt").write_bytes(b"abc\ndef\n")
    (cd / "in.txt").write_bytes(b"abc\ndef\n")
    args = ["-e", prog.decode(), "-"]
    n = run_native(lua.native, [*args], nd, b"abc\ndef\n")
    c = run_cage(lua.wasm, [*args], cd, b"abc\ndef\n")
    _same(n, c)
    assert c.stdout.endswith(b"ABC;DEF;\n"), c.stdout


def test_lua_popen_with_busybox_sh(lua: realprog.Built, busybox: realprog.Built, tmp_path: Path) -> None:
    """io.popen / os.execute: the cage forks and execs /bin/sh (BusyBox, itself a cage)."""
    assert busybox.wasm
    wasm = busybox.wasm

    def setup(d: Path) -> None:
        if d.name == "cage":
            realprog.install_busybox(d, wasm)

    script = r"""
local p = assert(io.popen("echo from shell; echo second | tr a-z A-Z"))
print(p:read("a")) print(p:close())
local q = io.popen("exit 3") q:read("a") print(q:close())
local w = io.popen("cat > piped.txt", "w") w:write("written through popen\n") print(w:close())
print(io.open("piped.txt"):read("a"))
print(os.execute("true"), os.execute("false"))
print(os.execute("exit 5"))
print(os.execute())
"""
    lua_compare(lua, tmp_path, script, setup=setup)


# ---------------------------------------------------------------------------------------- SQLite

SQL_SCHEMA = """
PRAGMA foreign_keys = ON;
CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT);
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), amount REAL,
                    day TEXT);
CREATE INDEX orders_customer ON orders(customer_id);
CREATE INDEX orders_day ON orders(day, amount);
CREATE UNIQUE INDEX customers_name ON customers(name);
BEGIN;
INSERT INTO customers(name, city) VALUES ('ann', 'Oslo'), ('bob', 'Rome'), ('cyd', 'Oslo'), ('dee', 'Lima');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
INSERT INTO orders(customer_id, amount, day)
  SELECT 1 + (i * 7) % 4, (i * 37) % 1000 / 10.0, date('2024-01-01', '+' || (i % 60) || ' days') FROM n;
COMMIT;
BEGIN;
UPDATE orders SET amount = amount * 2 WHERE day < '2024-01-05';
DELETE FROM orders WHERE amount = 0;
INSERT INTO customers(name, city) VALUES ('eve', NULL);
ROLLBACK;
SELECT count(*), sum(amount), min(day), max(day) FROM orders;
SELECT c.name, c.city, count(o.id), round(sum(o.amount), 2), round(avg(o.amount), 3)
  FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.id ORDER BY c.name;
SELECT city, count(DISTINCT c.id), round(sum(amount), 1) FROM customers c JOIN orders o ON o.customer_id = c.id
  GROUP BY city HAVING count(*) > 10 ORDER BY 3 DESC;
SELECT day, count(*) FROM orders WHERE day BETWEEN '2024-02-01' AND '2024-02-03' GROUP BY day;
EXPLAIN QUERY PLAN SELECT * FROM orders WHERE customer_id = 2;
SELECT name, (SELECT max(amount) FROM orders WHERE customer_id = customers.id) FROM customers ORDER BY 2 DESC, 1;
SELECT group_concat(name, '|') FROM (SELECT name FROM customers ORDER BY name DESC);
SELECT printf('%08.3f|%5s|%x', 3.14159, 'ab', 255), upper('abc'), length('héllo'), hex('AB'), typeof(1.0);
SELECT json_object('a', 1, 'b', json_array(1, 2, 3)), json_extract('{"x": {"y": 5}}', '$.x.y');
SELECT name, rank() OVER (ORDER BY total DESC) FROM
  (SELECT c.name, sum(o.amount) AS total FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.id);
PRAGMA integrity_check;
"""


def test_sqlite_schema_transactions_joins(sqlite: realprog.Built, tmp_path: Path) -> None:
    nd, cd = _dirs(tmp_path, lambda d: (d / "schema.sql").write_text(SQL_SCHEMA))
    assert sqlite.native and sqlite.wasm
    n = run_native(sqlite.native, ["test.db"], nd, SQL_SCHEMA.encode())
    c = run_cage(sqlite.wasm, ["/test.db"], cd, SQL_SCHEMA.encode())
    _same(n, c)
    assert c.returncode == 0 and c.stdout.rstrip().endswith(b"ok"), c.stderr
    # the cage's file is a valid database for the host's SQLite and the native shell
    db = sqlite3.connect(cd / "test.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM customers").fetchone() == (4,)
        assert db.execute("SELECT count(*) FROM orders").fetchone() == (5000,)
        idx = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"orders_customer", "orders_day", "customers_name"} <= idx
        ref = sqlite3.connect(nd / "test.db")
        q = "SELECT customer_id, count(*), sum(amount) FROM orders GROUP BY 1 ORDER BY 1"
        assert db.execute(q).fetchall() == ref.execute(q).fetchall()
        ref.close()
    finally:
        db.close()
    native_reads = run_native(sqlite.native, [str(cd / "test.db"), "SELECT count(*) FROM orders"], nd)
    assert native_reads.stdout == b"5000\n"


def test_sqlite_reads_host_database(sqlite: realprog.Built, root: Path) -> None:
    db = sqlite3.connect(root / "host.db")
    db.execute("CREATE TABLE kv(k TEXT PRIMARY KEY, v BLOB)")
    db.executemany("INSERT INTO kv VALUES (?, ?)", [(f"key{i}", bytes([i % 256]) * i) for i in range(300)])
    db.commit()
    db.close()
    assert sqlite.wasm
    c = run_cage(sqlite.wasm, ["/host.db", "SELECT count(*), sum(length(v)), max(k) FROM kv;"
                               "UPDATE kv SET v = NULL WHERE k = 'key7'; SELECT count(v) FROM kv"], root)
    assert c.returncode == 0, c.stderr
    assert c.stdout == b"300|44850|key99\n299\n"
    db = sqlite3.connect(root / "host.db")
    assert db.execute("SELECT v FROM kv WHERE k = 'key7'").fetchone() == (None,)
    db.close()


class Holder:
    """A sqlite3 shell cage holding a transaction open on /test.db until release()."""

    def __init__(self, sqlite_wasm: Path, root: Path, begin: str) -> None:
        self.root = root
        self.proc = subprocess.Popen([*LIND, "run", "--root", str(root), str(sqlite_wasm), "/test.db"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
        assert self.proc.stdin
        self.proc.stdin.write(f"{begin}\n.output /flag\n.print locked\n.output stdout\n".encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + 60
        flag = root / "flag"
        while not (flag.exists() and flag.read_text() == "locked\n"):
            assert self.proc.poll() is None, self.proc.communicate()
            assert time.monotonic() < deadline, "the holder cage never took its lock"
            time.sleep(0.02)

    def release(self, end: str = "COMMIT;") -> tuple[bytes, bytes]:
        out, err = self.proc.communicate(f"{end}\n.quit\n".encode(), timeout=60)
        assert self.proc.returncode == 0, err
        return out, err


def _db_with_table(sqlite: realprog.Built, root: Path) -> None:
    assert sqlite.wasm
    r = run_cage(sqlite.wasm, ["/test.db", "CREATE TABLE t(x); INSERT INTO t VALUES (1);"], root)
    assert r.returncode == 0, r.stderr


def test_sqlite_lock_between_two_cages(sqlite: realprog.Built, root: Path) -> None:
    _db_with_table(sqlite, root)
    assert sqlite.wasm
    holder = Holder(sqlite.wasm, root, "BEGIN EXCLUSIVE; INSERT INTO t VALUES (2);")
    try:
        w = run_cage(sqlite.wasm, ["/test.db", "INSERT INTO t VALUES (3);"], root)
        assert w.returncode != 0 and b"database is locked" in w.stderr, w
        r = run_cage(sqlite.wasm, ["/test.db", "SELECT count(*) FROM t;"], root)
        assert r.returncode != 0 and b"database is locked" in r.stderr, r
        # the host's SQLite (POSIX locks) sees the cage's lock (OFD locks) too
        host = sqlite3.connect(root / "test.db", timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            host.execute("SELECT count(*) FROM t").fetchall()
        host.close()
    finally:
        holder.release()
    r = run_cage(sqlite.wasm, ["/test.db", "INSERT INTO t VALUES (3); SELECT group_concat(x) FROM t;"], root)
    assert (r.returncode, r.stdout) == (0, b"1,2,3\n"), r.stderr


def test_sqlite_reserved_lock_allows_readers_and_busy_timeout_waits(sqlite: realprog.Built, root: Path) -> None:
    _db_with_table(sqlite, root)
    assert sqlite.wasm
    holder = Holder(sqlite.wasm, root, "BEGIN IMMEDIATE; INSERT INTO t VALUES (2);")
    try:
        r = run_cage(sqlite.wasm, ["/test.db", "SELECT count(*) FROM t;"], root)  # RESERVED: readers go on
        assert (r.returncode, r.stdout) == (0, b"1\n"), r.stderr
        waiter = subprocess.Popen(
            [*LIND, "run", "--root", str(root), str(sqlite.wasm), "-cmd", ".timeout 30000", "/test.db",
             "INSERT INTO t VALUES (3); SELECT group_concat(x) FROM t;"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
        time.sleep(1.0)
        assert waiter.poll() is None, "the writer did not wait for the lock"
    finally:
        holder.release()
    out, err = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, err
    assert out == b"1,2,3\n"


# --------------------------------------------------------------------------------------- BusyBox

SH_PIPES = r"""
printf 'pear\napple\nfig\napple\n' | sort | uniq -c | sort -rn | head -n 2
printf 'b\na\nc\n' | sort | tr a-z A-Z > out.txt
cat < out.txt
wc -l < out.txt
echo appended >> out.txt; cat out.txt | wc -l
echo to-stderr 1>&2 2>/dev/null
{ echo one; echo two >&2; } 2>err.txt; cat err.txt
exec 3> fd3.txt; echo via fd3 >&3; exec 3>&-; cat fd3.txt
cat missing.txt 2>/dev/null || echo "cat failed with $?"
cat <<EOF | sed 's/^/> /'
here $((6 * 7))
doc
EOF
cat <<'EOF'
no $expansion here
EOF
echo a b c | { read x y z; echo "$z $y $x"; }
seq 1 10 | paste 2>/dev/null; seq 1 1000 | awk '{s += $1} END {print s}'
yes hello | head -n 3
echo "pipe status"; false | true; echo $?
"""

SH_CONTROL = r"""
x=$(echo outer $(echo inner))
echo "$x" `echo backticks`
( cd / 2>/dev/null; exit 3 ); echo "subshell exit $?"
(x=changed); echo "x still: $x"
true; echo "true: $?"; false; echo "false: $?"; ! false; echo "negated: $?"
for i in 1 2 3; do for j in a b; do printf "%s%s " $i $j; done; done; echo
i=0; while [ $i -lt 5 ]; do i=$((i + 1)); [ $i -eq 2 ] && continue; [ $i -eq 4 ] && break; echo "while $i"; done
n=3; until [ $n -eq 0 ]; do echo "until $n"; n=$((n - 1)); done
f() { local v="local $1"; echo "$v"; return $2; }
f arg 7; echo "function returned $?"
case "hello.txt" in *.c) echo C;; *.txt) echo TEXT;; *) echo OTHER;; esac
set -- one "two words" three; echo "$#" "$2"; shift; echo "$@"
for a in "$@"; do echo "[$a]"; done
echo ${undefined:-default} ${#x} ${x%% *} ${x#* } $((1 << 10)) $((17 % 5)) $((2 ** 10))
v=abc; echo ${v:1:1} ${v/b/B}
[ -z "" ] && [ -n "x" ] && [ "a" != "b" ] && echo tests ok
test 5 -gt 3 -a 2 -le 2 && echo numeric ok
if [ -d / ]; then echo dir; elif true; then echo no; else echo never; fi
echo $(( $(echo 20) + $(echo 22) ))
printf '%05d|%-4s|%x|%s\n' 42 ab 255 "$(printf 'nested')"
cmd="echo eval works"; eval "$cmd"
( set -e; false; echo "not reached" ); echo "set -e subshell: $?"
sh -c 'exit 9'; echo "sh -c: $?"
sh -c 'echo "child args: $0 $1"' zero one
read -r first rest <<EOF
alpha beta gamma
EOF
echo "$first|$rest"
IFS=: ; set -- a:b:c; echo "$2"; unset IFS
alias ll='echo aliased'
getopts ab: opt -b val; echo "opt $opt $OPTARG"
type cat | sed 's/is .*/is found/'
command -v ls >/dev/null && echo "command -v ok"
nonexistent_command_xyz 2>/dev/null; echo "missing: $?"
exit 7
"""

SH_TRAPS = r"""
trap 'echo "EXIT trap"' EXIT
trap 'echo "got USR1"' USR1
kill -USR1 $$
echo "after USR1"
trap 'echo "got TERM in script"' TERM
kill -TERM $$
sh -c 'trap "echo child got TERM; exit 3" TERM; kill -TERM $$; sleep 5; echo not reached'
echo "child status $?"
sleep 10 &
pid=$!
sleep 0.1  # (let the sleeper start: a kill racing its fork makes busybox's native wait report 0)
kill $pid
wait $pid
echo "killed sleeper status $?"
sleep 10 & p2=$!
sleep 0.1
kill -KILL $p2; wait $p2; echo "SIGKILL status $?"
(sleep 0.2; echo "background done") &
wait
echo "waited"
sh -c 'kill -INT $$'; echo "self SIGINT status $?"
trap - USR1
trap 'echo "INT handler"; trap - INT' INT
kill -INT $$
echo "end of script"
"""

SH_FILES = r"""
mkdir -p work/a/b/c work/d
cd work
echo hello > a/one.txt; echo world > a/b/two.txt; echo deep > a/b/c/three.txt; printf 'x\ny\n' > d/four.log
ls
ls -1 a a/b
find . -type f | sort
find . -name '*.txt' -type f | sort | xargs cat
find . -type d | sort | wc -l
find a -name '*.txt' -exec wc -c {} \; | sort
find . -name '*.log' -print0 | xargs -0 cat
cp a/one.txt copy.txt; cp -r a a2; find a2 | sort
mv copy.txt renamed.txt; ls renamed.txt copy.txt 2>/dev/null; echo "ls status $?"
cat renamed.txt a/b/two.txt
echo 1 2 3 4 5 6 | xargs -n 2 echo
printf 'f1\nf2\nf3\n' | xargs touch; ls f*
ln -s a/one.txt link.txt; cat link.txt; readlink link.txt
chmod 600 renamed.txt; stat -c '%a %s %n' renamed.txt
rm f1 f2 f3 link.txt; rm -r a2; rm -rf d; rmdir a/b/c 2>/dev/null || echo "rmdir non-empty failed"
find . | sort
du -s a >/dev/null && echo du ok
basename /x/y/z.txt .txt; dirname /x/y/z.txt
cd ..; rm -r work; ls
"""

SH_TEXT = r"""
cat > data.txt <<EOF
banana 3 yellow
apple 10 red
cherry 7 red
date 1 brown
apple 2 green
EOF
grep -n red data.txt; grep -c apple data.txt; grep -v -e red -e yellow data.txt; grep -E '^(a|b)' data.txt
grep -i APPLE data.txt | head -n 1; grep -q cherry data.txt && echo "found cherry"
grep nothing data.txt; echo "grep miss $?"
sed 's/red/RED/g; /brown/d' data.txt
sed -n '2,3p' data.txt; sed -e '1i\
header' -e '$a\
footer' data.txt | wc -l
sed -i 's/yellow/YELLOW/' data.txt; grep YELLOW data.txt
sort data.txt; sort -k2 -n data.txt; sort -r -k1,1 -k2,2n data.txt; sort -u -k1,1 data.txt | cut -d' ' -f1
cut -d' ' -f1,3 data.txt | tr ' ' ','; cut -c1-3 data.txt | uniq
wc data.txt; wc -w < data.txt; wc -c < data.txt
head -n 2 data.txt; tail -n 2 data.txt; tail -c 6 data.txt
awk '{sum[$3] += $2} END {for (k in sum) print k, sum[k]}' data.txt | sort
awk -F' ' 'NR % 2 == 1 {printf "%s:%d\n", toupper($1), $2 * 2}' data.txt
seq 5 | tr '\n' '+'; echo; seq -s, 3 3 15; expr 7 \* 6; expr length hello
echo "a,b;c" | tr ',;' '  '; echo hello | tr -d l; echo aaabbb | tr -s ab
printf 'x\ny\n' | tee copy.txt | wc -l; cat copy.txt
cmp data.txt data.txt && echo same; diff data.txt copy.txt >/dev/null; echo "diff $?"
echo hello | md5sum; echo hello | sha256sum
"""


def _install_bb(busybox: realprog.Built) -> Setup:
    assert busybox.native and busybox.wasm
    native, wasm = busybox.native, busybox.wasm

    def setup(d: Path) -> None:
        realprog.install_busybox(d, wasm if d.name == "cage" else native)

    return setup


def sh_compare(busybox: realprog.Built, tmp_path: Path, script: str, timeout: float = 90) -> tuple[Run, Run]:
    setup = _install_bb(busybox)

    def prepare(d: Path) -> None:
        setup(d)
        (d / "t.sh").write_text(script)

    nd, cd = _dirs(tmp_path, prepare)
    n = run_native(nd / "bin" / "busybox", ["sh", "t.sh"], nd, env={"PATH": str(nd / "bin")}, timeout=timeout)
    c = run_cage(cd / "bin" / "busybox", ["sh", "t.sh"], cd, env={"PATH": "/bin"}, timeout=timeout)
    _same(n, c)
    return n, c


def test_busybox_pipes_and_redirections(busybox: realprog.Built, tmp_path: Path) -> None:
    n, c = sh_compare(busybox, tmp_path, SH_PIPES)
    assert b"500500" in c.stdout and b"HERE 42" not in c.stdout and b"> here 42" in c.stdout
    assert (tmp_path / "cage" / "err.txt").read_text() == "two\n"


def test_busybox_control_flow(busybox: realprog.Built, tmp_path: Path) -> None:
    n, c = sh_compare(busybox, tmp_path, SH_CONTROL)
    assert c.returncode == 7
    assert b"subshell exit 3" in c.stdout and b"sh -c: 9" in c.stdout


def test_busybox_traps_and_signals(busybox: realprog.Built, tmp_path: Path) -> None:
    n, c = sh_compare(busybox, tmp_path, SH_TRAPS)
    for line in (b"got USR1", b"child got TERM", b"child status 3", b"killed sleeper status 143",
                 b"SIGKILL status 137", b"background done", b"EXIT trap"):
        assert line in c.stdout, line


def test_busybox_file_applets(busybox: realprog.Built, tmp_path: Path) -> None:
    n, c = sh_compare(busybox, tmp_path, SH_FILES)
    assert b"./a/b/c/three.txt" in c.stdout and not (tmp_path / "cage" / "work").exists()


def test_busybox_text_applets(busybox: realprog.Built, tmp_path: Path) -> None:
    n, c = sh_compare(busybox, tmp_path, SH_TEXT)
    assert b"found cherry" in c.stdout


def test_busybox_sleep_is_not_busy(busybox: realprog.Built, root: Path) -> None:
    realprog.install_busybox(root, busybox.wasm or Path())
    t0 = time.monotonic()
    r = run_cage(root / "bin" / "busybox", ["sh", "-c", "sleep 1 & sleep 1 & wait; echo slept"], root,
                 env={"PATH": "/bin"})
    elapsed = time.monotonic() - t0
    assert (r.returncode, r.stdout) == (0, b"slept\n"), r.stderr
    assert 1.0 <= elapsed < 10, elapsed


def test_busybox_applets_as_commands(busybox: realprog.Built, root: Path) -> None:
    """Each applet runs as /bin/<applet> (a symlink to busybox), exec'd by the cage itself."""
    applets = realprog.install_busybox(root, busybox.wasm or Path())
    for needed in ("sh", "ls", "cat", "grep", "sed", "sort", "wc", "mkdir", "rm", "cp", "mv", "find", "xargs",
                   "sleep", "kill"):
        assert needed in applets
    r = run_cage(root / "bin" / "busybox", ["sh", "-c", "exec /bin/ls /bin | wc -l"], root, env={"PATH": "/bin"})
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) == len(applets) + 1
