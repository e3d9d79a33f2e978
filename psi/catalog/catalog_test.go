package catalog

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"
	"testing/iotest"
)

func TestMembersFound(t *testing.T) {
	tests := []struct {
		sizes []int
		seeds uint64
	}{
		{[]int{0, 1, 2, 3, 4, 5, 7, 10, 31, 100, 257, 1000, 4099}, 3},
		{[]int{10_000, 100_000}, 1},
	}
	for _, tt := range tests {
		for _, n := range tt.sizes {
			for seed := range tt.seeds {
				c, prfs := buildTest(t, n, seed)
				if c.Len() != n {
					t.Fatalf("n=%d: Len %d", n, c.Len())
				}
				assertMembers(t, c, prfs)
			}
		}
	}
}

func TestSmallSizesAlwaysBuild(t *testing.T) {
	for n := range 300 {
		c, prfs := buildTest(t, n, uint64(1000+n))
		assertMembers(t, c, prfs)
	}
}

func TestNonMembersNotFound(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	c, _ := buildTest(t, 10_000, 1)
	// Non-members come from seeds other than the members' seed 1, so they
	// are distinct from the members with overwhelming probability; each is
	// found with probability 2^-32, so all n misses happen with probability
	// about 1 - n/2^32 (0.9998 for 10^6). The seeds are fixed, so the test
	// is reproducible. Chunks run on all cores.
	const chunk = 50_000
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for start := 0; start < n; start += chunk {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			for i, p := range testPRFOutputs(uint64(1000+start), min(chunk, n-start)) {
				if l, ok := c.Lookup(p); ok {
					t.Errorf("non-member %d found with label %+v", start+i, l)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestTamperedValueFails(t *testing.T) {
	c, prfs := buildTest(t, 2000, 3)
	// Flip every bit of one member's first slot in turn: the XOR of its
	// slots then differs from tag || ciphertext in exactly that bit, which
	// the tag (keyed by the PRF output, over the ciphertext) detects.
	var s itemSecrets
	deriveItem(prfs[0], &s)
	var pos [4]uint32
	c.layout.positions(s.hash, &pos)
	off := int(pos[0]) * ValueSize
	for bit := range ValueSize * 8 {
		c.slots[off+bit/8] ^= 1 << (bit % 8)
		if l, ok := c.Lookup(prfs[0]); ok {
			t.Fatalf("bit %d flipped: lookup still succeeds with %+v", bit, l)
		}
		c.slots[off+bit/8] ^= 1 << (bit % 8)
	}
	assertMembers(t, c, prfs)
}

func TestDuplicates(t *testing.T) {
	prfs := testPRFOutputs(4, 500)
	t.Run("same label twice is kept once", func(t *testing.T) {
		b, err := NewBuilder(testMeta(), 0)
		if err != nil {
			t.Fatal(err)
		}
		for round := range 2 {
			for i, p := range prfs {
				if err := b.Add(p, testLabel(i)); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
		}
		if b.Len() != 2*len(prfs) {
			t.Fatalf("Len = %d", b.Len())
		}
		c, err := b.Build(testRand(1))
		if err != nil {
			t.Fatal(err)
		}
		if c.Len() != len(prfs) {
			t.Fatalf("catalog Len = %d, want %d", c.Len(), len(prfs))
		}
		assertMembers(t, c, prfs)
	})
	t.Run("conflicting labels fail", func(t *testing.T) {
		b, err := NewBuilder(testMeta(), 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range prfs {
			if err := b.Add(p, testLabel(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Add(prfs[17], testLabel(18)); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Build(testRand(1)); !errors.Is(err, ErrConflict) {
			t.Fatalf("Build err = %v, want ErrConflict", err)
		}
	})
}

func TestBuilderRejects(t *testing.T) {
	t.Run("invalid meta", func(t *testing.T) {
		m := testMeta()
		m.Category = "black list"
		if _, err := NewBuilder(m, 0); !errors.Is(err, ErrMeta) {
			t.Fatalf("err = %v, want ErrMeta", err)
		}
	})
	t.Run("negative expected count", func(t *testing.T) {
		if _, err := NewBuilder(testMeta(), -1); !errors.Is(err, ErrTooManyItems) {
			t.Fatalf("err = %v, want ErrTooManyItems", err)
		}
	})
	b, err := NewBuilder(testMeta(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 31, 65, 128} {
		t.Run(fmt.Sprintf("PRF output of %d bytes", n), func(t *testing.T) {
			if err := b.Add(make([]byte, n), testLabel(1)); !errors.Is(err, ErrPRFOutput) {
				t.Fatalf("err = %v, want ErrPRFOutput", err)
			}
		})
	}
	t.Run("invalid label", func(t *testing.T) {
		if err := b.Add(make([]byte, 64), Label{}); !errors.Is(err, ErrLabel) {
			t.Fatalf("err = %v, want ErrLabel", err)
		}
	})
	t.Run("use after Build", func(t *testing.T) {
		if _, err := b.Build(testRand(1)); err != nil {
			t.Fatal(err)
		}
		if err := b.Add(make([]byte, 64), testLabel(1)); !errors.Is(err, ErrBuilt) {
			t.Fatalf("Add err = %v, want ErrBuilt", err)
		}
		if _, err := b.Build(testRand(1)); !errors.Is(err, ErrBuilt) {
			t.Fatalf("Build err = %v, want ErrBuilt", err)
		}
	})
	t.Run("broken random source", func(t *testing.T) {
		b, err := NewBuilder(testMeta(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Build(iotest.ErrReader(io.ErrClosedPipe)); !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("err = %v, want the reader's error", err)
		}
	})
}

func TestPRFOutputLengths(t *testing.T) {
	// P256-SHA256 outputs are 32 bytes; the catalog takes any length from
	// 32 to 64, and a prefix of a catalogued output is a different item.
	prfs := testPRFOutputs(5, 64)
	b, err := NewBuilder(testMeta(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range prfs {
		if err := b.Add(p[:32+i%33], testLabel(i)); err != nil {
			t.Fatal(err)
		}
	}
	c, err := b.Build(testRand(1))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range prfs {
		n := 32 + i%33
		if l, ok := c.Lookup(p[:n]); !ok || l != testLabel(i) {
			t.Fatalf("item %d (%d bytes): %+v, %v", i, n, l, ok)
		}
		if n < 64 {
			if _, ok := c.Lookup(p[:n+1]); ok {
				t.Fatalf("item %d: a longer output was found", i)
			}
		}
	}
	for _, n := range []int{0, 31, 65} {
		if _, ok := c.Lookup(make([]byte, n)); ok {
			t.Fatalf("a %d-byte PRF output was found", n)
		}
	}
}

func TestBuildIndependentOfAddOrder(t *testing.T) {
	// Items added in order by one goroutine, and in reverse by four
	// concurrent goroutines, give the same encoding for the same seed.
	prfs := testPRFOutputs(6, 100_000)
	forward, err := NewBuilder(testMeta(), len(prfs))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range prfs {
		if err := forward.Add(p, testLabel(i)); err != nil {
			t.Fatal(err)
		}
	}
	concurrent, err := NewBuilder(testMeta(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := len(prfs) - 1 - w; i >= 0; i -= 4 {
				if err := concurrent.Add(prfs[i], testLabel(i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	a, err := forward.Build(testRand(9))
	if err != nil {
		t.Fatal(err)
	}
	b, err := concurrent.Build(testRand(9))
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest() != b.Digest() {
		t.Fatal("same items and seed, different catalogs")
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	c, prfs := buildTest(t, 1000, 1)
	miss := testPRFOutputs(2, 1)[0]
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := c.Lookup(prfs[7]); !ok {
			t.Fatal("member not found")
		}
		if _, ok := c.Lookup(miss); ok {
			t.Fatal("non-member found")
		}
	})
	if allocs != 0 {
		t.Fatalf("Lookup allocates %.1f times per call", allocs)
	}
}

func TestSizePerItem(t *testing.T) {
	// The bound: at most 1.25 x (tag + label) = 25 bytes per item,
	// header included. It holds from 10^4 items on; smaller catalogs carry
	// relatively more slack (see docs/protocol/catalog.md).
	for _, n := range []int{10_000, 100_000} {
		c, _ := buildTest(t, n, 1)
		perItem := float64(c.EncodedLen()) / float64(n)
		if perItem > 1.25*ValueSize {
			t.Fatalf("n=%d: %.3f bytes per item, bound %.2f", n, perItem, 1.25*ValueSize)
		}
	}
	// Beyond what a test can build, check the sizing rule itself for every
	// item count from 10^4 to 2 x 10^7 in steps of 0.1%.
	hdr := uint64(maxHeaderSize)
	for n := uint64(10_000); n <= 20_000_000; n += n / 1000 {
		p := smallestParams(n)
		if perItem := float64(p.slots()*ValueSize+hdr) / float64(n); perItem > 1.25*ValueSize {
			t.Fatalf("n=%d: %.3f bytes per item, bound %.2f", n, perItem, 1.25*ValueSize)
		}
	}
}
