package catalog

import "testing"

func TestMembersFound(t *testing.T) {
	sizes := []int{0, 1, 2, 3, 4, 5, 7, 10, 31, 100, 257, 1000, 4099, 10000, 100000}
	for _, n := range sizes {
		for seed := range uint64(3) {
			c, prfs := buildTest(t, n, seed)
			if c.Len() != n {
				t.Fatalf("n=%d: Len %d", n, c.Len())
			}
			assertMembers(t, c, prfs)
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
	// Seed 2 draws PRF outputs disjoint from seed 1's with overwhelming
	// probability; each is a miss except with probability 2^-32.
	for i, p := range testPRFOutputs(2, n) {
		if l, ok := c.Lookup(p); ok {
			t.Fatalf("non-member %d found with label %+v", i, l)
		}
	}
}
