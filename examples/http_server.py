"""A code-execution HTTP service on lind-aot: POST C source (or a .wasm), get its output as JSON.

    .venv/bin/python examples/http_server.py --port 8080 [--programs DIR]

    curl -s localhost:8080/run -d '{"source": "#include <stdio.h>\\nint main(){puts(\\"hi\\");}"}'
    {"status": "exited", "exit_code": 0, "returncode": 0, "stdout": "hi\\n", "stderr": "", ...}

POST /run takes a JSON object with one of
    "source":   C source, compiled with `lind cc -O2` (compiles are cached by the source's hash),
    "wasm_b64": a lind program (.wasm, base64),
    "program":  the name of a .wasm file in the --programs directory (no slashes),
and optionally "stdin" (text) and "argv" (the arguments). Each run gets a fresh, empty root
directory and the limits below; the answer holds status ("exited" | "signaled"), exit_code,
signal / signal_name, returncode (-N after signal N), stdout and stderr (text; base64 with
*_encoding "base64" if not UTF-8), wall_time, cpu_time and tree_cpu_time (seconds),
wall_time_exceeded, output_truncated, verdict and message (how it ended, as a judge says it: OK,
RUNTIME_ERROR, SIGNALED, TIME_LIMIT, WALL_LIMIT, MEMORY_LIMIT), and compile_time when it
compiled. A compile error is a 400 with the compiler's messages. GET /health answers "ok".

Every cage runs in this one process (no fork per request), on the standard library's
ThreadingHTTPServer.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from lind_aot.api import Limits, Result, Sandbox, SpawnError  # noqa: E402
from lind_aot.cache.store import ArtifactCache  # noqa: E402

LIMITS = Limits(mem=256 << 20, cpu_time=5.0, wall_time=10.0, max_fds=64, max_cages=16)
MAX_BODY = 4 << 20
MAX_OUTPUT = 1 << 20
COMPILE_TIMEOUT = 60.0


def _text(data: bytes) -> tuple[str, str]:
    try:
        return data.decode(), "text"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode(), "base64"


def result_json(r: Result) -> dict[str, Any]:
    out, oenc = _text(r.stdout)
    err, eenc = _text(r.stderr)
    return {
        "status": "signaled" if r.signal is not None else "exited", "exit_code": r.exit_code, "signal": r.signal,
        "signal_name": r.signal_name, "returncode": r.returncode, "stdout": out, "stderr": err,
        "stdout_encoding": oenc, "stderr_encoding": eenc, "wall_time": round(r.usage.wall_time, 6),
        "cpu_time": r.usage.cpu_time, "tree_cpu_time": r.usage.tree_cpu_time,
        "wall_time_exceeded": r.wall_time_exceeded, "output_truncated": r.output_truncated,
        "verdict": r.verdict, "message": r.message,
    }


class BadRequest(Exception):
    def __init__(self, code: int, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("error"))
        self.code, self.payload = code, payload


class Runner:
    """Compiles and runs submissions; shared by the request threads."""

    def __init__(self, workdir: Path, programs: Path | None, cache: str | None = None,
                 max_concurrent: int | None = None) -> None:
        self.workdir = workdir
        self.programs = programs
        (workdir / "compiled").mkdir(parents=True, exist_ok=True)
        (workdir / "roots").mkdir(parents=True, exist_ok=True)
        self.cache = ArtifactCache(Path(cache)) if cache else None  # None: the default cache
        self.sem = threading.BoundedSemaphore(max_concurrent or 4 * (os.cpu_count() or 1))
        self._compile_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._sandboxes: dict[str, Sandbox] = {}

    def compile(self, source: str) -> tuple[Path, float]:
        """The .wasm for a C source (cached by hash); raises BadRequest on compile errors."""
        digest = hashlib.sha256(source.encode()).hexdigest()[:32]
        out = self.workdir / "compiled" / f"{digest}.wasm"
        with self._lock:
            lock = self._compile_locks.setdefault(digest, threading.Lock())
        with lock:
            if out.exists():
                return out, 0.0
            with tempfile.TemporaryDirectory(dir=self.workdir) as tmp:
                src = Path(tmp) / "main.c"
                src.write_text(source)
                t0 = time.perf_counter()
                try:
                    cmd = [sys.executable, "-m", "lind_aot.cli", "cc", "-O2", "-o", str(Path(tmp) / "a.wasm"), str(src),
                           "-lm"]
                    p = subprocess.run(cmd, capture_output=True, text=True, timeout=COMPILE_TIMEOUT, cwd=REPO)
                except subprocess.TimeoutExpired:
                    raise BadRequest(400, {"error": "compile timed out"}) from None
                dt = time.perf_counter() - t0
                if p.returncode != 0:
                    raise BadRequest(400, {"error": "compile failed", "stderr": p.stderr.replace(str(tmp) + "/", "")})
                os.replace(Path(tmp) / "a.wasm", out)
            return out, dt

    def run(self, req: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(req, dict):
            raise BadRequest(400, {"error": "expected a JSON object"})
        argv = req.get("argv") or []
        stdin = req.get("stdin") or ""
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv) or not isinstance(stdin, str):
            raise BadRequest(400, {"error": "argv must be a list of strings and stdin a string"})
        extra: dict[str, Any] = {}
        tmp_wasm: Path | None = None
        if isinstance(req.get("source"), str):
            prog, ct = self.compile(req["source"])
            extra["compile_time"] = round(ct, 3)
        elif isinstance(req.get("wasm_b64"), str):
            try:
                data = base64.b64decode(req["wasm_b64"], validate=True)
            except ValueError:
                raise BadRequest(400, {"error": "wasm_b64 is not base64"}) from None
            fd, name = tempfile.mkstemp(suffix=".wasm", dir=self.workdir)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            prog = tmp_wasm = Path(name)
        elif isinstance(req.get("program"), str):
            name = req["program"]
            if self.programs is None or "/" in name or name.startswith("."):
                raise BadRequest(404, {"error": f"no program {name!r}"})
            prog = self.programs / (name if name.endswith(".wasm") else name + ".wasm")
            if not prog.is_file():
                raise BadRequest(404, {"error": f"no program {name!r}"})
        else:
            raise BadRequest(400, {"error": 'give "source", "wasm_b64" or "program"'})
        root = Path(tempfile.mkdtemp(dir=self.workdir / "roots"))
        try:
            sb = Sandbox(root=root, cache=self.cache, net="none", limits=LIMITS, max_output=MAX_OUTPUT)
            with self.sem:
                try:
                    proc = sb.spawn(prog, argv, stdin=stdin.encode())
                except SpawnError as e:
                    raise BadRequest(400, {"error": str(e).replace(str(self.workdir) + "/", "")}) from None
                # the wall limit ends it; the margin covers the kill itself
                r = proc.wait((LIMITS.wall_time or 10.0) + 5.0)
                if r is None:
                    proc.kill()
                    r = proc.wait()
                assert r is not None
            return {**result_json(r), **extra}
        finally:
            shutil.rmtree(root, ignore_errors=True)
            if tmp_wasm is not None:
                tmp_wasm.unlink(missing_ok=True)


class Handler(BaseHTTPRequestHandler):
    server_version = "lind-aot-example/0.1"
    runner: Runner  # set on the subclass made by make_server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)

    def _send(self, code: int, payload: Any) -> None:
        body = (json.dumps(payload) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/health":
            self._send(200, "ok")
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        if self.path != "/run":
            self._send(404, {"error": "not found"})
            return
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = -1
        if n < 0 or n > MAX_BODY:
            self._send(413, {"error": f"body must be 0..{MAX_BODY} bytes"})
            return
        try:
            req = json.loads(self.rfile.read(n) or b"{}")
            self._send(200, self.runner.run(req))
        except json.JSONDecodeError as e:
            self._send(400, {"error": f"bad JSON: {e}"})
        except BadRequest as e:
            self._send(e.code, e.payload)
        except Exception as e:  # noqa: BLE001 - a failed request must not stop the server
            self._send(500, {"error": f"internal error: {e!r}"})


def make_server(host: str = "127.0.0.1", port: int = 8080, programs: Path | None = None,
                workdir: Path | None = None, cache: str | None = None, verbose: bool = False) -> ThreadingHTTPServer:
    """A ready-to-serve server (call serve_forever(); port 0 picks a free port: server.server_address)."""
    wd = workdir or Path(tempfile.mkdtemp(prefix="lind-http-"))
    runner = Runner(wd, programs, cache)
    handler = type("BoundHandler", (Handler,), {"runner": runner})
    srv = ThreadingHTTPServer((host, port), handler)
    srv.daemon_threads = True
    srv.verbose = verbose  # type: ignore[attr-defined]
    return srv


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Run submitted C programs in lind cages over HTTP.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--programs", type=Path, help="directory of .wasm programs that requests may name")
    p.add_argument("--workdir", type=Path, help="where compiled programs and run roots go (default: a temp dir)")
    p.add_argument("--cache", help="AOT cache directory")
    p.add_argument("-v", "--verbose", action="store_true", help="log requests")
    a = p.parse_args(argv)
    srv = make_server(a.host, a.port, a.programs, a.workdir, a.cache, a.verbose)
    host, port = srv.server_address[:2]
    print(f"listening on http://{host}:{port}/run", file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
