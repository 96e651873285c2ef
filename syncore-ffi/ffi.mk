# The C API's checks, included from the root Makefile.
#
#   make ffi-header          regenerate include/syncore.h with cbindgen
#   make ffi-header-check    fail if the committed header is stale; compile it as C11 and C++17
#   make ffi-test            build the C tests and examples, static and dynamic, and run them
#                            under valgrind (leaks and errors fatal); check `make install`
#   make install PREFIX=...  install the header, libsyncore.a, libsyncore.so and syncore.pc
#   make bench-c             chunk+hash throughput through the C API next to the Rust API

FFI_TARGET_DIR := $(abspath $(or $(CARGO_TARGET_DIR),target))
FFI_OUT := $(FFI_TARGET_DIR)/ffi-c
FFI_HEADER := include/syncore.h
FFI_CC ?= cc
FFI_CXX ?= c++
FFI_WARN := -Wall -Wextra -Werror -pedantic
FFI_CFLAGS := -std=c11 $(FFI_WARN) -g -O1 -Iinclude
# What a static Rust library needs from the system (`cargo rustc -- --print native-static-libs`).
FFI_SYSLIBS := -lpthread -ldl -lm -lrt
FFI_TESTS := $(basename $(notdir $(wildcard syncore-ffi/tests/*.c)))
FFI_EXAMPLES := $(basename $(notdir $(wildcard syncore-ffi/examples/*.c)))
FFI_VALGRIND := valgrind --quiet --leak-check=full --errors-for-leak-kinds=all --error-exitcode=1 \
	--suppressions=$(abspath syncore-ffi/tests/valgrind.supp)
PREFIX ?= /usr/local
FFI_INSTALL_PROFILE ?= release
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)

.PHONY: ffi-deps ffi-header ffi-header-check ffi-lib ffi-test ffi-install-test install bench-c

## Tools the C checks need: cbindgen (from crates.io) and valgrind (from Debian).
ffi-deps:
	@command -v cbindgen >/dev/null 2>&1 || $(CARGO) install cbindgen --locked
	@command -v valgrind >/dev/null 2>&1 || { \
		echo "installing valgrind"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; }

ffi-header: ffi-deps
	cbindgen --quiet --config syncore-ffi/cbindgen.toml --crate syncore-ffi --output $(FFI_HEADER)

ffi-header-check: ffi-deps
	@mkdir -p $(FFI_OUT)
	cbindgen --quiet --config syncore-ffi/cbindgen.toml --crate syncore-ffi --output $(FFI_OUT)/syncore.h
	@diff -u $(FFI_HEADER) $(FFI_OUT)/syncore.h || { \
		echo "include/syncore.h is stale: run 'make ffi-header' and commit it"; exit 1; }
	printf '#include "syncore.h"\nint main(void) { return syncore_version() == 0; }\n' > $(FFI_OUT)/header.c
	$(FFI_CC) -std=c11 $(FFI_WARN) -Iinclude -fsyntax-only $(FFI_OUT)/header.c
	$(FFI_CXX) -std=c++17 $(FFI_WARN) -Iinclude -fsyntax-only -x c++ $(FFI_OUT)/header.c

ffi-lib:
	$(CARGO) build -p syncore-ffi

ffi-test: ffi-deps ffi-lib
	@mkdir -p $(FFI_OUT)
	@set -e; lib=$(FFI_TARGET_DIR)/debug; \
	for t in $(FFI_TESTS); do \
		$(FFI_CC) $(FFI_CFLAGS) syncore-ffi/tests/$$t.c -o $(FFI_OUT)/$$t-static $$lib/libsyncore.a $(FFI_SYSLIBS); \
		$(FFI_CC) $(FFI_CFLAGS) syncore-ffi/tests/$$t.c -o $(FFI_OUT)/$$t-dynamic -L$$lib -lsyncore -Wl,-rpath,$$lib; \
		for kind in static dynamic; do \
			echo "== $$t ($$kind, valgrind)"; \
			(cd $(FFI_OUT) && $(FFI_VALGRIND) ./$$t-$$kind); \
		done; \
	done; \
	for e in $(FFI_EXAMPLES); do \
		$(FFI_CC) $(FFI_CFLAGS) syncore-ffi/examples/$$e.c -o $(FFI_OUT)/$$e-static $$lib/libsyncore.a $(FFI_SYSLIBS); \
		echo "== example $$e (static, valgrind)"; \
		$(FFI_VALGRIND) $(FFI_OUT)/$$e-static Cargo.toml; \
	done
	$(MAKE) --no-print-directory ffi-install-test

## Installs into a scratch prefix and builds an example with pkg-config against it.
ffi-install-test:
	@rm -rf $(FFI_OUT)/prefix && mkdir -p $(FFI_OUT)/prefix
	$(MAKE) --no-print-directory install PREFIX=$(FFI_OUT)/prefix FFI_INSTALL_PROFILE=debug
	PKG_CONFIG_PATH=$(FFI_OUT)/prefix/lib/pkgconfig sh -c \
		'$(FFI_CC) -std=c11 $(FFI_WARN) syncore-ffi/examples/manifest_file.c -o $(FFI_OUT)/pc-example $$(pkg-config --cflags --libs syncore)'
	LD_LIBRARY_PATH=$(FFI_OUT)/prefix/lib $(FFI_OUT)/pc-example Cargo.toml
	PKG_CONFIG_PATH=$(FFI_OUT)/prefix/lib/pkgconfig sh -c \
		'$(FFI_CC) -std=c11 $(FFI_WARN) syncore-ffi/examples/manifest_file.c -o $(FFI_OUT)/pc-example-static $$(pkg-config --cflags syncore) $(FFI_OUT)/prefix/lib/libsyncore.a $$(pkg-config --libs-only-l --static syncore | sed "s/-lsyncore//")'
	$(FFI_OUT)/pc-example-static Cargo.toml

install:
	$(CARGO) build -p syncore-ffi $(if $(filter release,$(FFI_INSTALL_PROFILE)),--release,)
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(FFI_HEADER) $(DESTDIR)$(PREFIX)/include/syncore.h
	install -m 644 $(FFI_TARGET_DIR)/$(FFI_INSTALL_PROFILE)/libsyncore.a $(DESTDIR)$(PREFIX)/lib/libsyncore.a
	install -m 755 $(FFI_TARGET_DIR)/$(FFI_INSTALL_PROFILE)/libsyncore.so $(DESTDIR)$(PREFIX)/lib/libsyncore.so
	@printf '%s\n' \
		'prefix=$(PREFIX)' \
		'libdir=$${prefix}/lib' \
		'includedir=$${prefix}/include' \
		'' \
		'Name: syncore' \
		'Description: Embeddable file-sync engine (C API)' \
		'Version: $(VERSION)' \
		'Cflags: -I$${includedir}' \
		'Libs: -L$${libdir} -lsyncore' \
		'Libs.private: $(FFI_SYSLIBS)' \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/syncore.pc

## Chunk+hash throughput: a C program over the static library, then the in-process
## criterion comparison of the C API with the Rust API on the same seeded data.
bench-c:
	$(CARGO) build --release -p syncore-ffi
	@mkdir -p $(FFI_OUT)
	$(FFI_CC) -std=c11 $(FFI_WARN) -O2 -Iinclude syncore-ffi/benches/bench_chunk.c -o $(FFI_OUT)/bench_chunk \
		$(FFI_TARGET_DIR)/release/libsyncore.a $(FFI_SYSLIBS)
	$(FFI_OUT)/bench_chunk
	$(CARGO) bench -p syncore-ffi --bench c_api
