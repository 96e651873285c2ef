# Python package targets, included from the root Makefile.
#
#   make py-venv     create .venv (python3.11) with maturin, pytest and mypy
#   make py-test     build and install ./syncore-py into .venv (release wheel), run pytest,
#                    mypy --strict on the tests and stubtest against the built module
#   make py-bench    the chunk+hash benchmark against pyfastcdc + blake3 and the Rust API

PY_VENV ?= .venv
PY_BASE ?= python3.11
PY := $(abspath $(PY_VENV))/bin/python

.PHONY: py-venv py-test py-bench

py-venv:
	@test -x $(PY) || $(PY_BASE) -m venv $(PY_VENV)
	$(PY) -m pip install -q --disable-pip-version-check maturin pytest mypy

py-test: py-venv
	$(PY) -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./syncore-py
	cd syncore-py && $(PY) -m pytest -q tests
	cd syncore-py && $(PY) -m mypy --strict tests
	cd syncore-py && $(PY) -m mypy.stubtest syncore

py-bench: py-venv
	$(PY) -m pip install -q --disable-pip-version-check pyfastcdc blake3
	$(PY) -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./syncore-py
	$(CARGO) build --release -p syncore --example chunk_timing
	$(PY) syncore-py/benches/bench_chunk_hash.py --rust-timer target/release/examples/chunk_timing
