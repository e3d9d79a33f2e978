package ecsig

import (
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"testing"
)

// held reports whether ks holds der and whether it has a table.
func held(ks *Keys, der []byte) (parsed, table bool) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	h, ok := ks.keys[string(der)]
	return ok, ok && h.table != nil
}

// TestKeysTables checks when a key gets a table: once it has been named for
// TableFrom verifications in all, in one call or several; at most maxTables
// keys hold one, the least recently used losing it first; and at most
// maxKeys keys are held parsed.
func TestKeysTables(t *testing.T) {
	ders := make([][]byte, maxTables+1)
	for i := range ders {
		_, ders[i] = newKey(t)
	}
	key := func(t *testing.T, ks *Keys, i, named int) Verifier {
		t.Helper()
		v, err := ks.Key(ders[i], named)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	t.Run("one call", func(t *testing.T) {
		var ks Keys
		if key(t, &ks, 0, TableFrom-1).table != nil {
			t.Errorf("a table after %d uses", TableFrom-1)
		}
		if key(t, &ks, 1, TableFrom).table == nil {
			t.Errorf("no table after %d uses", TableFrom)
		}
	})
	t.Run("several calls", func(t *testing.T) {
		var ks Keys
		for range TableFrom/8 - 1 {
			if key(t, &ks, 0, 8).table != nil {
				t.Fatal("a table before TableFrom uses")
			}
		}
		first := key(t, &ks, 0, 8).table
		if first == nil {
			t.Fatalf("no table after %d uses", TableFrom)
		}
		if key(t, &ks, 0, 1).table != first || ks.Tables() != 1 {
			t.Error("the table was not kept")
		}
	})
	t.Run("least recently used loses its table", func(t *testing.T) {
		var ks Keys
		for i := range maxTables {
			key(t, &ks, i, TableFrom)
		}
		key(t, &ks, 0, 1) // key 1 is now the least recently used
		key(t, &ks, maxTables, TableFrom)
		_, t0 := held(&ks, ders[0])
		_, t1 := held(&ks, ders[1])
		_, tn := held(&ks, ders[maxTables])
		if ks.Tables() != maxTables || t1 || !t0 || !tn {
			t.Errorf("after %d keys: %d tables, key 1's %v, key 0's %v, the last key's %v", maxTables+1, ks.Tables(), t1, t0, tn)
		}
		if key(t, &ks, 1, TableFrom-1).table != nil {
			t.Error("a key that lost its table got it back before TableFrom more uses")
		}
	})
	t.Run("parsed keys are bounded", func(t *testing.T) {
		var ks Keys
		key(t, &ks, 0, TableFrom) // a table: kept when the others go
		key(t, &ks, 1, TableFrom-1)
		for i := range maxKeys {
			_, der := newKey(t)
			if _, err := ks.Key(der, 1); err != nil {
				t.Fatal(err)
			}
			if len(ks.keys) > maxKeys {
				t.Fatalf("%d keys held after %d more, bound %d", len(ks.keys), i+1, maxKeys)
			}
		}
		if _, table := held(&ks, ders[0]); !table {
			t.Error("a key with a table was dropped")
		}
		if key(t, &ks, 1, 1).table != nil {
			t.Error("a table from a count that should have started again")
		}
	})
}

// TestKeysVerdicts checks that verifying through Keys, with and without a
// table, and through the package's Verify and VerifyAny, gives VerifyKey's
// verdicts: a valid signature, one flipped bit, high S, another key's
// signature, a malformed key.
func TestKeysVerdicts(t *testing.T) {
	priv, der := newKey(t)
	otherPriv, otherDER := newKey(t)
	sign, other := NewSigner(priv, rand.Reader), NewSigner(otherPriv, rand.Reader)
	key, err := ParsePublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	var ks Keys
	for round := range 3 { // no table, then a table, then the table kept
		named := 1
		if round == 1 {
			named = TableFrom
		}
		v, err := ks.Key(der, named)
		if err != nil {
			t.Fatal(err)
		}
		if (v.table != nil) != (round > 0) {
			t.Fatalf("round %d: table %v", round, v.table != nil)
		}
		for i := range 20 {
			digest := sha256.Sum256(fmt.Appendf(nil, "%d/%d", round, i))
			good, err := sign(digest[:])
			if err != nil {
				t.Fatal(err)
			}
			flipped := append([]byte(nil), good...)
			flipped[len(flipped)-1] ^= byte(1 << (i % 8))
			foreign, err := other(digest[:])
			if err != nil {
				t.Fatal(err)
			}
			for name, sig := range map[string][]byte{"valid": good, "flipped": flipped, "high S": highSOf(t, good), "another key's": foreign} {
				for how, got := range map[string]error{
					"Verifier":  v.Verify(digest[:], sig),
					"Verify":    Verify(der, digest[:], sig),
					"VerifyAny": VerifyAny([][]byte{otherDER, der}, digest[:], sig),
				} {
					want := VerifyKey(key, digest[:], sig)
					if name == "another key's" && how == "VerifyAny" {
						want = nil // otherDER is among the keys
					}
					if (got == nil) != (want == nil) {
						t.Errorf("round %d, %s signature %d through %s: %v, VerifyKey %v", round, name, i, how, got, want)
					}
				}
			}
		}
	}
	if _, err := ks.Key([]byte("not a key"), 1); !errors.Is(err, ErrPublicKey) {
		t.Errorf("a malformed key: %v, want ErrPublicKey", err)
	}
	if err := VerifyAny(nil, make([]byte, DigestSize), nil); !errors.Is(err, ErrNoKey) {
		t.Errorf("no keys: %v, want ErrNoKey", err)
	}
	if err := (Verifier{}).Verify(make([]byte, DigestSize), nil); !errors.Is(err, ErrNoKey) {
		t.Errorf("the zero Verifier: %v, want ErrNoKey", err)
	}
}

// TestKeysConcurrent crosses a key's threshold from many goroutines at
// once: one table is built, and every signature verifies meanwhile.
func TestKeysConcurrent(t *testing.T) {
	priv, der := newKey(t)
	sign := NewSigner(priv, rand.Reader)
	digest := sha256.Sum256([]byte("concurrent"))
	sig, err := sign(digest[:])
	if err != nil {
		t.Fatal(err)
	}
	var ks Keys
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range TableFrom {
				v, err := ks.Key(der, 1)
				if err == nil {
					err = v.Verify(digest[:], sig)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := ks.Tables(); n != 1 {
		t.Errorf("%d tables for one key", n)
	}
}

// highSOf returns sig with s replaced by n - s: the same signature in its
// high-S form, which verification refuses.
func highSOf(t *testing.T, sig []byte) []byte {
	t.Helper()
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(sig, &rs); err != nil {
		t.Fatal(err)
	}
	return derSig(rs.R, new(big.Int).Sub(elliptic.P256().Params().N, rs.S))
}
