# devloop — everything a fresh machine needs is set up by these targets.
SHELL := /bin/bash
GO ?= go
TESTBED := hack/testbed/up.sh
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
TOOLS ?= $(HOME)/.cache/devloop/bin
# The testbed's address unless the caller already points at a daemon.
WITH_BUILDER = if [ -z "$$BUILDKIT_HOST" ]; then eval "$$(bash $(TESTBED) --env)"; fi

.PHONY: all build test test-unit lint testbed testbed-down demo bench faults clean

all: build

build:
	$(GO) build -o bin/devloop ./cmd/devloop

# Starts the offline BuildKit testbed (installs runc/busybox/docker.io, builds buildkitd
# from the Go module proxy on first use, starts a loopback registry, a Docker Engine 20.10
# under the testbed's state dir and a BuildKit container in it) and prints its address.
testbed:
	bash $(TESTBED)

testbed-down:
	bash hack/testbed/down.sh

# The main job: build the example through a real BuildKit and run the binaries.
demo: build
	@$(WITH_BUILDER); set -e; \
	./bin/devloop build --progress plain; \
	./bin/server --version; ./bin/client --version; \
	./bin/server --addr 127.0.0.1:3999 & pid=$$!; \
	for i in $$(seq 50); do ./bin/client --addr 127.0.0.1:3999 2>/dev/null && break; sleep 0.1; done; \
	kill $$pid; wait $$pid 2>/dev/null || true

# Vets with and without the e2e tag: with it, the end-to-end tests are compiled and
# checked too; without it, the unit tests must build on their own.
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags e2e ./...
	GOOS=windows $(GO) vet -tags e2e ./...
	GOOS=darwin $(GO) vet -tags e2e ./...
	GOBIN=$(TOOLS) $(GO) install $(STATICCHECK)
	$(TOOLS)/staticcheck -tags e2e ./...
	GOOS=windows $(TOOLS)/staticcheck -tags e2e ./...

# Every test: unit tests and, with the build tag e2e, the end-to-end tests of cmd/devloop
# and test/faults against the real testbed; then the config fuzzer for an execution
# count, not a duration: a -fuzztime duration can end in a spurious "context deadline
# exceeded" failure on Go 1.26 (a race in the fuzz coordinator, go.dev/issue/75804).
test: lint
	@$(WITH_BUILDER); set -e; \
	echo "BUILDKIT_HOST=$$BUILDKIT_HOST"; \
	$(GO) test -count=1 -timeout 40m -tags e2e ./... ; \
	$(GO) test -count=1 -tags e2e -run '^$$' -fuzz FuzzParse -fuzztime 300000x -fuzzminimizetime 500x ./config

# The unit tests of every package, cmd/devloop's included: no testbed, no daemon, no
# devloop binary (the same as `go test ./...`).
test-unit:
	$(GO) test -count=1 -short ./...

bench: build
	@$(WITH_BUILDER); bash bench/run.sh

# The long fault runs of RELIABILITY.md (CI runs the same tests at small counts).
faults:
	@$(WITH_BUILDER); DEVLOOP_FAULTS_SCALE=full $(GO) test -count=1 -timeout 3h -tags e2e -v ./test/faults

clean:
	rm -rf bin .devloop
