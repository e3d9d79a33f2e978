package transcript

import "testing"

// TestLiveDigestsBindEveryInput: changing any input of the live digests
// changes the digest, and the two digests are domain-separated.
func TestLiveDigestsBindEveryInput(t *testing.T) {
	var a, b, c [DigestSize]byte
	a[0], b[0], c[0] = 1, 2, 3
	q := LiveQueryDigest(a, b, c)
	for name, other := range map[string][DigestSize]byte{
		"response": LiveQueryDigest(c, b, c),
		"params":   LiveQueryDigest(a, a, c),
		"query":    LiveQueryDigest(a, b, b),
		"order":    LiveQueryDigest(a, c, b),
	} {
		if other == q {
			t.Errorf("query digest ignores the %s", name)
		}
	}
	ans := LiveAnswerDigest(q, c)
	if LiveAnswerDigest(a, c) == ans || LiveAnswerDigest(q, b) == ans {
		t.Error("answer digest ignores an input")
	}
	if LiveAnswerDigest(a, b) == LiveQueryDigest(a, b, [DigestSize]byte{}) {
		t.Error("answer and query digests share a domain")
	}
}
