"""`lind batch` (lind_aot.batch): 1,000 jobs in one process, hostile ones among them."""

from __future__ import annotations

import base64
import json
import signal
from pathlib import Path

import pytest
from conftest import C_DIR, build_cage

from lind_aot import batch


@pytest.fixture(scope="module")
def progs() -> tuple[Path, Path]:
    return build_cage(C_DIR / "api_hello.c"), build_cage(C_DIR / "api_modes.c")


def _write(path: Path, jobs: list[object]) -> None:
    path.write_text("".join((j if isinstance(j, str) else json.dumps(j)) + "\n" for j in jobs))


def test_batch_1000_with_hostile_jobs(tmp_path: Path, progs: tuple[Path, Path],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    hello, modes = progs
    jobs: list[object] = [{"id": f"h{i}", "program": str(hello), "argv": [str(i)]} for i in range(1000)]
    hostile = {
        1000: {"id": "crash", "program": str(modes), "argv": ["crash"]},
        1001: {"id": "missing", "program": str(tmp_path / "missing.wasm")},
        1002: {"id": "loop", "program": str(modes), "argv": ["cpu"], "limits": {"wall_time": "500ms"}},
        1003: {"id": "bomb", "program": str(modes), "argv": ["forkbomb"], "limits": {"max_cages": 8}},
        1004: {"id": "echo", "program": str(modes), "argv": ["echo"], "stdin": "fed in\n"},
        1005: {"id": "bin", "program": str(modes), "argv": ["binary"]},
        1006: {"id": "exit", "program": str(modes), "argv": ["exit", "7"], "env": {"A": "1"}},
        1007: {"id": "badlimit", "program": str(modes), "limits": {"bogus": 1}},
        1008: "{not json",
    }
    # hostile jobs spread among the good ones
    order = list(range(1000))
    for k, pos in zip(sorted(hostile), (3, 100, 250, 400, 550, 700, 850, 990, 999), strict=True):
        order.insert(pos, k)
    _write(tmp_path / "jobs.jsonl", [jobs[k] if k < 1000 else hostile[k] for k in order])
    out = tmp_path / "results.jsonl"
    status = batch.main([str(tmp_path / "jobs.jsonl"), "-j", "8", "--out", str(out), "--root", str(tmp_path)])
    assert status == 1  # some jobs could not be started
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(recs) == 1009
    assert sorted(r["index"] for r in recs) == list(range(1009))
    by_id = {r["id"]: r for r in recs if r["id"] is not None}
    for i in range(1000):
        r = by_id[f"h{i}"]
        assert (r["status"], r["returncode"], r["stdout"], r["stderr"]) == ("exited", 0, f"hello {i}\n", ""), r
        assert r["index"] == order.index(i)
    assert by_id["crash"]["status"] == "signaled" and by_id["crash"]["signal_name"] == "SIGSEGV"
    assert by_id["crash"]["returncode"] == -signal.SIGSEGV
    assert by_id["missing"]["status"] == "error" and "No such file" in by_id["missing"]["error"]
    loop = by_id["loop"]
    assert loop["signal"] == signal.SIGKILL and loop["wall_time_exceeded"] and loop["wall_time"] < 5
    assert by_id["bomb"]["stdout"] == "forked 7, then EAGAIN\n"
    assert by_id["echo"]["stdout"] == "fed in\n" and by_id["echo"]["stderr"] == "bytes=7\n"
    assert by_id["bin"]["stdout_encoding"] == "base64"
    assert base64.b64decode(by_id["bin"]["stdout"]) == bytes(range(256))
    assert by_id["exit"]["exit_code"] == 7 and by_id["exit"]["stderr"] == "err\n"
    assert by_id["badlimit"]["status"] == "error" and "bogus" in by_id["badlimit"]["error"]
    bad = [r for r in recs if r["index"] == order.index(1008)][0]
    assert bad["status"] == "error" and "bad job line" in bad["error"]
    err = capsys.readouterr().err
    assert "1009 jobs" in err and "jobs/s" in err and "p99" in err


def test_batch_stdout_and_stdin_b64(tmp_path: Path, progs: tuple[Path, Path],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    _, modes = progs
    data = bytes([0, 255, 10, 200])
    _write(tmp_path / "j.jsonl", ["# a comment", "", {"program": str(modes), "argv": ["echo"],
                                                         "stdin_b64": base64.b64encode(data).decode()}])
    assert batch.main([str(tmp_path / "j.jsonl"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    (rec,) = [json.loads(line) for line in captured.out.splitlines()]
    assert rec["index"] == 0 and rec["id"] == 0 and rec["stdout_encoding"] == "base64"
    assert base64.b64decode(rec["stdout"]) == data


def test_batch_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert batch.main([str(tmp_path / "nope.jsonl")]) == 2
    assert "nope.jsonl" in capsys.readouterr().err


def test_parse_limits() -> None:
    lim = batch.parse_limits({"mem": "64M", "cpu_time": "1.5s", "wall_time": 2, "max_fds": 9, "max_cages": "4"})
    assert lim is not None
    assert (lim.mem, lim.cpu_time, lim.wall_time, lim.max_fds, lim.max_cages) == (64 << 20, 1.5, 2.0, 9, 4)
    assert batch.parse_limits(None) is None
