"""Tenants in one process cannot reach each other: each cage tree sees and signals only its own
cages, as a Linux pid namespace does. Two trees run in one Sandbox process; the attacker is given
the victim's pid and tries every call that takes a pid or a process group; the victim must be
untouched (alive, its nice value and process group as they were, its output whole)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conftest import C_DIR, build_cage  # noqa: E402

from lind_aot.api import Sandbox  # noqa: E402

CALLS = ["kill 0", "getpgid", "getsid", "getpriority", "setpriority", "sched_getaffinity", "sigqueue", "tgkill",
         "kill group", "kill", "setpgid"]


def test_other_tenants_cages_do_not_exist(tmp_path: Path) -> None:
    victim_wasm = build_cage(C_DIR / "lc_stubborn.c", ["-pthread"])
    probe = build_cage(C_DIR / "sec_tenant_probe.c")
    sb_a, sb_b = Sandbox(root=tmp_path), Sandbox(root=tmp_path)
    victim = sb_a.spawn(victim_wasm, ["read"])
    deadline = time.monotonic() + 30
    while victim.stdout != b"ready\n" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert victim.stdout == b"ready\n"
    r = sb_b.run(probe, [str(victim.pid)], timeout=60)
    assert r.returncode == 0, r
    # setpgid(0, v) names a group that does not exist in the attacker's session: EPERM, as on Linux
    expected = "".join(f"{c}: {'EPERM' if c == 'setpgid' else 'ESRCH'}\n" for c in CALLS)
    assert r.stdout.decode() == expected
    assert victim.poll() is None, "the victim was killed by another tenant"
    own = sb_b.run(probe, ["1"], timeout=60)  # (pid 1 is some other tree's too: never this one's)
    assert own.returncode == 0
    assert victim.kill()
    res = victim.wait(timeout=30)
    assert res is not None and res.signal == 9 and res.message == "killed by the embedder"


def test_3i_tables_are_authorised_at_both_ends(tmp_path: Path) -> None:
    """copy_handler_table_to_cage from or to another tenant's cage, and register_handler for it,
    are refused (the source used to be unchecked: a tenant could take another's in-memory-FS grate
    with its table)."""
    victim_wasm = build_cage(C_DIR / "lc_stubborn.c", ["-pthread"])
    thief = build_cage(C_DIR / "sec_table_theft.c")
    sb_a, sb_b = Sandbox(root=tmp_path), Sandbox(root=tmp_path)
    victim = sb_a.spawn(victim_wasm, ["read"])
    deadline = time.monotonic() + 30
    while victim.stdout != b"ready\n" and time.monotonic() < deadline:
        time.sleep(0.01)
    r = sb_b.run(thief, [str(victim.pid)], timeout=60)
    assert r.stdout == b"copy from it: EPERM\ncopy to it: EPERM\nregister for it: EPERM\n", r
    assert victim.poll() is None
    assert victim.kill()


def test_pid_values_tell_nothing_of_other_tenants(tmp_path: Path) -> None:
    """Pids and tids are drawn at random and unique while in use: a tenant cannot count the cages
    others make from the values it gets (sequential numbers would give 50 consecutive children)."""
    wasm = build_cage(C_DIR / "sec_pids.c", ["-pthread"])
    sb = Sandbox(root=tmp_path)
    runs = []
    for _ in range(2):
        r = sb.run(wasm, [], timeout=60)
        assert r.returncode == 0, r
        runs.append([int(x) for x in r.stdout.split()])
    for ids in runs:
        assert len(ids) == 61 and all(300 <= i < 1 << 22 for i in ids), ids
        threads = ids[51:]
        assert len(set(threads) | {ids[0]}) == 11, ids  # alive together: all different
        steps = [b - a for a, b in zip(ids[:50], ids[1:51], strict=True)]
        assert sum(s in (1, 2) for s in steps) < 5, steps  # not a counter
    # the second run's root does not follow from the first run's cages
    assert not 0 < runs[1][0] - max(runs[0]) <= 100, (runs[0], runs[1][0])
