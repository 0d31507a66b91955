# agent-vault build, test and check targets. See README.md.
GO      ?= go
WASM    := build/agent_vault.wasm
GOFILES := $(shell find core wasm cli internal -name '*.go' 2>/dev/null) go.mod go.sum
WASM_COPIES := bindings/python/src/agent_vault/agent_vault.wasm bindings/node/agent_vault.wasm bindings/web/agent_vault.wasm
# The JS glue shared by the Node package and the browser page; the package ships a copy.
GLUE_COPIES := bindings/node/shared/glue.js


.PHONY: all build cli wasm startup-functions demo deps web-serve test test-go test-python test-node test-web test-mcp test-compat soak check bench clean

all: build

## build: the CLI, the MCP server and the WebAssembly module (copied into every binding)
build: cli wasm $(WASM_COPIES) $(GLUE_COPIES)

cli: $(GOFILES)
	$(GO) build -trimpath -o bin/agent-vault ./cli/agent-vault
	$(GO) build -trimpath -o bin/agent-vault-mcp ./cli/agent-vault-mcp

wasm: $(WASM)

# Linked with its function names, which wasm/hints turns into V8 compilation
# hints (the functions a cold start calls, listed in wasm/hints/startup.txt)
# and then drops, as -s would.
$(WASM): $(GOFILES) wasm/hints/startup.txt
	@mkdir -p build
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -ldflags='-w' -o build/agent_vault.named.wasm ./wasm/guest
	$(GO) run ./wasm/hints -eager wasm/hints/startup.txt -o $@ build/agent_vault.named.wasm

$(WASM_COPIES): $(WASM)
	@mkdir -p $(dir $@)
	cp $(WASM) $@

$(GLUE_COPIES): bindings/js/glue.js
	@mkdir -p $(dir $@)
	cp bindings/js/glue.js $@

# The browser page imports the pinned WASI shim from bindings/web/node_modules.
bindings/web/node_modules/.package-lock.json: bindings/web/package-lock.json
	cd bindings/web && npm ci --omit=dev --no-audit --no-fund

## demo: a throwaway vault on a local Git repo with a bare remote
demo: build
	./scripts/demo.sh

## test: every suite — Go (native + wazero), Python, Node, MCP, browser, the original tool
test: deps build test-go test-python test-node test-mcp soak test-web test-compat
	@echo "all test suites passed"

## deps: system packages the suites need (strace, chromium), installed when missing
deps:
	./scripts/install-deps.sh

test-go: build
	$(GO) test -count=1 -timeout 30m ./...

test-python: build
	./bindings/python/test.sh

test-node: build
	./bindings/node/test.sh

test-mcp: build
	./tests/mcp/test.sh

## soak: 8 MCP servers sharing one HOME and repository URL, 1,000 calls each, while the owner
## pushes grants, revokes and rotations; every answer checked against the push log (about 3 minutes)
soak: build
	$(GO) test -tags soak -count=1 -v -timeout 15m -run TestSoak ./tests/soak

test-web: build
	./bindings/web/test.sh

## test-compat: both directions against the original Rust agent-vault 0.1.0 (CLI, Python and Node SDKs),
## installed once into ~/.cache/agent-vault-compat (or $$AGENT_VAULT_COMPAT_CACHE)
test-compat: build
	./tests/compat/test.sh

## check: gofmt, go vet (the soak too), the wasip1 build of core and wasm, the windows and darwin builds, go mod tidy drift
check:
	@out=$$(gofmt -l core wasm cli internal tests); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags soak ./tests/soak
	GOOS=windows GOARCH=amd64 $(GO) build ./...
	GOOS=windows GOARCH=amd64 $(GO) vet ./core/... ./cli/... ./internal/... ./wasm/...
	GOOS=darwin GOARCH=arm64 $(GO) build ./...
	GOOS=wasip1 GOARCH=wasm $(GO) build ./core/... ./wasm/abi
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o /dev/null ./wasm/guest
	@cp go.mod /tmp/agent-vault-go.mod.bak; cp go.sum /tmp/agent-vault-go.sum.bak; \
	$(GO) mod tidy; \
	if ! cmp -s go.mod /tmp/agent-vault-go.mod.bak || ! cmp -s go.sum /tmp/agent-vault-go.sum.bak; then \
		cp /tmp/agent-vault-go.mod.bak go.mod; cp /tmp/agent-vault-go.sum.bak go.sum; \
		echo "go mod tidy would change go.mod/go.sum"; exit 1; fi

## web-serve: the browser viewer at http://127.0.0.1:8088/web/
web-serve: build bindings/web/node_modules/.package-lock.json
	python3 -m http.server 8088 --bind 127.0.0.1 --directory bindings

## startup-functions: record the functions a cold Node get calls into wasm/hints/startup.txt
startup-functions: build
	node bindings/node/scripts/startup-functions.mjs > build/startup.txt
	mv build/startup.txt wasm/hints/startup.txt
	$(MAKE) --no-print-directory build

## bench: every benchmark, reported side by side (see docs/BENCHMARKS.md)
bench: build
	./scripts/bench.sh

clean:
	rm -rf bin build $(WASM_COPIES) $(GLUE_COPIES)
