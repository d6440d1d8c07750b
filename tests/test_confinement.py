"""A cage cannot see or touch anything outside its root, whatever paths and symlinks it uses.

The layout: tmp/secret (a canary outside the root), tmp/root (the cage's "/"). Every escape attempt
must fail or resolve inside the root; the canary must never be read, written, linked or renamed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import C_DIR, Run, build_cage, run_cage

CANARY = "TOP-SECRET-CANARY"


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret").write_text(CANARY + "\n")
    (tmp_path / "outside_dir").mkdir()
    (tmp_path / "outside_dir" / "secret").write_text(CANARY + "\n")
    (root / "inside").write_text("inside file\n")
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "sub" / "deeper" / "f").write_text("deep file\n")
    return tmp_path, root


def cage(root: Path, *ops: str, cwd: str = "/") -> tuple[Run, dict[str, str]]:
    wasm = build_cage(C_DIR / "confine.c")
    r = run_cage(wasm, list(ops), root, cwd=cwd)
    out = r.stdout.decode(errors="replace")
    assert CANARY not in out, out
    results = {}
    for line in out.splitlines():
        label, _, result = line.partition(": ")
        results[label] = result
    assert r.returncode == 0, r.stderr
    return r, results


def assert_untouched(tmp_path: Path) -> None:
    assert (tmp_path / "secret").read_text() == CANARY + "\n"
    assert (tmp_path / "outside_dir" / "secret").read_text() == CANARY + "\n"
    expected = {"root", "secret", "outside_dir"}
    assert {p.name for p in tmp_path.iterdir()} == expected
    assert {p.name for p in (tmp_path / "outside_dir").iterdir()} == {"secret"}
    assert (tmp_path / "secret").stat().st_nlink == 1


def test_dotdot_paths(world: tuple[Path, Path]) -> None:
    tmp, root = world
    paths = ["../secret", "../../secret", "/../secret", "/../../../../secret", "sub/../../secret",
             "sub/deeper/../../../secret", "/./../secret", "../outside_dir/secret", "..//..//secret"]
    _, res = cage(root, *[f"cat:{p}" for p in paths])
    for p in paths:
        assert res[f"cat {p}"] == "ENOENT", (p, res)
    # ".." at the root is the root itself
    _, res = cage(root, "cat:../inside", "cat:/../../inside", "cat:sub/../../../sub/deeper/f")
    assert res["cat ../inside"] == "READ inside file"
    assert res["cat /../../inside"] == "READ inside file"
    assert res["cat sub/../../../sub/deeper/f"] == "READ deep file"
    assert_untouched(tmp)


def test_host_absolute_paths(world: tuple[Path, Path]) -> None:
    tmp, root = world
    host_secret = str(tmp / "secret")
    _, res = cage(root, f"cat:{host_secret}", "cat:/etc/passwd", "cat:../../etc/passwd", "cat:/../etc/passwd",
                  "ls:/", "ls:..", "ls:/..")
    assert res[f"cat {host_secret}"] == "ENOENT"
    assert res["cat /etc/passwd"] == "ENOENT"
    assert res["cat ../../etc/passwd"] == "ENOENT"
    assert res["cat /../etc/passwd"] == "ENOENT"
    assert res["ls /"] == ". .. inside sub"
    assert res["ls .."] == ". .. inside sub"
    assert res["ls /.."] == ". .. inside sub"
    assert_untouched(tmp)


def test_symlinks_made_outside(world: tuple[Path, Path]) -> None:
    """Symlinks planted in the root by the host, pointing out of it, resolve inside the root."""
    tmp, root = world
    os.symlink("/etc", root / "etc_abs")
    os.symlink("../../../etc", root / "etc_rel")
    os.symlink(str(tmp), root / "tmp_abs")
    os.symlink("..", root / "parent")
    os.symlink(str(tmp / "secret"), root / "secret_abs")
    os.symlink("../secret", root / "secret_rel")
    os.symlink("sub/../../secret", root / "secret_rel2")
    # a chain: a -> b -> c -> outside
    os.symlink("chain_b", root / "chain_a")
    os.symlink("sub/chain_c", root / "chain_b")
    os.symlink("../../../../secret", root / "sub" / "chain_c")
    os.symlink("/proc/self/root/etc/passwd", root / "magic")
    ops = ["cat:etc_abs/passwd", "cat:etc_rel/passwd", "cat:tmp_abs/secret", "cat:parent/secret",
           "cat:parent/parent/secret", "cat:secret_abs", "cat:secret_rel", "cat:secret_rel2", "cat:chain_a",
           "cat:magic", "cat:/proc/self/root/etc/passwd", "ls:parent", "ls:tmp_abs"]
    _, res = cage(root, *ops)
    for op in ops[:-2]:
        label = op.replace(":", " ", 1)
        assert res[label] in ("ENOENT", "ELOOP", "EXDEV"), (op, res[label])
    # "parent" is ".." of the root: the root itself; tmp_abs names a directory that does not exist inside
    listed = res["ls parent"].split()
    assert "inside" in listed and "secret" not in listed and "outside_dir" not in listed
    assert res["ls tmp_abs"] == "ENOENT"
    # the cage reads the links verbatim, but they never lead out
    _, res = cage(root, "readlink:secret_abs", "write:secret_abs", "write:secret_rel", "write:chain_a",
                  "write:etc_rel/passwd")
    assert res["readlink secret_abs"] == f"TARGET {tmp / 'secret'}"
    for label in ("write secret_abs", "write secret_rel", "write chain_a"):
        assert res[label] in ("ENOENT", "WROTE 8"), res[label]
    assert res["write etc_rel/passwd"] == "ENOENT"
    assert_untouched(tmp)


def test_symlinks_made_inside(world: tuple[Path, Path]) -> None:
    """The cage makes its own links pointing out, then follows them: still inside."""
    tmp, root = world
    _, res = cage(root, "symlink:../secret:s1", "symlink:/../../secret:s2", f"symlink:{tmp}:s3",
                  "symlink:../../../..:up", "cat:s1", "cat:s2", "cat:s3/secret", "cat:up/secret",
                  "cat:up/outside_dir/secret", "ls:up", "cd:up", "cat:secret")
    for label in ("cat s1", "cat s2", "cat s3/secret", "cat up/secret", "cat up/outside_dir/secret", "cat secret"):
        assert res[label] == "ENOENT", (label, res[label])
    assert res["cd up"] == "CWD /"
    assert "inside" in res["ls up"]
    assert_untouched(tmp)


def test_chdir_up(world: tuple[Path, Path]) -> None:
    tmp, root = world
    _, res = cage(root, "up:1", "up:50", "cat:secret", "cat:inside", "cd:sub/deeper", "up:10", "cd:/sub",
                  "cd:../../..", "cd:..")
    assert res["up 1"] == "CWD /"
    assert res["up 50"] == "CWD /"
    assert res["cat secret"] == "ENOENT"
    assert res["cat inside"] == "READ inside file"
    assert res["cd sub/deeper"] == "CWD /sub/deeper"
    assert res["up 10"] == "CWD /"
    assert res["cd /sub"] == "CWD /sub"
    assert res["cd ../../.."] == "CWD /"
    assert res["cd .."] == "CWD /"
    _, res = cage(root, "up:3", "cat:inside", "cat:../secret", cwd="/sub/deeper")
    assert res["up 3"] == "CWD /"
    assert res["cat inside"] == "READ inside file"
    assert res["cat ../secret"] == "ENOENT"
    assert_untouched(tmp)


def test_openat_dirfds(world: tuple[Path, Path]) -> None:
    tmp, root = world
    _, res = cage(root, "openat:/:../secret", "openat:/:..", "openat:..:secret", "openat:..:inside",
                  "openat:/sub:../../secret", "openat:/sub:../inside", "openat:sub/deeper:../../../../secret",
                  "openat:/:/../secret", f"openat:/:{tmp / 'secret'}")
    assert res["openat / ../secret"] == "ENOENT"
    assert res["openat / .."].startswith("read ")  # the root directory itself: reading it is EISDIR
    assert res["openat .. secret"] == "ENOENT"
    assert res["openat .. inside"] == "READ inside file"
    assert res["openat /sub ../../secret"] == "ENOENT"
    assert res["openat /sub ../inside"] == "READ inside file"
    assert res["openat sub/deeper ../../../../secret"] == "ENOENT"
    assert res["openat / /../secret"] == "ENOENT"
    assert res[f"openat / {tmp / 'secret'}"] == "ENOENT"
    assert_untouched(tmp)


def test_writes_and_links_stay_inside(world: tuple[Path, Path]) -> None:
    tmp, root = world
    _, res = cage(root, "write:../created", "write:/../../created2", "link:../secret:stolen",
                  "link:inside:../linked_out", "rename:inside:../renamed_out", "rename:../secret:stolen2",
                  "symlink:x:../../symlink_out")
    assert res["write ../created"] == "WROTE 8"  # lands in the root
    assert (root / "created").read_text() == "escaped\n"
    assert res["write /../../created2"] == "WROTE 8"
    assert (root / "created2").exists()
    assert res["link ../secret stolen"] == "ENOENT"
    assert res["link inside ../linked_out"] == "LINKED"
    assert (root / "linked_out").exists()
    assert res["rename inside ../renamed_out"] == "RENAMED"
    assert (root / "renamed_out").exists()
    assert res["rename ../secret stolen2"] == "ENOENT"
    assert res["symlink x ../../symlink_out"] == "CREATED"
    assert (root / "symlink_out").is_symlink()
    assert_untouched(tmp)


def test_devices_without_dev_in_root(world: tuple[Path, Path]) -> None:
    tmp, root = world
    assert not (root / "dev").exists()
    _, res = cage(root, "dev:/dev/null", "dev:/dev/zero", "dev:/dev/urandom", "dev:/dev/../dev/null",
                  "dev:dev/null", "stat:/dev/null", "ls:/dev", "cat:/dev/secret")
    assert res["dev /dev/null"] == "chr=1 write=1 read=0 zeros=0 distinct=0"
    assert res["dev /dev/zero"] == "chr=1 write=1 read=64 zeros=64 distinct=0"
    urandom = res["dev /dev/urandom"]
    assert urandom.startswith("chr=1 write=1 read=64 ")
    assert int(urandom.rsplit("distinct=", 1)[1]) > 30
    assert res["dev /dev/../dev/null"] == "chr=1 write=1 read=0 zeros=0 distinct=0"
    assert res["dev dev/null"] == "chr=1 write=1 read=0 zeros=0 distinct=0"  # cwd is /
    assert res["stat /dev/null"] in ("chr", "ENOENT")
    assert res["cat /dev/secret"] == "ENOENT"
    assert not (root / "dev").exists()
    assert_untouched(tmp)
