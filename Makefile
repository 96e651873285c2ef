# syncore: every check CI runs is reachable from `make test`.
#
#   make test            fmt, clippy, docs, all tests (incl. rdiff interop and fuzz corpus replay)
#   make fuzz            run each fuzz target for FUZZ_SECONDS (default 30) on stable via RUSTC_BOOTSTRAP
#   make bench           criterion benches against the peers (release build; minutes)
#   make run             the main job: two-way sync demo (edit, delete, rename, conflict)
#   make ffi-test        C API tests under valgrind; see syncore-ffi/ffi.mk (install, bench-c, ...)
#   make py-test         the Python package: build, pytest, mypy, stubtest (see syncore-py/py.mk)

CARGO ?= cargo
FUZZ_SECONDS ?= 30
# Set by CI to also fuzz each target for a bounded time inside `make test`.
TEST_FUZZ_SECONDS ?= 0
FUZZ_TARGETS := $(shell sed -n 's/^name = "\(.*\)"$$/\1/p' fuzz/Cargo.toml | grep -v '^syncore-fuzz$$')

.PHONY: test deps fmt-check clippy doc unit-test example-test fuzz fuzz-tool bench run

test: deps fmt-check clippy doc unit-test example-test ffi-header-check ffi-test py-test
ifneq ($(TEST_FUZZ_SECONDS),0)
	$(MAKE) fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)
endif

## System tools the tests need: the real `rdiff` (librsync's CLI) for delta interop.
deps:
	@command -v rdiff >/dev/null 2>&1 || { \
		echo "installing rdiff"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rdiff >/dev/null; }

fmt-check:
	$(CARGO) fmt --all -- --check
	cd fuzz && $(CARGO) fmt -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

unit-test:
	$(CARGO) test --workspace

## The sync example's demo must run and show the conflict copy it promises.
example-test:
	@out=$$(mktemp) && $(CARGO) run -q -p syncore --example sync > $$out; rc=$$?; cat $$out; \
	grep -q 'loser kept as notes.sync-conflict-' $$out || rc=1; rm -f $$out; exit $$rc

fuzz-tool:
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked

fuzz: fuzz-tool
	@for target in $(FUZZ_TARGETS); do \
		echo "== fuzz $$target for $(FUZZ_SECONDS)s"; \
		mkdir -p fuzz/corpus/$$target; \
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --fuzz-dir fuzz $$target fuzz/corpus/$$target -- \
			-max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -max_len=65536 || exit 1; \
	done

bench:
	$(CARGO) bench -p syncore-benches

run:
	$(CARGO) run --release -p syncore --example sync

include syncore-ffi/ffi.mk
include syncore-py/py.mk
