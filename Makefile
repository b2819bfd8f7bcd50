# mcp-code-runtime. `make demo` sets up a fresh machine, builds, and runs an
# example against real MCP servers; `make test` runs every test; `make fuzz`
# runs the fuzz targets in fuzz/ (nightly; never part of build or test);
# `make otel-test` checks the OpenTelemetry export (never part of test).

CARGO ?= cargo
BIN := target/debug/mcp-code-runtime
RELEASE_BIN := target/release/mcp-code-runtime

.PHONY: setup build demo test otel-test bench types fuzz clean

setup:
	./scripts/setup.sh

build: setup
	$(CARGO) build --workspace --bins
	$(BIN) skills build --builtin

demo: build
	MCP_CODE_RUNTIME_ROOT=$(CURDIR) $(BIN) run examples/quickstart.ts --config config/mcp-servers.json

test: build
	$(CARGO) test --workspace

# The OpenTelemetry export (the host's `otel` feature, never in `build` or
# `test`): a host built with it sends its spans to a test collector. The
# binary is copied aside, then the default one is rebuilt in its place.
otel-test: setup
	$(CARGO) build -p mcp-code-runtime --bins --features otel
	mkdir -p target/otel && cp $(BIN) target/otel/mcp-code-runtime
	$(CARGO) build --workspace --bins
	MCP_CODE_RUNTIME_BIN=$(CURDIR)/target/otel/mcp-code-runtime $(CARGO) test -p integration-tests --test all otel -- --ignored

bench: setup
	$(CARGO) build --release --workspace --bins
	$(RELEASE_BIN) skills build --builtin
	$(CARGO) run --release -p integration-tests --bin bench

fuzz: build
	./scripts/fuzz.sh

types: build
	MCP_CODE_RUNTIME_ROOT=$(CURDIR) $(BIN) types --config config/mcp-servers.json --out types

clean:
	$(CARGO) clean
