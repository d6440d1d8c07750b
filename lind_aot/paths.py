"""Where lind-aot keeps what it builds and caches."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LIBC_OVERLAY = REPO_ROOT / "libc"
NATIVE_SRC = REPO_ROOT / "native"


def cache_home() -> Path:
    """$XDG_CACHE_HOME/lind-aot: sources, the sysroot, the native shim, the default AOT cache."""
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "lind-aot"


def aot_cache_dir() -> Path:
    """The LMDB store of AOT artifacts: $LIND_CACHE, else <cache_home>/aot."""
    env = os.environ.get("LIND_CACHE")
    return Path(env) if env else cache_home() / "aot"


def sources_dir() -> Path:
    """Unpacked Debian source packages (musl, lua5.4, sqlite3, busybox)."""
    return cache_home() / "src"


def sysroot_base() -> Path:
    """Parent of the built sysroots ($LIND_SYSROOT_BASE overrides); one subdirectory per overlay hash."""
    env = os.environ.get("LIND_SYSROOT_BASE")
    return Path(env) if env else cache_home() / "sysroot"


def prune_versions(current: Path, pattern: str, keep: int) -> None:
    """Deletes the older builds that sit beside `current` (its siblings matching `pattern`: one per
    version of the sources, e.g. liblind-<hash>.so), all but the `keep` most recently made, `current`
    always kept. Several checkouts may share the cache, so a few stay; what is deleted is rebuilt if
    it is needed again. Best effort: a build another process deletes first is not an error."""
    others = []
    for p in current.parent.glob(pattern):
        if p.name != current.name:
            try:
                others.append((p.stat().st_mtime, p))
            except OSError:
                pass
    others.sort(reverse=True)
    for _, p in others[max(0, keep - 1):]:
        try:
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink()
        except OSError:
            pass
