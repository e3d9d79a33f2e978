package api

import (
	"runtime"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Limits of the fuzzed service: small, so that inputs of a few kilobytes
// can go past them.
const (
	fuzzMaxIdentifiers = 16
	fuzzMaxProviders   = 4
)

// decodeBound is the most heap a decode of a request of n wire bytes may
// allocate when it fits budget elements: the materialised copy of the
// wire bytes, the decoded strings and bytes (at most the wire bytes
// again), perElementBytes per element and a constant for the message
// itself.
func decodeBound(n, budget int) uint64 {
	const perElementBytes, constant = 256, 8 << 10
	return uint64(3*n + perElementBytes*budget + constant)
}

// allocated returns the heap bytes f allocates: the least of three runs,
// so that another goroutine's allocation does not count against f.
func allocated(f func()) uint64 {
	least := ^uint64(0)
	var before, after runtime.MemStats
	for range 3 {
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}

// emptyIdentifiers is a QueryRequest of n empty identifiers on the wire:
// 2 bytes each, the densest request there is.
func emptyIdentifiers(n int) []byte {
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	b = protowire.AppendString(b, "black")
	for range n {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendVarint(b, 0)
	}
	return b
}

// TestDecodeBoundCatchesUnboundedDecode: the property FuzzDecodeRequest
// checks fails for plain protobuf decoding of a dense request, and holds
// for the server's codec, which refuses it before decoding.
func TestDecodeBoundCatchesUnboundedDecode(t *testing.T) {
	svc, err := New(Config{MaxIdentifiers: fuzzMaxIdentifiers, MaxProviders: fuzzMaxProviders})
	if err != nil {
		t.Fatal(err)
	}
	budget := svc.elementBudget(&riskmeshv1.QueryRequest{})
	wire := emptyIdentifiers(20_000)
	raw := allocated(func() {
		var m riskmeshv1.QueryRequest
		if err := proto.Unmarshal(wire, &m); err != nil {
			t.Fatal(err)
		}
	})
	if raw <= decodeBound(len(wire), budget) {
		t.Fatalf("plain decoding of %d bytes allocated %d, within the bound %d: the property cannot fail", len(wire), raw, decodeBound(len(wire), budget))
	}
	codec := newBoundedCodec(svc.elementBudget)
	var codecErr error
	bounded := allocated(func() {
		codecErr = codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, &riskmeshv1.QueryRequest{})
	})
	if codecErr == nil {
		t.Fatal("the codec decoded 20,000 identifiers with a budget of 16")
	}
	if bounded > decodeBound(len(wire), budget) {
		t.Fatalf("the codec allocated %d refusing %d bytes, bound %d", bounded, len(wire), decodeBound(len(wire), budget))
	}
	t.Logf("%d bytes of empty identifiers: plain decode %d bytes of heap (%.0fx), the codec %d", len(wire), raw, float64(raw)/float64(len(wire)), bounded)
}

// FuzzDecodeRequest: whatever bytes a caller sends as a QueryRequest, the
// server's codec never panics, decodes only requests within the element
// budget, and allocates at most decodeBound for them (measured); the Query
// handler then passes to the requester only queries within its bounds.
func FuzzDecodeRequest(f *testing.F) {
	for _, m := range []*riskmeshv1.QueryRequest{
		{Category: "black", Identifiers: []*riskmeshv1.Identifier{{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: "+8613800138000"}}},
		{Category: "black", Identifiers: make([]*riskmeshv1.Identifier, fuzzMaxIdentifiers), Providers: []string{"Bank1MSP", "Bank2MSP"},
			Deadline: durationpb.New(1e9), ClientRequestId: "retry-1"},
	} {
		for i := range m.Identifiers {
			if m.Identifiers[i] == nil {
				m.Identifiers[i] = &riskmeshv1.Identifier{Value: "x"}
			}
		}
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(emptyIdentifiers(fuzzMaxIdentifiers * 4))
	f.Add(slices.Repeat([]byte{0x1a, 0x00}, 500)) // empty provider names
	f.Add([]byte{0x12, 0x80, 0x80, 0x80, 0x80, 0x08})
	svc, err := New(Config{MaxIdentifiers: fuzzMaxIdentifiers, MaxProviders: fuzzMaxProviders})
	if err != nil {
		f.Fatal(err)
	}
	budget := svc.elementBudget(&riskmeshv1.QueryRequest{})
	codec := newBoundedCodec(svc.elementBudget)
	f.Fuzz(func(t *testing.T, wire []byte) {
		var m *riskmeshv1.QueryRequest
		var err error
		used := allocated(func() {
			m = new(riskmeshv1.QueryRequest)
			err = codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, m)
		})
		if err != nil {
			return
		}
		if n := len(m.GetIdentifiers()) + len(m.GetProviders()); n > budget {
			t.Fatalf("decoded %d identifiers and providers, budget %d elements", n, budget)
		}
		if bound := decodeBound(len(wire), budget); used > bound {
			t.Fatalf("%d-byte request allocated %d bytes decoding, bound %d", len(wire), used, bound)
		}
		// What the handler lets through to the requester is within its
		// bounds; what it refuses is the caller's mistake.
		err = svc.checkQuery(m)
		ids, providers := len(m.GetIdentifiers()), len(m.GetProviders())
		switch {
		case err == nil && (ids == 0 || ids > fuzzMaxIdentifiers || providers > fuzzMaxProviders || m.GetCategory() == ""):
			t.Fatalf("handler passed a query of %d identifiers, %d providers, category %q", ids, providers, m.GetCategory())
		case err != nil && status.Code(err) != codes.InvalidArgument:
			t.Fatalf("handler refused with %v", err)
		}
	})
}
