"""Download and unpack Debian source packages (musl, lua5.4, sqlite3, busybox ...).

apt runs with a private sources list, state and cache directory under ``sources_dir()/.apt``, so the
machine's own apt configuration and lists are never touched.  Only the upstream ``*.orig.tar.*`` is
unpacked (Debian's patches are not applied).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from lind_aot import paths

DEB_SRC_LINE = "deb-src http://deb.debian.org/debian bookworm main\n"


class FetchError(RuntimeError):
    """apt or tar failed; the message says which command and why."""


def _apt_dir() -> Path:
    return paths.sources_dir() / ".apt"


def _apt_options() -> list[str]:
    d = _apt_dir()
    settings = [
        f"Dir::Etc::SourceList={d / 'sources.list'}",
        "Dir::Etc::SourceParts=/dev/null",
        f"Dir::State::Lists={d / 'lists'}",
        f"Dir::Cache={d / 'cache'}",
        # As root, apt would otherwise warn that its _apt sandbox user cannot write here.
        "APT::Sandbox::User=root" if os.geteuid() == 0 else "APT::Sandbox::User=_apt",
    ]
    return [arg for s in settings for arg in ("-o", s)]


def _prepare_apt_dir() -> None:
    d = _apt_dir()
    (d / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (d / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    src = d / "sources.list"
    if not src.exists() or src.read_text() != DEB_SRC_LINE:
        src.write_text(DEB_SRC_LINE)


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as e:
        raise FetchError(f"cannot run {cmd[0]}: {e}") from e
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise FetchError(f"command failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    return proc.stdout


def _apt_update() -> None:
    _prepare_apt_dir()
    lists = _apt_dir() / "lists"
    if any(lists.glob("*_Sources*")):
        return
    _run(["apt-get", *_apt_options(), "update"])


def _source_versions(package: str) -> list[str]:
    out = _run(["apt-cache", *_apt_options(), "showsrc", package])
    return re.findall(r"^Version:\s*(\S+)", out, flags=re.MULTILINE)


def _marker(package: str, version_prefix: str | None) -> Path:
    safe = re.sub(r"[^A-Za-z0-9.+~-]", "_", f"{package}@{version_prefix or 'candidate'}")
    return paths.sources_dir() / ".unpacked" / safe


def _pick_version(package: str, version_prefix: str | None) -> str | None:
    if version_prefix is None:
        return None
    versions = _source_versions(package)
    # Debian versions may carry an epoch ("1:1.35.0-4"); match the prefix on the upstream part too.
    matching = [v for v in versions if v.split(":", 1)[-1].startswith(version_prefix)]
    if not matching:
        raise FetchError(
            f"no Debian source version of {package!r} starts with {version_prefix!r} "
            f"(available: {', '.join(versions) or 'none'})"
        )
    return matching[0]


def _unpack(tarball: Path, dest_parent: Path, fallback_name: str) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest_parent))
    try:
        _run(["tar", "-xf", str(tarball), "-C", str(tmp)])
        entries = [p for p in tmp.iterdir()]
        if len(entries) == 1 and entries[0].is_dir():
            src, name = entries[0], entries[0].name
        else:
            src, name = tmp, fallback_name
        final = dest_parent / name
        if final.exists():
            shutil.rmtree(final)
        src.rename(final)
        return final
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def fetch_debian_source(package: str, version_prefix: str | None = None) -> Path:
    """Return the unpacked upstream source of Debian source package `package`.

    Downloads it with ``apt-get source --download-only`` (bookworm main, private apt state) into
    ``paths.sources_dir()`` and unpacks its ``*.orig.tar.*``; does nothing if already unpacked.
    `version_prefix` (e.g. "1.2.3") selects the Debian version; None takes apt's candidate.
    """
    base = paths.sources_dir()
    base.mkdir(parents=True, exist_ok=True)
    marker = _marker(package, version_prefix)
    if marker.exists():
        unpacked = base / marker.read_text().strip()
        if unpacked.is_dir():
            return unpacked

    _apt_update()
    version = _pick_version(package, version_prefix)
    spec = f"{package}={version}" if version else package
    download = base / ".download" / package
    download.mkdir(parents=True, exist_ok=True)
    _run(["apt-get", *_apt_options(), "source", "--download-only", "-q", spec], cwd=download)

    upstream = version.split(":", 1)[-1].rsplit("-", 1)[0] if version else None
    candidates = sorted(
        p
        for p in download.glob("*.orig.tar.*")
        if not p.name.endswith(".asc") and (upstream is None or f"_{upstream}.orig.tar." in p.name)
    )
    if not candidates:
        # Native packages (no .orig) ship a single <pkg>_<ver>.tar.*.
        candidates = sorted(
            p
            for p in download.glob(f"{package}_*.tar.*")
            if not p.name.endswith(".asc") and ".debian.tar." not in p.name
        )
    if not candidates:
        raise FetchError(f"apt-get source {spec} downloaded no *.orig.tar.* into {download}")
    tarball = candidates[-1]
    if not tarfile.is_tarfile(tarball):
        raise FetchError(f"{tarball} is not a tar archive")
    fallback = tarball.name.split(".orig.tar.")[0].split(".tar.")[0].replace("_", "-")
    unpacked = _unpack(tarball, base, fallback)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(unpacked.name + "\n")
    return unpacked
