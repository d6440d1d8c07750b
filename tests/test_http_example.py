"""examples/http_server.py: a code-execution service, driven over HTTP with urllib."""

from __future__ import annotations

import base64
import importlib.util
import json
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import C_DIR, REPO, build_cage

HELLO = '#include <stdio.h>\nint main(void) { printf("hello, http\\n"); return 0; }\n'
CRASH = 'int main(void) { *(volatile int *)0xfffffff0u = 1; return 0; }\n'
LOOP = 'int main(void) { volatile unsigned long x = 0; for (;;) x++; }\n'
ECHO = ('#include <stdio.h>\nint main(int c, char **v) { int ch; while ((ch = getchar()) != EOF) putchar(ch);'
        ' printf("%d %s\\n", c, c > 1 ? v[1] : ""); return 3; }\n')


def _load_example() -> Any:
    spec = importlib.util.spec_from_file_location("http_server_example", REPO / "examples" / "http_server.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    mod = _load_example()
    progs = tmp_path_factory.mktemp("programs")
    shutil.copyfile(build_cage(C_DIR / "api_hello.c"), progs / "hello.wasm")
    srv = mod.make_server("127.0.0.1", 0, programs=progs, workdir=tmp_path_factory.mktemp("work"))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    host, port = srv.server_address[:2]
    yield f"http://{host}:{port}", mod
    srv.shutdown()
    srv.server_close()


def post(base: str, payload: object, timeout: float = 120) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(base + "/run", data=json.dumps(payload).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_health(server: tuple[str, Any]) -> None:
    with urllib.request.urlopen(server[0] + "/health", timeout=10) as r:
        assert json.loads(r.read()) == "ok"


def test_hello_world(server: tuple[str, Any]) -> None:
    code, r = post(server[0], {"source": HELLO})
    assert code == 200, r
    assert (r["status"], r["returncode"], r["stdout"], r["stderr"]) == ("exited", 0, "hello, http\n", "")
    assert r["compile_time"] >= 0 and r["wall_time"] < 10
    code, r = post(server[0], {"source": HELLO})  # compiled once, cached
    assert code == 200 and r["compile_time"] == 0 and r["stdout"] == "hello, http\n"


def test_stdin_argv_exit(server: tuple[str, Any]) -> None:
    code, r = post(server[0], {"source": ECHO, "stdin": "abc\n", "argv": ["xyz"]})
    assert code == 200, r
    assert r["stdout"] == "abc\n2 xyz\n" and r["returncode"] == 3


def test_crash(server: tuple[str, Any]) -> None:
    code, r = post(server[0], {"source": CRASH})
    assert code == 200, r
    assert r["status"] == "signaled" and r["signal_name"] == "SIGSEGV" and r["returncode"] == -11


def test_infinite_loop_is_limited(server: tuple[str, Any]) -> None:
    """The CPU limit (5 s) ends it, or the wall limit (10 s) on a machine too busy to give it 5 s
    of CPU in 10 s."""
    t0 = time.monotonic()
    code, r = post(server[0], {"source": LOOP})
    assert code == 200, r
    assert r["status"] == "signaled" and r["signal_name"] == "SIGKILL", r
    assert r["verdict"] in ("TIME_LIMIT", "WALL_LIMIT"), r
    assert time.monotonic() - t0 < 30


def test_named_program_and_wasm_upload(server: tuple[str, Any]) -> None:
    code, r = post(server[0], {"program": "hello", "argv": ["named"]})
    assert code == 200 and r["stdout"] == "hello named\n", r
    wasm = build_cage(C_DIR / "api_hello.c").read_bytes()
    code, r = post(server[0], {"wasm_b64": base64.b64encode(wasm).decode(), "argv": ["up"]})
    assert code == 200 and r["stdout"] == "hello up\n", r


def test_bad_requests(server: tuple[str, Any]) -> None:
    code, r = post(server[0], {"source": "int main(void) { return undeclared; }"})
    assert code == 400 and r["error"] == "compile failed" and "undeclared" in r["stderr"]
    code, r = post(server[0], {"program": "../etc/passwd"})
    assert code == 404
    code, r = post(server[0], {"wasm_b64": base64.b64encode(b"junk").decode()})
    assert code == 400 and "not a WebAssembly" in r["error"]
    code, r = post(server[0], {"nothing": 1})
    assert code == 400
