# RiskMesh developer targets. `make test` is the command CI runs (see .ci/run).
GO ?= go

.PHONY: all test test-unit lint vet staticcheck bench demo

all: lint test-unit

## test: everything CI checks: lint, unit and integration tests with the race detector.
test: lint test-unit

## test-unit: the Go test suite with the race detector.
test-unit:
	$(GO) test -race -count=1 ./...

## lint: go vet and staticcheck (pinned in go.mod as a tool).
lint: vet staticcheck

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) tool staticcheck ./...

## bench: the micro-benchmarks of the libraries (results go to docs/benchmarks.md by hand).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./psi/...

## demo: the one-command demo on the embedded ledger.
demo:
	$(GO) run ./cmd/riskmesh demo
