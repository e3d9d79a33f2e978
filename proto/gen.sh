#!/bin/sh
# gen.sh regenerates the Go code of proto/riskmesh/v1/*.proto into
# proto/riskmeshv1 (make proto). With -check it generates into a temporary
# directory instead and fails, showing the difference, if any generated file
# would be added, removed or changed (make proto-check, run by CI).
#
# Reproducible: protoc must be exactly the version below (Debian bookworm's
# protobuf-compiler; its version is written into every generated header),
# and the plugins run through `go tool`, so their versions come from go.mod.
set -eu

PROTOC_VERSION="libprotoc 3.21.12"

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

have=$(protoc --version 2>/dev/null || true)
if [ "$have" != "$PROTOC_VERSION" ]; then
	echo "proto/gen.sh: need protoc \"$PROTOC_VERSION\" (apt-get install protobuf-compiler on Debian bookworm), found \"${have:-none}\"" >&2
	exit 1
fi

# `go tool -n` builds the pinned plugin if needed and prints its path.
gen_go=$(go tool -n protoc-gen-go)
gen_grpc=$(go tool -n protoc-gen-go-grpc)

generate() { # generate OUTDIR: writes OUTDIR/proto/riskmeshv1/*.pb.go
	mkdir -p "$1/proto/riskmeshv1"
	rm -f "$1"/proto/riskmeshv1/*.pb.go
	protoc \
		--plugin=protoc-gen-go="$gen_go" \
		--plugin=protoc-gen-go-grpc="$gen_grpc" \
		-I proto \
		--go_out="$1" --go_opt=module=github.com/riskmesh/riskmesh \
		--go-grpc_out="$1" --go-grpc_opt=module=github.com/riskmesh/riskmesh \
		proto/riskmesh/v1/*.proto
}

if [ "${1:-}" != "-check" ]; then
	generate "$root"
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
generate "$tmp"
mkdir "$tmp/committed"
cp proto/riskmeshv1/*.pb.go "$tmp/committed/" 2>/dev/null || true
if ! diff -ru "$tmp/committed" "$tmp/proto/riskmeshv1" >"$tmp/diff"; then
	echo "proto/gen.sh: generated code in proto/riskmeshv1 is out of date; run make proto and commit:" >&2
	head -100 "$tmp/diff" >&2
	exit 1
fi
