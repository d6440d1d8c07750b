# lind-aot: `make demo` and `make test` set up everything on a fresh Debian 12 machine (as root):
# apt packages, a .venv with the package, the C data plane, the musl source and the sysroot.
# Each step is skipped when already done.

PY      := .venv/bin/python
LIND    := .venv/bin/lind
APT_PKGS := clang-19 lld-19 llvm-19 libclang-rt-19-dev-wasm32 binaryen gcc make python3-venv ca-certificates tcl
STAMP   := build/stamp

.PHONY: all setup demo test lint bench clean native sysroot real-programs

all: setup

setup: $(STAMP)/apt $(STAMP)/venv native sysroot

$(STAMP)/apt:
	@mkdir -p $(STAMP)
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@touch $@

$(STAMP)/venv: pyproject.toml $(STAMP)/apt
	@mkdir -p $(STAMP)
	@test -x $(PY) || python3 -m venv .venv
	@$(PY) -m pip install -q -e '.[dev]' --config-settings editable_mode=compat
	@# byte-compile now: with PYTHONDONTWRITEBYTECODE set, every `lind` start would recompile
	@$(PY) -m compileall -q lind_aot $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') >/dev/null || true
	@touch $@

native: $(STAMP)/venv
	@$(PY) -c 'from lind_aot.vmm.native import build; build()'

sysroot: $(STAMP)/venv
	@$(LIND) toolchain build >/dev/null

demo: setup
	@$(PY) examples/demo.py

test: setup lint
	@$(PY) -m pytest -q tests

lint: $(STAMP)/venv
	@.venv/bin/ruff check lind_aot tests bench examples

real-programs: setup
	@$(PY) -m lind_aot.realprog

bench: setup
	@$(LIND) bench

clean:
	rm -rf build .venv
