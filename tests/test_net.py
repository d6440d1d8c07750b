"""Networking and I/O multiplexing in cages: sockets between cages, with host programs, the policy."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import C_DIR, LIND, REPO, build_cage, compare, run_cage, run_lind


def test_tcp_echo_between_cages(root: Path) -> None:
    compare("net_tcp", root)


def test_udp_echo(root: Path) -> None:
    compare("net_udp", root)


def test_unix_sockets_relative_path(root: Path) -> None:
    compare("net_unix", root)
    assert stat.S_ISSOCK((root / "cage" / "stream.sock").lstat().st_mode)
    assert stat.S_ISSOCK((root / "cage" / "dgram-a.sock").lstat().st_mode)


def test_unix_socket_absolute_path_inside_root(root: Path) -> None:
    (root / "tmp").mkdir()
    r = run_cage(build_cage(C_DIR / "net_unix.c"), ["/tmp/s.sock"], root, cwd="/tmp")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "getsockname: '/tmp/s.sock' (len 14)" in out
    assert "client exit 0" in out
    assert stat.S_ISSOCK((root / "tmp" / "s.sock").lstat().st_mode)
    assert not Path("/tmp/s.sock").exists() or not stat.S_ISSOCK(Path("/tmp/s.sock").lstat().st_mode)


def test_socketpair_and_scm_rights(root: Path) -> None:
    compare("net_pair", root)


def test_poll_select_epoll_timeouts_nonblocking_connect(root: Path) -> None:
    compare("net_mux", root)


def test_eintr(root: Path) -> None:
    compare("net_eintr", root)


def test_hostile_arguments(root: Path) -> None:
    r = run_cage(build_cage(C_DIR / "net_hostile.c"), [], root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert b"0 unexpected successes" in r.stdout


def _echo_server(upper: bool = True) -> tuple[socket.socket, threading.Thread]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            data = b""
            while chunk := conn.recv(4096):
                data += chunk
            conn.sendall(data.upper() if upper else data)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return srv, t


def test_cage_client_host_server(root: Path) -> None:
    srv, t = _echo_server()
    with srv:
        port = srv.getsockname()[1]
        r = run_cage(build_cage(C_DIR / "net_client.c"), ["127.0.0.1", str(port), "hello host"], root)
        t.join(10)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == b"reply: HELLO HOST\n"


def test_cage_client_refused(root: Path) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = run_cage(build_cage(C_DIR / "net_client.c"), ["127.0.0.1", str(port), "x"], root)
    assert r.returncode == 3
    assert r.stdout == b"connect: ECONNREFUSED\n"


def _start_server(root: Path, nconn: int, extra: list[str] | None = None) -> tuple[subprocess.Popen, int]:
    wasm = build_cage(C_DIR / "net_epoll_server.c")
    p = subprocess.Popen([*LIND, "run", *(extra or []), "--root", str(root), str(wasm), str(nconn)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    assert p.stdout is not None
    line = p.stdout.readline()
    assert line.strip().isdigit(), (line, p.stderr.read() if p.stderr else b"")
    return p, int(line)


def _client(port: int, i: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
        msg = f"message {i}\n".encode()
        c.sendall(msg)
        got = b""
        while len(got) < len(msg):
            chunk = c.recv(4096)
            if not chunk:
                break
            got += chunk
        return got


def test_host_client_cage_server(root: Path) -> None:
    p, port = _start_server(root, 1)
    assert _client(port, 1) == b"message 1\n"
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert out == b"served 1, max open 0\n"


def test_epoll_server_500_connections(root: Path) -> None:
    n = 500
    p, port = _start_server(root, n)
    try:
        barrier = threading.Barrier(50)

        def one(i: int) -> bytes:
            if i < 50:
                barrier.wait(10)  # the first 50 are open at the same time
            return _client(port, i)

        with ThreadPoolExecutor(max_workers=50) as ex:
            replies = list(ex.map(one, range(n)))
        assert replies == [f"message {i}\n".encode() for i in range(n)]
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert out == b"served 500, max open 1\n"


# ---- the network policy ----

LOOPBACK_OUT = """socket: ok
bind 0.0.0.0: ok -> 127.0.0.1
connect 127.0.0.1: ok
connect 192.0.2.1: EACCES
sendto 192.0.2.1: EACCES
bind [::]: ok -> ::1
listen unbound: ok -> 127.0.0.1
unix socketpair: ok
"""

NONE_OUT = """socket: ok
bind 0.0.0.0: EACCES -> 0.0.0.0
connect 127.0.0.1: EACCES
connect 192.0.2.1: EACCES
sendto 192.0.2.1: EACCES
bind [::]: EACCES -> -
listen unbound: EACCES -> -
unix socketpair: ok
"""


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def _listener() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    return s


def test_policy_loopback_is_the_default(root: Path) -> None:
    if not _ipv6_loopback():
        pytest.skip("no IPv6 loopback")
    with _listener() as ls:
        r = run_cage(build_cage(C_DIR / "net_policy.c"), [str(ls.getsockname()[1])], root)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == LOOPBACK_OUT


def _run_in_process(root: Path, mode: int, args: list[str]) -> str:
    """Runs net_policy in this process with the policy default set through the C API."""
    from lind_aot.vmm.cage import CageSpec, microvisor

    mv = microvisor()
    wasm = build_cage(C_DIR / "net_policy.c")
    rfd, wfd = os.pipe()
    null = os.open(os.devnull, os.O_RDONLY)
    mv.lib.lind_set_net_policy_default(mode)
    try:
        res = mv.run(CageSpec(program=wasm, argv=["net_policy", *args], root=root, stdio=(null, wfd, wfd)))
    finally:
        mv.lib.lind_set_net_policy_default(1)
        os.close(wfd)
        os.close(null)
    with os.fdopen(rfd, "rb") as f:
        out = f.read().decode()
    assert res.exit_code == 0, out
    return out


def test_policy_none_via_c_api(root: Path) -> None:
    if not _ipv6_loopback():
        pytest.skip("no IPv6 loopback")
    with _listener() as ls:
        out = _run_in_process(root, 0, [str(ls.getsockname()[1])])
    assert out == NONE_OUT


def test_policy_host_via_c_api(root: Path) -> None:
    with _listener() as ls:
        out = _run_in_process(root, 2, [str(ls.getsockname()[1])])
    lines = out.splitlines()
    assert "bind 0.0.0.0: ok -> 0.0.0.0" in lines
    assert "connect 192.0.2.1: not denied" in lines
    assert "listen unbound: ok -> 0.0.0.0" in lines


@pytest.mark.parametrize(("mode", "expected"), [("none", NONE_OUT), ("loopback", LOOPBACK_OUT)])
def test_policy_cli_flag(root: Path, mode: str, expected: str) -> None:
    if not _ipv6_loopback():
        pytest.skip("no IPv6 loopback")
    wasm = build_cage(C_DIR / "net_policy.c")
    with _listener() as ls:
        r = run_lind(["run", "--net", mode, "--root", str(root), str(wasm), str(ls.getsockname()[1])])
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == expected


def test_policy_cli_none_denies_host_server(root: Path) -> None:
    srv, _t = _echo_server()
    with srv:
        port = srv.getsockname()[1]
        r = run_lind(["run", "--net", "none", "--root", str(root), str(build_cage(C_DIR / "net_client.c")),
                      "127.0.0.1", str(port), "x"], env={"LIND_DEBUG_NET": "1"})
    assert r.returncode == 3
    assert r.stdout == b"connect: EACCES\n"
    assert b"denied connect to 127.0.0.1" in r.stderr


def test_policy_denial_is_logged(root: Path) -> None:
    r2 = run_lind(["run", "--root", str(root), str(build_cage(C_DIR / "net_policy.c")), "9"],
                  env={"LIND_DEBUG_NET": "1"})
    assert b"lind: net policy loopback: cage" in r2.stderr
    assert b"denied connect to 192.0.2.1 port 9" in r2.stderr


def test_localhost_resolves_in_an_empty_root(root: Path) -> None:
    """getaddrinfo("localhost") works although the root has no /etc/hosts (the microvisor serves a
    default, read-only one); numeric addresses resolve without any file."""
    r = run_cage(build_cage(C_DIR / "net_gai.c"), [], root)
    lines = r.stdout.decode().splitlines()
    assert lines[0] in ("localhost -> 127.0.0.1", "localhost -> ::1"), r.stdout
    assert lines[1:3] == ["127.0.0.1 -> 127.0.0.1", "::1 -> ::1"]
    assert not (root / "etc").exists()


def test_host_abstract_sockets_are_out_of_reach(root: Path) -> None:
    """Abstract AF_UNIX names are private to a cage tree: a host service listening on an abstract
    name (as D-Bus or X11 do) cannot be reached from a cage."""
    name = f"\0lind-host-secret-{os.getpid()}"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(name)
    srv.listen(1)
    try:
        src = (C_DIR / "net_abstract_host.c").read_text().replace("lind-host-secret", name[1:]).replace(
            "17", str(len(name)))
        prog = root / "abs.c"
        prog.write_text(src)
        wasm = build_cage(prog)
        r = run_cage(wasm, [], root)
        assert (r.returncode, r.stdout) == (0, b"connect to host abstract: refused\n"), r.stderr
    finally:
        srv.close()
