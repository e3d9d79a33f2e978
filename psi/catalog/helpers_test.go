package catalog

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// testMeta is a valid Meta used throughout the tests.
func testMeta() Meta {
	m := Meta{
		Suite:    "ristretto255-SHA512",
		Provider: "BankAMSP",
		Category: "black",
		Period:   20260115,
	}
	for i := range m.KeyID {
		m.KeyID[i] = byte(i)
	}
	return m
}

// testPRFOutputs returns n distinct pseudorandom 64-byte "PRF outputs"
// from a fixed seed: the catalog treats PRF outputs as opaque strings, so
// random bytes stand in for OPRF evaluations.
func testPRFOutputs(seed uint64, n int) [][]byte {
	rng := rand.New(rand.NewChaCha8(seedBytes(seed)))
	buf := make([]byte, n*MaxPRFOutput)
	for i := 0; i < len(buf); i += 8 {
		binary.LittleEndian.PutUint64(buf[i:], rng.Uint64())
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = buf[i*MaxPRFOutput : (i+1)*MaxPRFOutput : (i+1)*MaxPRFOutput]
	}
	return out
}

func seedBytes(seed uint64) (s [32]byte) {
	binary.LittleEndian.PutUint64(s[:], seed)
	return s
}

// testLabel returns a valid label that differs for every i.
func testLabel(i int) Label {
	l := Label{
		Category: uint8(i%3) + 1,
		Reason:   uint16(i * 7),
		Listed:   Date(19000 + i%5000),
	}
	binary.BigEndian.PutUint64(l.Reference[:], uint64(i))
	return l
}

// testRand is a deterministic seed source for Build.
func testRand(seed uint64) *rand.ChaCha8 {
	return rand.NewChaCha8(seedBytes(seed))
}

// buildTest builds a catalog of n items with labels testLabel(i).
func buildTest(t testing.TB, n int, seed uint64) (*Catalog, [][]byte) {
	t.Helper()
	prfs := testPRFOutputs(seed, n)
	b, err := NewBuilder(testMeta(), n)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range prfs {
		if err := b.Add(p, testLabel(i)); err != nil {
			t.Fatal(err)
		}
	}
	c, err := b.Build(testRand(seed))
	if err != nil {
		t.Fatalf("build %d items: %v", n, err)
	}
	return c, prfs
}

// encode returns c's encoding and checks that Encode's digest is Digest().
func encode(t testing.TB, c *Catalog) []byte {
	t.Helper()
	var buf bytes.Buffer
	d, err := c.Encode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if d != c.Digest() {
		t.Fatalf("Encode digest %x, Digest() %x", d, c.Digest())
	}
	if int64(buf.Len()) != c.EncodedLen() {
		t.Fatalf("encoded %d bytes, EncodedLen %d", buf.Len(), c.EncodedLen())
	}
	return buf.Bytes()
}

// assertMembers checks that every prfs[i] looks up to testLabel(i).
func assertMembers(t testing.TB, c *Catalog, prfs [][]byte) {
	t.Helper()
	for i, p := range prfs {
		got, ok := c.Lookup(p)
		if !ok {
			t.Fatalf("member %d of %d not found", i, len(prfs))
		}
		if want := testLabel(i); got != want {
			t.Fatalf("member %d: label %+v, want %+v", i, got, want)
		}
	}
}
