"""`make demo`: compile the demo programs with `lind cc` and run each in a cage."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIND = str(Path(sys.executable).parent / "lind")


def sh(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[bytes]:
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, **kw)  # type: ignore[call-overload]


def main() -> int:
    out = HERE.parent / "build" / "demo"
    out.mkdir(parents=True, exist_ok=True)
    for name in ("hello", "files", "compute"):
        r = sh([LIND, "cc", "-O2", "-o", str(out / f"{name}.wasm"), str(HERE / "demo" / f"{name}.c")])
        if r.returncode != 0:
            return r.returncode
    with tempfile.TemporaryDirectory(prefix="lind-demo-root-") as root:
        for name, args in (("hello", ["a", "b"]), ("files", []), ("compute", [])):
            t0 = time.perf_counter()
            r = sh([LIND, "run", "--root", root, str(out / f"{name}.wasm"), *args])
            print(f"  -> exit {r.returncode}, {1000 * (time.perf_counter() - t0):.0f} ms wall\n", flush=True)
            if r.returncode != 0:
                return r.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
