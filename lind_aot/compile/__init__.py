"""lind cc / ar / ranlib, the wasm32 sysroot (musl + libc/ overlay) and Debian source fetching."""
