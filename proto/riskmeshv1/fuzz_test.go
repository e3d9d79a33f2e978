package riskmeshv1

import (
	"testing"

	"google.golang.org/protobuf/proto"
)

// addFixtureSeeds seeds f with the encodings of the fixtures whose type
// matches want.
func addFixtureSeeds(f *testing.F, want proto.Message) {
	f.Helper()
	fixtures := append(peerFixtures(newExchange(f)), nodeFixtures()...)
	for _, fx := range fixtures {
		if fx.msg.ProtoReflect().Descriptor() != want.ProtoReflect().Descriptor() {
			continue
		}
		enc, err := proto.Marshal(fx.msg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Add([]byte{})
}

// fuzzDecode checks the properties every frame decoder relies on: decoding
// never panics, and whatever decodes re-encodes to a message that decodes
// equal. Decoded memory is not bounded by the wire size here (an empty
// repeated element is 2 bytes on the wire and tens decoded); the business
// API bounds it before decoding and node/api's FuzzDecodeRequest measures it.
func fuzzDecode(t *testing.T, data []byte, m proto.Message) bool {
	t.Helper()
	if err := proto.Unmarshal(data, m); err != nil {
		return false
	}
	enc, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatalf("decoded message does not re-encode: %v", err)
	}
	again := m.ProtoReflect().New().Interface()
	if err := proto.Unmarshal(enc, again); err != nil {
		t.Fatalf("re-encoding does not decode: %v", err)
	}
	if !proto.Equal(m, again) {
		t.Fatalf("round trip changed the message:\n%v\n%v", m, again)
	}
	return true
}

func FuzzPeerRequest(f *testing.F) {
	addFixtureSeeds(f, &PeerRequest{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m PeerRequest
		if !fuzzDecode(t, data, &m) {
			return
		}
		if n := MaxResponseSize(&m); n < 0 || n > MaxECDHReplySize {
			t.Fatalf("MaxResponseSize = %d", n)
		}
	})
}

func FuzzPeerResponse(f *testing.F) {
	addFixtureSeeds(f, &PeerResponse{})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecode(t, data, &PeerResponse{})
	})
}

func FuzzQueryRequest(f *testing.F) {
	addFixtureSeeds(f, &QueryRequest{})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecode(t, data, &QueryRequest{})
	})
}
