# RiskMesh developer targets. `make test` is the command CI runs (see .ci/run).
GO ?= go

.PHONY: all test test-unit test-fabric lint fmt-check vet staticcheck mod-check nocgo-check bench bench-quick demo proto proto-check

all: lint test-unit

## test: everything CI checks: lint, generated code, unit tests with the race detector,
## the ledger, node and dispute tests on a real Fabric network, and the benchmark
## harness's quick suite (its answers checked, its report files read back).
test: lint proto-check test-unit test-fabric bench-quick

## test-unit: the Go test suite with the race detector.
test-unit:
	$(GO) test -race -count=1 ./...

## test-fabric: the ledger conformance suite, the misbehaving-provider dispute, the
## four-node integration test, the consortium growth-and-upgrade test
## (deploy/fabric TestGrowAndUpgrade) and the orderer, CA and rollback operations
## (TestConsortiumOperations) on real Fabric networks that the tests build
## (first run: about 3 minutes of CPU), start and tear down (deploy/fabric, docs/fabric-network.md).
## One package at a time: each brings up its own network. In the node packages only the
## Fabric variants run here; their embedded variants ran in test-unit.
test-fabric:
	RISKMESH_FABRIC=1 $(GO) test -count=1 -p 1 -timeout 20m ./deploy/fabric/... ./accounting/fabric/...
	RISKMESH_FABRIC=1 $(GO) test -count=1 -p 1 -timeout 20m -run Fabric ./node/dispute/... ./node/nodetest/...

## lint: gofmt, go vet, staticcheck (pinned in go.mod as a tool) and a tidy go.mod.
lint: fmt-check vet staticcheck mod-check nocgo-check

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## nocgo-check: without a C compiler the node still builds (file keys only;
## PKCS#11 tokens need cgo) and says so when a token is configured.
nocgo-check:
	CGO_ENABLED=0 $(GO) build ./...
	CGO_ENABLED=0 $(GO) test -count=1 -run TestOpenTokenWithoutCgo ./node/identity

staticcheck:
	$(GO) tool staticcheck ./...

## mod-check: fail if go mod tidy would change go.mod or go.sum (it reads the module proxy).
mod-check:
	$(GO) mod tidy -diff

## bench: the micro-benchmarks of the libraries (results go to docs/benchmarks.md by hand).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./psi/...

## bench-quick: the benchmark harness's quick suite (about 1-2 minutes on 2 cores): every
## protocol, transport and baseline at small sizes, answers checked, the CSV, summary and
## plots written to BENCH_OUT and read back. The full suite: go run ./cmd/riskmesh-bench
## (a command of its own, so the node binary links no plotting or baselines).
BENCH_OUT ?= $(or $(TMPDIR),/tmp)/riskmesh-bench-quick
bench-quick:
	$(GO) run ./cmd/riskmesh-bench --quick --out $(BENCH_OUT)

## demo: the one-command demo on the embedded ledger.
demo:
	$(GO) run ./cmd/riskmesh demo

## proto: regenerate proto/riskmeshv1 from proto/riskmesh/v1/*.proto. Needs protoc 3.21.12
## (Debian bookworm: apt-get install protobuf-compiler); the plugins are Go tools pinned in go.mod.
proto:
	proto/gen.sh

## proto-check: fail if regenerating would change the committed generated code. Without
## protoc it is skipped with a notice, except in CI (CI=true), where .ci/run installs protoc.
proto-check:
	@if command -v protoc >/dev/null || [ "$${CI:-}" = true ]; then proto/gen.sh -check; \
	else echo "proto-check skipped: protoc not installed (apt-get install protobuf-compiler)"; fi
