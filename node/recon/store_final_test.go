package recon

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// FuzzDecodeFinal: the final-answer decoder never panics, fails only with
// errSaved, and what it accepts re-encodes to the input.
func FuzzDecodeFinal(f *testing.F) {
	seed, err := encodeFinal(&final{at: time.Unix(1_800_000_000, 0), requester: bankA, digest: [32]byte{1, 2, 3}, answer: []byte{0x62, 0x01, 0x00}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)-1])
	f.Add(append(bytes.Clone(seed), 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		fin, err := decodeFinal(data)
		if err != nil {
			if !errors.Is(err, errSaved) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		again, err := encodeFinal(fin)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("accepted a non-canonical final answer:\n in %x\nout %x", data, again)
		}
	})
}
