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

// reconSeeds returns a chunk of each kind and the checkpoints of both sides
// midway through a BothLearn reconciliation.
func reconSeeds(f *testing.F) (chunks [][]byte, checkpoints [][]byte) {
	x, y, _, _ := sets(f, 30, 20, 20, 5)
	p := newPair(f, BothLearn, x, y, 8, 31)
	add := func(c *Chunk) {
		b, err := c.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		chunks = append(chunks, b)
	}
	for seq := range uint32(3) {
		c, _ := p.resp.OwnChunk(seq)
		ret, _, err := p.req.Answer(c)
		if err != nil {
			f.Fatal(err)
		}
		if _, err := p.resp.Accept(ret); err != nil {
			f.Fatal(err)
		}
		add(c)
		add(ret)
	}
	c, _ := p.req.OwnChunk(0)
	reply, _, err := p.resp.Answer(c)
	if err != nil {
		f.Fatal(err)
	}
	add(c)
	add(reply)
	for _, r := range []*Reconciler{p.req, p.resp} {
		cp, err := r.Checkpoint()
		if err != nil {
			f.Fatal(err)
		}
		checkpoints = append(checkpoints, cp)
	}
	return chunks, checkpoints
}

// FuzzChunk: whatever the chunk decoder accepts re-encodes to the input.
func FuzzChunk(f *testing.F) {
	chunks, _ := reconSeeds(f)
	for _, c := range chunks {
		f.Add(c)
		f.Add(c[:chunkHeaderSize])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Chunk
		if err := c.UnmarshalBinary(data); err != nil {
			if known(err) || errors.Is(err, ErrChunkSize) {
				return
			}
			t.Fatalf("unexpected error kind: %v", err)
		}
		again, err := c.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("accepted a non-canonical chunk:\n in %x\nout %x", data, again)
		}
	})
}

// FuzzCheckpoint: the checkpoint decoder never panics, fails only with
// ErrCheckpoint, and what it accepts re-encodes to the input and carries a
// secret whose commitment it recomputed.
func FuzzCheckpoint(f *testing.F) {
	_, cps := reconSeeds(f)
	for _, cp := range cps {
		f.Add(cp)
		f.Add(cp[:len(cp)-1])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeCheckpoint(data)
		if err != nil {
			if !errors.Is(err, ErrCheckpoint) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		again, err := r.Checkpoint()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("accepted a non-canonical checkpoint:\n in %x\nout %x", data, again)
		}
		if r.peer == r.commitment {
			t.Fatal("accepted a checkpoint whose peer commitment is its own")
		}
	})
}
