#!/bin/sh
# gen.sh regenerates the Go code of proto/riskmesh/v1/*.proto into
# proto/riskmeshv1, or into OUTDIR/proto/riskmeshv1 when an OUTDIR is given
# (make proto-check compares such a copy with the committed files).
#
# Reproducible: protoc must be exactly the version below (Debian bookworm's
# protobuf-compiler; its version is written into every generated header),
# and the plugins run through `go tool`, so their versions come from go.mod.
set -eu

PROTOC_VERSION="libprotoc 3.21.12"

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root}
cd "$root"

have=$(protoc --version 2>/dev/null || true)
if [ "$have" != "$PROTOC_VERSION" ]; then
	echo "proto/gen.sh: need protoc \"$PROTOC_VERSION\" (apt-get install protobuf-compiler on Debian bookworm), found \"${have:-none}\"" >&2
	exit 1
fi

# `go tool -n` builds the pinned plugin if needed and prints its path.
gen_go=$(go tool -n protoc-gen-go)
gen_grpc=$(go tool -n protoc-gen-go-grpc)

mkdir -p "$out/proto/riskmeshv1"
rm -f "$out"/proto/riskmeshv1/*.pb.go
protoc \
	--plugin=protoc-gen-go="$gen_go" \
	--plugin=protoc-gen-go-grpc="$gen_grpc" \
	-I proto \
	--go_out="$out" --go_opt=module=github.com/riskmesh/riskmesh \
	--go-grpc_out="$out" --go-grpc_opt=module=github.com/riskmesh/riskmesh \
	proto/riskmesh/v1/*.proto
