# lind-aot: `make demo` and `make test` set up everything on a fresh Debian 12 machine (as root):
# apt packages, a .venv with the package, the C data plane, the musl source and the sysroot.
# Each step is skipped when already done.

PY      := .venv/bin/python
LIND    := .venv/bin/lind
APT_PKGS := clang-19 lld-19 llvm-19 libclang-rt-19-dev-wasm32 binaryen gcc make python3-venv ca-certificates tcl
STAMP   := build/stamp

.PHONY: all setup demo test lint bench clean native sysroot real-programs test-asan test-tsan stress stress-asan-ci

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
	@$(MAKE) --no-print-directory stress-asan-ci

# The data plane under AddressSanitizer+UBSan / ThreadSanitizer (LIND_SANITIZE, lind_aot/vmm/native.py),
# running the lifecycle, process, thread, signal, batch and API tests and the stress suite; the
# reports are grouped and printed at the end, and any report fails the target
# (tests/stress/sanitize.py; suppressions of reports that are not ours: tests/stress/*.supp).
SAN_TESTS := tests/test_processes.py tests/test_threads.py tests/test_signals.py tests/test_batch.py \
	tests/test_api.py $(wildcard tests/test_lifecycle.py) tests/stress
SANITIZE := $(PY) tests/stress/sanitize.py

test-asan: setup
	@$(SANITIZE) asan --logs build/sanitize/asan -- $(PY) -m pytest -q -p no:cacheprovider $(SAN_TESTS)

test-tsan: setup
	@$(SANITIZE) tsan --logs build/sanitize/tsan -- $(PY) -m pytest -q -p no:cacheprovider $(SAN_TESTS)

# The stress suite at a larger size (LIND_STRESS_SCALE, default 20 here; LIND_STRESS_SEED repeats a run).
stress: setup
	@LIND_STRESS_SCALE=$${LIND_STRESS_SCALE:-20} $(PY) -m pytest -q -p no:cacheprovider tests/stress

# The bounded ASan run of the stress suite that `make test` ends with (about a minute).
stress-asan-ci: setup
	@$(SANITIZE) asan --logs build/sanitize/asan-ci -- $(PY) -m pytest -q -p no:cacheprovider tests/stress/test_stress.py

lint: $(STAMP)/venv
	@.venv/bin/ruff check lind_aot tests bench examples

real-programs: setup
	@$(PY) tests/realbuild.py

bench: setup
	@$(LIND) bench

clean:
	rm -rf build .venv
