"""The cage's root identity is a view, not power over host objects: it uses the files the embedder
hands it as stdio but cannot change them (mode, owner, size, times, links), cannot reach the host's
devices' metadata or controlling terminal, cannot make setuid files in its root, and cannot raise
the limits the embedder set, cannot give files to other host users (no CAP_CHOWN) or change its
root directory itself (the embedder's). The host files are checked afterwards: modes, owners,
sizes, times."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conftest import C_DIR, build_cage  # noqa: E402

from lind_aot.api import Limits, Sandbox  # noqa: E402

EXPECTED = """fchmod stdin: EPERM
fchown stdout: EPERM
ftruncate stdout: EPERM
fallocate stdout: EPERM
futimens stdout: EPERM
link stdin: EPERM
chown via fd path: EPERM
utimensat via fd path: EPERM
fchmod dup of stdout: EPERM
fchmod /dev/null: EPERM
open /dev/tty: ENXIO
create 04755: 0
fchmod 06755: 0
chmod 04755: 0
suid file mode: 755
chown /: EPERM
chmod / 0777: EPERM
chown ..: EPERM
utimensat /: EPERM
fchmod fd of /: EPERM
fchown file: EPERM
chown file to its owner: 0
chown file -1 -1: 0
chmod file 0600: 0
raise RLIMIT_NOFILE: EPERM
"""


def test_inherited_fds_and_nosuid(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    host_in, host_out, host_err = tmp_path / "in.txt", tmp_path / "out.txt", tmp_path / "err.txt"
    host_in.write_text("input\n")
    for p in (host_in, host_out):
        p.touch()
        p.chmod(0o640)
    root.chmod(0o750)
    root_before = root.stat()
    before = {p: os.stat(p) for p in (host_in, host_out, Path("/dev/null"))}
    fds = [os.open(host_in, os.O_RDONLY), os.open(host_out, os.O_WRONLY), os.open(host_err, os.O_WRONLY | os.O_CREAT)]
    try:
        sb = Sandbox(root=root)
        r = sb.run(build_cage(C_DIR / "sec_host_objects.c"), stdin=fds[0], stdout=fds[1], stderr=fds[2], timeout=60)
    finally:
        for fd in fds:
            os.close(fd)
    assert r.returncode == 0, r
    assert host_err.read_text() == EXPECTED
    for p, st in before.items():
        now = os.stat(p)
        assert (now.st_mode, now.st_uid, now.st_gid, now.st_size, now.st_nlink, now.st_mtime_ns) == (
            st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_nlink, st.st_mtime_ns), p
    assert not (root / "stolen").exists()
    root_now = root.stat()  # (its times and size change: the cage makes files in it)
    assert (root_now.st_mode, root_now.st_uid, root_now.st_gid) == (root_before.st_mode, root_before.st_uid,
                                                                   root_before.st_gid)
    suid = (root / "suid").stat()
    assert (suid.st_mode & 0o7777, suid.st_uid, suid.st_gid) == (0o600, os.getuid(), os.getgid())


def test_limits_cannot_be_lifted_from_inside(tmp_path: Path) -> None:
    """A cage (uid 0 in its own view) raising RLIMIT_AS or RLIMIT_DATA does not lift --mem."""
    src = tmp_path / "raise_as.c"
    src.write_text(r"""
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/resource.h>
        static char *volatile keep[1024];
        int main(void) {
            struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
            setrlimit(RLIMIT_AS, &rl);
            setrlimit(RLIMIT_DATA, &rl);
            int i;
            for (i = 0; i < 1024; i++) { char *b = malloc(1 << 20); if (!b) break; memset(b, 1, 1 << 20); keep[i] = b; }
            printf("%d\n", i);
            return 0;
        }
    """)
    wasm = build_cage(src)
    r = Sandbox(root=tmp_path).run(wasm, limits=Limits(mem=32 << 20), timeout=60)
    assert r.returncode == 0 and int(r.stdout) < 32, r
