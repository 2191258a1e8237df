# mcp-warden: the two commands a newcomer needs are `make demo` and `make test`.
# Both run scripts/setup.sh first, which installs every Debian and npm dependency (idempotent).
JOBS ?= $(shell nproc)
.PHONY: all setup build build-asan test unit e2e conformance demo bench format tidy clean

all: build

setup:
	bash scripts/setup.sh

build: setup
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

build-asan: setup
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)

# Unit tests, data-driven policy cases, fuzz smoke, end-to-end tests and the official MCP
# conformance suite through the gateway, all against the ASan+UBSan build.
test: build-asan
	ctest --preset asan -j $(JOBS)
	WARDEN_BIN=$(CURDIR)/build-asan/mcp-warden bash tests/e2e/run.sh
	WARDEN_BIN=$(CURDIR)/build-asan/mcp-warden bash tests/conformance/run.sh gateway shared remote client modern

unit: build-asan
	ctest --preset asan -j $(JOBS)

e2e: build-asan
	WARDEN_BIN=$(CURDIR)/build-asan/mcp-warden bash tests/e2e/run.sh

# The official MCP conformance suite through `mcp-warden gateway` (server mode with local and remote
# upstreams, client mode), and directly against the same fixture for comparison
# (tests/conformance/run.sh).
conformance: build-asan
	WARDEN_BIN=$(CURDIR)/build-asan/mcp-warden bash tests/conformance/run.sh

demo: build
	bash scripts/demo.sh

bench: build
	bash scripts/setup.sh bench
	bash bench/run.sh

format:
	find src tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

tidy: build
	run-clang-tidy -p build -quiet 'src/warden/.*' 2>/dev/null || clang-tidy -p build $$(find src -name '*.cpp')

clean:
	rm -rf build build-debug build-asan
