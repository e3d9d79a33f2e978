package ecdh

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzDecoder checks a decoder never panics, and that whatever it accepts
// re-encodes to exactly the input (the encoding is canonical) and carries
// only valid points.
func fuzzDecoder(f *testing.F, d unmarshaler, seed []byte) {
	f.Add(seed)
	f.Add(seed[:headerSize])
	f.Add(append(bytes.Clone(seed), 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		again, err := d.again(data)
		if err != nil {
			if known(err) {
				return
			}
			t.Fatalf("unexpected error kind: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("accepted a non-canonical encoding:\n in %x\nout %x", data, again)
		}
	})
}

func known(err error) bool {
	for _, e := range []error{ErrMalformed, ErrVersion, ErrMessageType, ErrMode, ErrTrailingBytes,
		ErrSetTooLarge, ErrInvalidPoint, ErrIdentityPoint} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func FuzzRequest(f *testing.F) {
	req, _, _ := validMessages(f)
	fuzzDecoder(f, decoders()[0], req)
}

func FuzzReply(f *testing.F) {
	_, reply, _ := validMessages(f)
	fuzzDecoder(f, decoders()[1], reply)
}

func FuzzReturn(f *testing.F) {
	_, _, ret := validMessages(f)
	fuzzDecoder(f, decoders()[2], ret)
}
